"""Business-defined intents: pack validation, fitting on the real model, the out-of-scope rule,
fitted files, the ``cxstream intents`` commands, the score agent and routing.

The packs are fitted on the bundled ONNX model's own embeddings, so the rates below hold for
that model; a retrained model must still clear them (docs/intents.md has the full numbers).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import faust
import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.contracts.scores import OUT_OF_SCOPE, CustomIntentScore
from pipeline.resources import bundled
from pipeline.scoring.custom_intents.embedding import scorer_embedder
from pipeline.scoring.custom_intents.fit import fit_pack
from pipeline.scoring.custom_intents.fitted import FittedPack, ModelRef, load_fitted, save_fitted
from pipeline.scoring.custom_intents.measure import measure_pack
from pipeline.scoring.custom_intents.pack import (
    PackError,
    bundled_packs,
    load_pack,
    parse_pack,
    resolve_pack_path,
)
from pipeline.scoring.custom_intents.predict import CustomIntents
from pipeline.scoring.custom_intents.runtime import check_intent_pack, load_custom_intents
from pipeline.scoring.custom_intents.sources import heldout_for, load_heldout, oos_test
from pipeline.scoring.custom_intents.threshold import Thresholds, choose_threshold
from pipeline.scoring.enrich import enrich
from pipeline.scoring.scorer import Scorer
from pipeline.settings import Settings, SettingsError
from pipeline.streaming.app import build_app
from pipeline.workflow.config import load_rules
from pipeline.workflow.routing import route
from tests.unit.interactions import chat_interaction
from tests.unit.workflow_factory import enriched

MODEL_DIR = Settings().model_dir
DATA_DIR = Settings().data_dir
PACKS = bundled("intents")
TRAVEL_HELDOUT = PACKS / "heldout" / "travel.yaml"

needs_data = pytest.mark.skipif(
    not (DATA_DIR / "clinc150" / "data_full.json").is_file(),
    reason=f"public datasets not in {DATA_DIR} (CXSTREAM_DATA_DIR)",
)


@cache
def scorer() -> Scorer:
    return Scorer(MODEL_DIR)


@cache
def fitted(name: str) -> FittedPack:
    path = PACKS / f"{name}.yaml"
    return fit_pack(
        load_pack(path), scorer_embedder(scorer()), ModelRef.of(scorer().card), source=str(path)
    )


def classify(pack: FittedPack, texts: list[str]) -> list[CustomIntentScore]:
    return CustomIntents(pack).classify(scorer_embedder(scorer())(texts))


# -- the pack format -----------------------------------------------------------------------------
def _intent(name: str, examples: int = 5, extra: str = "") -> str:
    lines = "".join(f"      - {name} message number {i}\n" for i in range(examples))
    return f"  - name: {name}\n    description: about {name}\n{extra}    examples:\n{lines}"


GOOD = (
    "name: shop\ndescription: a small shop\nversion: 1\nintents:\n"
    + _intent("track_order")
    + _intent("get_refund")
)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            GOOD.replace("version: 1\n", "version: 1\n")
            + _intent("close_account")
            + _intent("delete_account", 2),
            "intents[3].examples: needs at least 5 examples, got 2",
        ),
        (
            GOOD + "  - name: late\n    description: x\n    examples: [a, a, a, b, c, d]\n",
            "intents[2].examples: needs at least 5 examples, got 4 distinct (6 with repeats)",
        ),
        (
            GOOD.replace("name: track_order", "name: Track Order"),
            "intents[0].name: must be snake_case (lowercase letters, digits and _), "
            "got 'Track Order'",
        ),
        (
            GOOD.replace("name: get_refund", "name: out_of_scope"),
            "intents[1].name: 'out_of_scope' is reserved for messages no intent claims",
        ),
        (
            GOOD.replace("    description: about get_refund\n", ""),
            "intents[1].description: is required",
        ),
        (
            GOOD.replace("description: about track_order\n", "description: t\n    queu: x\n"),
            "intents[0].queu: is not a pack field (check the spelling)",
        ),
        (
            GOOD.replace(
                "description: about track_order\n", "description: t\n    priority: asap\n"
            ),
            "intents[0].priority: Input should be 'low', 'normal', 'high' or 'critical'",
        ),
        (GOOD.replace("version: 1\n", ""), "version: is required"),
        (
            GOOD + _intent("track_order"),
            "intents: names must be distinct: track_order repeated",
        ),
        (
            GOOD.replace("get_refund message number 0", "track_order message number 0"),
            "intents: example 'track_order message number 0' is under both track_order and "
            "get_refund",
        ),
        (
            "name: shop\ndescription: d\nversion: 1\nintents:\n" + _intent("track_order"),
            "intents: needs at least 2 intents, got 1",
        ),
        ("- just\n- a list\n", "the top level must be a mapping (name, intents, …), not a list"),
        ("", "the top level must be a mapping (name, intents, …), not empty"),
        ("name: [unclosed\n", "not valid YAML (line 2)"),
    ],
    ids=[
        "too-few-examples",
        "repeated-examples",
        "not-snake-case",
        "reserved-name",
        "missing-description",
        "misspelt-field",
        "bad-priority",
        "missing-version",
        "repeated-intent",
        "example-under-two-intents",
        "one-intent",
        "list",
        "empty",
        "not-yaml",
    ],
)
def test_a_bad_pack_is_one_line_naming_the_file_and_the_field(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PackError) as caught:
        load_pack(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: "), message
    assert expected in message, message


def test_the_exact_message_for_too_few_examples() -> None:
    content = GOOD + _intent("close_account") + _intent("delete_account", 2)
    with pytest.raises(PackError) as caught:
        parse_pack(content, "data/intents/retail.yaml")
    assert str(caught.value) == (
        "data/intents/retail.yaml: intents[3].examples: needs at least 5 examples, got 2"
    )


def test_a_good_pack_loads_with_defaults() -> None:
    pack = parse_pack(GOOD, "shop.yaml")
    assert pack.label == "shop@1"  # an unquoted YAML number is kept as text
    assert [i.name for i in pack.intents] == ["track_order", "get_refund"]
    assert pack.intents[0].queue is None and pack.intents[0].priority is None
    assert pack.out_of_scope_examples == []


def test_cli_check_prints_one_error_line_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(GOOD + _intent("close_account", 3), encoding="utf-8")
    result = CliRunner().invoke(app, ["intents", "check", str(path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {path}: intents[2].examples: needs at least 5 examples, got 3\n"
    )
    assert "Traceback" not in result.output


# -- the bundled packs ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "licence"),
    [("retail", "CDLA-Sharing-1.0"), ("banking", "CC BY 4.0"), ("travel", "CC BY 3.0")],
)
def test_bundled_packs_validate_and_credit_their_sources(name: str, licence: str) -> None:
    path = bundled_packs()[name]
    assert resolve_pack_path(name) == path
    pack = load_pack(path)
    assert pack.name == name
    assert all(len(i.examples) >= 8 for i in pack.intents)
    assert all(i.queue and i.priority for i in pack.intents)
    assert len(pack.out_of_scope_examples) >= 20
    assert licence in path.read_text(encoding="utf-8").split("\nname:")[0]


def test_travel_has_the_hand_written_intents_with_held_out_messages() -> None:
    pack = load_pack(PACKS / "travel.yaml")
    own = {
        "flight_delay",
        "flight_cancellation",
        "cancel_booking",
        "lost_or_damaged_baggage",
        "seat_selection",
        "refund_request",
    }
    assert own <= {i.name for i in pack.intents}
    heldout = load_heldout(TRAVEL_HELDOUT)
    assert set(heldout) == own
    examples = {t.casefold() for i in pack.intents for t in i.examples}
    assert not examples & {t.casefold() for texts in heldout.values() for t in texts}


def test_an_unknown_pack_name_lists_the_bundled_ones() -> None:
    with pytest.raises(PackError, match=r"no such pack file \(bundled packs: banking, retail, "):
        resolve_pack_path("insurance")


# -- fit and predict with the real model ---------------------------------------------------------
def test_travel_classifies_its_own_held_out_messages() -> None:
    """The hand-written travel intents, on messages written apart from the examples.

    Seen: 41-42 of 48 labelled right and in scope (two delays read as flight_status; "golf
    clubs arrived bent", "call off my booking", "held up on the tarmac" and "paid for 2A but got
    27E" out of scope). The model's int8 activations are quantised per batch, so a borderline
    message can flip with its batch; the bar leaves room for that and for a retrained model.
    """
    heldout = load_heldout(TRAVEL_HELDOUT)
    texts = [t for texts in heldout.values() for t in texts]
    truth = [label for label, texts in heldout.items() for _ in texts]
    got = [s.label for s in classify(fitted("travel"), texts)]
    right = sum(g == t for g, t in zip(got, truth, strict=True))
    assert right >= 0.8 * len(texts), list(zip(truth, got, strict=True))


@needs_data
@pytest.mark.parametrize(("name", "per_intent", "rate"), [("retail", 6, 0.85), ("banking", 3, 0.8)])
def test_bundled_packs_classify_held_out_rows_of_their_source(
    name: str, per_intent: int, rate: float
) -> None:
    """A seeded sample of the source rows that are not examples; an in-scope message called
    out_of_scope counts as wrong. Full numbers: docs/intents.md."""
    pack = fitted(name)
    heldout = heldout_for(load_pack(PACKS / f"{name}.yaml"), DATA_DIR)
    rng = random.Random(15)
    sample = [(t, label) for label, texts in heldout.items() for t in rng.sample(texts, per_intent)]
    got = [s.label for s in classify(pack, [t for t, _ in sample])]
    right = sum(g == label for g, (_, label) in zip(got, sample, strict=True))
    assert right >= rate * len(sample), (name, right, len(sample))


def test_a_prediction_names_its_closest_examples_queue_and_priority() -> None:
    (score,) = classify(fitted("travel"), ["they lost my suitcase on the way to Rome"])
    assert score.label == "lost_or_damaged_baggage"
    assert score.pack == "travel@1"
    assert (score.queue, score.priority) == ("baggage", "high")
    assert 0 < score.confidence <= 1
    assert score.reason.startswith(f"lost_or_damaged_baggage {score.confidence:.2f}; closest ")
    quoted = score.reason.split("closest examples: ")[1]
    assert quoted.count('"') == 4 and quoted.endswith(")")


def test_messages_far_from_every_example_are_out_of_scope() -> None:
    off_topic = [
        "what is the derivative of x squared",
        "recommend me a good sourdough recipe",
        "who won the football last night",
    ]
    for score in classify(fitted("travel"), off_topic):
        assert score.label == OUT_OF_SCOPE, score
        assert score.queue is None and score.priority is None
        assert score.reason.startswith("no intent sure enough (best ")
        assert ") and no example close enough (" in score.reason
        assert "closest examples: " in score.reason


def test_the_out_of_scope_threshold_rule() -> None:
    """With out-of-scope examples: the balanced optimum; without: keep 95% of held-out;
    rejected only below both thresholds."""
    inside = np.array([0.9, 0.85, 0.8, 0.75, 0.7, 0.6])
    right = np.array([True, True, True, True, True, False])
    outside = np.array([0.3, 0.4, 0.5, 0.65])
    assert choose_threshold(inside, right, outside) == 0.7  # all right kept, all oos rejected
    assert choose_threshold(np.linspace(0.5, 0.9, 101), right[:1], np.zeros(0)) == 0.52
    # a message is out of scope only when both scores are below their thresholds
    limits = Thresholds(confidence=0.5, similarity=0.6)
    accepted = limits.accepts(np.array([0.6, 0.4, 0.4, 0.6]), np.array([0.5, 0.7, 0.5, 0.7]))
    assert accepted.tolist() == [True, True, False, True]


def test_the_fit_records_its_calibration_and_model() -> None:
    pack = fitted("travel")
    card = scorer().card
    assert pack.model == ModelRef(name=card.name, version=card.version, sha256=card.sha256)
    assert pack.calibration.folds == 5
    assert pack.calibration.heldout_accuracy >= 0.9
    assert pack.calibration.oos_examples == 25 and pack.calibration.oos_rejected is not None
    assert 0 < pack.confidence_threshold < 1 and 0 < pack.similarity_threshold < 1
    assert len(pack.example_vectors.array()) == len(pack.examples) == len(pack.example_labels)


# -- fitted files --------------------------------------------------------------------------------
def test_a_fitted_file_round_trips(tmp_path: Path) -> None:
    path = save_fitted(fitted("travel"), tmp_path / "travel.fitted.json")
    again = load_fitted(path, ModelRef.of(scorer().card))
    text = "my flight was cancelled, get me on another one"
    assert classify(again, [text]) == classify(fitted("travel"), [text])


def test_a_fitted_file_of_another_model_says_to_refit(tmp_path: Path) -> None:
    path = save_fitted(fitted("travel"), tmp_path / "travel.fitted.json")
    other = ModelRef(name="cx-minilm-multihead", version="2.0.0", sha256="ab" * 32)
    with pytest.raises(PackError) as caught:
        load_fitted(path, other)
    assert str(caught.value) == (
        f"{path} was fitted with model {fitted('travel').model.describe()}, not with "
        f"cx-minilm-multihead 2.0.0 (sha256 abababababab…): re-run "
        f"`cxstream intents fit {PACKS / 'travel.yaml'}` with this model"
    )


def test_a_file_that_is_not_a_fitted_pack(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"pack": "x"}', encoding="utf-8")
    with pytest.raises(PackError, match=r"x.json: .*is required.*run `cxstream intents fit`"):
        load_fitted(path)


def test_the_worker_check_names_the_setting(tmp_path: Path) -> None:
    moved = fitted("travel").model_copy(
        update={"model": ModelRef(name="old", version="0", sha256="cd" * 32)}
    )
    path = save_fitted(moved, tmp_path / "old.fitted.json")
    with pytest.raises(SettingsError) as caught:
        check_intent_pack(Settings(intent_pack=path))
    assert str(caught.value).startswith(f"CXSTREAM_INTENT_PACK={path}: {path} was fitted with")
    assert "re-run `cxstream intents fit" in str(caught.value)
    check_intent_pack(Settings(intent_pack=Path("retail")))  # a bundled name, not fitted
    check_intent_pack(Settings())  # unset: nothing to check


# -- the command line ----------------------------------------------------------------------------
def test_intents_fit_help() -> None:
    result = CliRunner().invoke(app, ["intents", "fit", "--help"])
    assert result.exit_code == 0
    for word in ("--out", "--model-dir", "--method", "seconds"):
        assert word in result.output


def test_intents_fit_writes_a_file_the_worker_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(
        "name: shop\ndescription: a shop\nversion: '2'\nintents:\n"
        "  - name: track_order\n    description: where is it\n    queue: logistics\n"
        "    examples: [where is my parcel, track my order, has my package shipped yet,"
        " when will my order arrive, my delivery has not come]\n"
        "  - name: get_refund\n    description: money back\n    priority: high\n"
        "    examples: [I want my money back, refund me please, how do I get a refund,"
        " return this and refund me, can I have a refund for the broken item]\n",
        encoding="utf-8",
    )
    out = tmp_path / "fitted" / "shop.json"
    result = CliRunner().invoke(app, ["intents", "fit", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "held-out accuracy (5-fold on the pack's examples): " in result.stdout
    assert "out-of-scope thresholds: confidence " in result.stdout
    assert f"serve it with CXSTREAM_INTENT_PACK={out}" in result.stdout
    assert " s\n" in result.stdout.split("\n", 1)[0] + "\n"  # the seconds it took
    loaded = load_custom_intents(out, scorer())
    assert loaded.label == "shop@2"
    (score,) = loaded.classify(scorer_embedder(scorer())(["where's my parcel??"]))
    assert (score.label, score.queue) == ("track_order", "logistics")
    # given the YAML itself, the worker fits it at start and says so
    with caplog.at_level("INFO", logger="cxstream"):
        assert load_custom_intents(path, scorer()).label == "shop@2"
    assert f"custom intents: fitted shop@2 from {path} in " in caplog.text


def test_intents_eval_on_held_out_messages_and_without_any(tmp_path: Path) -> None:
    heldout = tmp_path / "heldout.csv"
    heldout.write_text(
        "text,label\nmy flight is 3 hours late,flight_delay\n"
        "they lost my bag,lost_or_damaged_baggage\nhow do I bake bread,out_of_scope\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["intents", "eval", "travel", "--heldout", str(heldout)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("travel@1 (logistic): 35 intents, 2 held-out messages, 1 ")
    assert [line.split()[0] for line in lines[2:]] == ["5", "10", "all"]
    own = tmp_path / "shop.yaml"
    own.write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(app, ["intents", "eval", str(own)])
    assert result.exit_code == 2
    assert "pack 'shop' has no bundled source dataset: give held-out messages" in result.stderr


# -- measurement ---------------------------------------------------------------------------------
def test_measure_pack_reports_each_example_count() -> None:
    pack = load_pack(PACKS / "travel.yaml")
    heldout = load_heldout(TRAVEL_HELDOUT)
    oos = ["what is the derivative of x squared", "recommend me a good sourdough recipe"]
    result = measure_pack(pack, scorer_embedder(scorer()), heldout, oos, shots=(5, None))
    assert [r.shots for r in result.results] == ["5", "all"]
    assert result.heldout == sum(len(v) for v in heldout.values()) and result.oos == 2
    for r in result.results:
        assert 0 <= r.accuracy <= r.closed_accuracy <= 1
    assert result.results[-1].accuracy >= 0.8
    metrics = result.metrics()
    assert set(metrics) >= {
        "custom_intent_accuracy_travel_5",
        "custom_intent_accuracy_travel_all",
        "custom_intent_oos_precision_travel",
        "custom_intent_oos_recall_travel",
    }
    with pytest.raises(ValueError, match="held-out labels not in pack travel@1: bogus"):
        measure_pack(pack, scorer_embedder(scorer()), {"bogus": ["x"]})


@needs_data
def test_the_sources_never_measure_on_a_pack_example() -> None:
    for name in ("retail", "banking", "travel"):
        pack = load_pack(PACKS / f"{name}.yaml")
        heldout = heldout_for(pack, DATA_DIR)
        assert set(heldout) == {i.name for i in pack.intents}
        examples = {t.casefold() for i in pack.intents for t in i.examples}
        assert not examples & {t.casefold() for v in heldout.values() for t in v}
    assert len(oos_test(DATA_DIR)) == 1000


# -- the worker ----------------------------------------------------------------------------------


def test_enrich_adds_the_custom_intent_only_when_a_pack_is_set() -> None:
    batch = [chat_interaction(0, "my bag arrived ripped open"), chat_interaction(1, None)]
    plain = enrich(batch, scorer())
    assert plain[0].scores is not None and plain[0].scores.intent is not None
    assert plain[0].scores.intent.custom is None
    out = enrich(batch, scorer(), custom_intents=CustomIntents(fitted("travel")))
    assert out[0].scores is not None and out[0].scores.intent is not None
    custom = out[0].scores.intent.custom
    assert custom is not None and custom.label == "lost_or_damaged_baggage"
    assert out[0].embedding is None  # vectors are used, not emitted
    assert not out[1].scored


@pytest.fixture
def captured() -> Iterator[list[tuple[str, Any]]]:
    """Every Topic send as (topic, value), acknowledged at once, nothing sent to Kafka."""
    sent: list[tuple[str, Any]] = []

    async def send(self: faust.Topic, *, value: Any = None, **_: Any) -> asyncio.Future[None]:
        sent.append((self.get_topic_name(), value))
        acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acked.set_result(None)
        return acked

    async def publish_message(self: faust.Topic, fut: Any, wait: bool = False) -> Any:
        sent.append((self.get_topic_name(), fut.message.value))
        fut.set_result(None)
        return fut

    def send_soon(self: faust.Topic, *, value: Any = None, **_: Any) -> Any:
        sent.append((self.get_topic_name(), value))
        return SimpleNamespace(message=SimpleNamespace(partition=0))

    with (
        mock.patch.object(faust.Topic, "send", send),
        mock.patch.object(faust.Topic, "publish_message", publish_message),
        mock.patch.object(faust.Topic, "send_soon", send_soon),
    ):
        yield sent


def test_the_score_agent_adds_scores_intent_custom(
    tmp_path: Path, captured: list[tuple[str, Any]]
) -> None:
    path = save_fitted(fitted("travel"), tmp_path / "travel.fitted.json")
    settings = Settings(
        store="memory://",
        web_port=0,
        state_dir=tmp_path,
        app_id="t",
        agents="score",
        intent_pack=path,
    )
    faust_app = build_app(settings)
    faust_app.finalize()
    texts = ["you cancelled my flight and I'm stuck in Lisbon", "what's 17 times 23"]

    async def go() -> None:
        async with faust_app.agents["score"].test_context() as agent:
            for i, text in enumerate(texts):
                body = chat_interaction(i, text).model_dump_json().encode()
                await agent.put(value=body, key=b"cus_1")
            # The agent takes micro-batches (CXSTREAM_SCORE_BATCH_WAIT_S) off the event loop.
            for _ in range(400):
                if len(outputs()) == len(texts):
                    break
                await asyncio.sleep(0.05)

    def outputs() -> list[dict[str, Any]]:
        return [json.loads(v) for t, v in captured if t == "cx.internal.scored"]

    asyncio.run(go())
    scored = outputs()
    assert [e["interaction_id"] for e in scored] == ["ix_0", "ix_1"]
    first, second = (e["scores"]["intent"]["custom"] for e in scored)
    assert first["label"] == "flight_cancellation" and first["pack"] == "travel@1"
    assert first["queue"] == "disruptions" and first["priority"] == "critical"
    assert "closest examples" in first["reason"]
    assert second["label"] == OUT_OF_SCOPE and second["queue"] is None


# -- routing -------------------------------------------------------------------------------------
def _with_custom(label: str, queue: str | None, priority: str | None, urgency: str = "low") -> Any:
    event = enriched("where is my parcel", intent="delivery", urgency=urgency)
    assert event.scores is not None and event.scores.intent is not None
    event.scores.intent.custom = CustomIntentScore(
        label=label, confidence=0.9, reason="r", pack="retail@1", queue=queue, priority=priority
    )
    return event


def test_routing_takes_the_pack_queue_and_priority_floor() -> None:
    rules = load_rules()
    routing = route(_with_custom("track_order", "self_service", "high"), None, rules)
    assert routing is not None
    assert (routing.queue, routing.priority) == ("self_service", "P2")
    assert routing.reason.startswith("custom intent track_order (retail@1) → self_service; ")
    assert "custom intent priority high → P2" in routing.reason
    # the pack's priority only raises: a critical urgency stays P1
    urgent = route(_with_custom("track_order", "self_service", "low", "critical"), None, rules)
    assert urgent is not None and urgent.priority == "P1"


def test_routing_rules_can_name_a_queue_per_custom_intent() -> None:
    rules = load_rules()
    table = rules.routing.model_copy(update={"custom_queues": {"track_order": "couriers"}})
    rules = rules.model_copy(update={"routing": table})
    routing = route(_with_custom("track_order", "self_service", None), None, rules)
    assert routing is not None and routing.queue == "couriers"


def test_out_of_scope_and_queueless_custom_intents_route_by_the_model_intent() -> None:
    rules = load_rules()
    for event in (_with_custom(OUT_OF_SCOPE, None, None), _with_custom("track_order", None, None)):
        routing = route(event, None, rules)
        assert routing is not None and routing.queue == "logistics"
        assert routing.reason.startswith("intent delivery → logistics")
