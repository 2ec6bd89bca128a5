"""Reply templates chosen by intent and sentence similarity, and suggested as an action."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from pipeline.contracts.records import Enriched
from pipeline.contracts.scores import ReplyTemplateScore, Scores
from pipeline.metrics import Metrics
from pipeline.replies.library import (
    ReplyTemplate,
    ReplyTemplates,
    TemplatesFileError,
    load_templates,
)
from pipeline.scoring.agent import BatchScorer, load_reply_templates
from pipeline.scoring.custom_intents.embedding import scorer_embedder
from pipeline.scoring.enrich import enrich
from pipeline.scoring.reply_templates import TemplateMatcher
from pipeline.scoring.scorer import Scorer
from pipeline.settings import Settings
from pipeline.streaming.delivery import Source
from pipeline.workflow.config import load_rules
from pipeline.workflow.engine import Workflow
from tests.unit.interactions import chat_interaction
from tests.unit.workflow_factory import enriched

LATE = ReplyTemplate(name="late", intents=["delivery"], text="sorry it is late", examples=["a"])
DAMAGED = ReplyTemplate(
    name="damaged", intents=["delivery"], text="sorry it broke", examples=["b", "c"]
)
CHARGE = ReplyTemplate(name="charge", intents=["billing"], text="the charge is {x}")
LIBRARY = ReplyTemplates(version="t", templates=[LATE, DAMAGED, CHARGE])
# One vector per phrase: late ← x; damaged ← y and (.6y + .8w); charge ← z  (x, y, z, w).
VECTORS = [
    np.array([[1.0, 0.0, 0.0, 0.0]]),
    np.array([[0.0, 2.0, 0.0, 0.0], [0.0, 0.6, 0.0, 0.8]]),  # any scale: rows are normalised
    np.array([[0.0, 0.0, 1.0, 0.0]]),
]


def matcher() -> TemplateMatcher:
    return TemplateMatcher(LIBRARY.templates, VECTORS)


def test_the_closest_template_of_the_intent_wins() -> None:
    late = matcher().best("delivery", [0.9, 0.1, 0.0, 0.0])
    assert late == ReplyTemplateScore(name="late", similarity=0.9939, candidates=2)
    # 0.669 to late, 0.446 to damaged's first phrase, 0.743 to its second: the closest counts
    damaged = matcher().best("delivery", [0.45, 0.3, 0.0, 0.4])
    assert damaged == ReplyTemplateScore(name="damaged", similarity=0.7433, candidates=2)


def test_a_closer_template_of_another_intent_does_not_take_over() -> None:
    # 0.71 to charge, 0.70 to late: charge is closer, but the intent says delivery
    chosen = matcher().best("delivery", [0.7, 0.0, 0.71, 0.0])
    assert chosen is not None and (chosen.name, chosen.candidates) == ("late", 2)


def test_a_near_restatement_of_another_intents_example_does() -> None:
    # 0.98 to charge's phrase, 0.2 to the best delivery template: the intent head misread it
    chosen = matcher().best("delivery", [0.2, 0.0, 0.98, 0.0])
    assert chosen is not None and (chosen.name, chosen.candidates) == ("charge", 2)
    # 0.78 to charge vs 0.62 to late is inside the margin (0.2): the intent's template stays
    kept = matcher().best("delivery", [0.62, 0.0, 0.78, 0.0])
    assert kept is not None and kept.name == "late"


def test_an_intent_without_templates_gets_one_only_when_a_message_is_that_close() -> None:
    near_charge = matcher().best("praise", [0.6, 0.0, 0.8, 0.0])  # 0.8 ≥ 0.75
    assert near_charge == ReplyTemplateScore(name="charge", similarity=0.8, candidates=0)
    near_late = matcher().best(None, [0.8, 0.0, 0.6, 0.0])
    assert near_late is not None and near_late.name == "late"
    assert matcher().best("praise", [0.7, 0.7, 0.14, 0.0]) is None  # 0.70 to late and damaged
    assert matcher().best(None, [0.7, 0.7, 0.14, 0.0]) is None


def test_ties_go_to_the_template_written_first_and_no_vector_means_no_choice() -> None:
    tie = matcher().best("delivery", [1.0, 1.0, 0.0, 0.0])
    assert tie is not None and tie.name == "late"
    assert matcher().best("delivery", None) is None
    assert matcher().best("delivery", [0.0, 0.0, 0.0, 0.0]) is None
    picks = matcher().choose(["delivery", "billing", None], [[0, 1, 0, 0], [0, 0, 1, 0], None])
    assert [p.name if p else None for p in picks] == ["damaged", "charge", None]


def test_every_phrase_is_embedded_in_one_call_and_split_per_template() -> None:
    calls: list[list[str]] = []

    def embed(texts: Sequence[str]) -> Any:
        calls.append(list(texts))
        table = {
            "a": [1, 0, 0, 0],
            "b": [0, 1, 0, 0],
            "c": [0, 0.6, 0, 0.8],
            "the charge is {x}": [0, 0, 1, 0],
        }
        return np.array([table[t] for t in texts], dtype=np.float32)

    built = TemplateMatcher.embedded(LIBRARY, embed)
    assert calls == [["a", "b", "c", "the charge is {x}"]]  # no examples: the text
    assert [len(v) for v in built.vectors] == [1, 2, 1] and built.phrases == 4
    best = built.best("delivery", [0.45, 0.3, 0.0, 0.4])
    assert best is not None and best.name == "damaged"


def test_template_names_must_be_unique_and_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "templates.yaml"
    path.write_text(
        "version: '1'\ntemplates:\n"
        "  - {name: x, intents: [delivery], text: hi, examples: [where is it]}\n"
        "  - {name: x, intents: [billing], text: hello}\n",
        "utf-8",
    )
    with pytest.raises(TemplatesFileError, match=r"templates\.yaml: .*names must be unique: x"):
        load_templates(path)
    path.write_text(
        "version: '1'\ntemplates:\n  - {name: y, intents: [a], text: hi, examples: ['  ']}\n",
        "utf-8",
    )
    with pytest.raises(TemplatesFileError, match=r"templates\.0\.examples\.0"):
        load_templates(path)


def test_the_bundled_library_has_examples_and_two_delivery_templates() -> None:
    bundled = load_templates()
    assert all(2 <= len(t.examples) <= 3 for t in bundled.templates)
    assert [t.name for t in bundled.candidates("delivery")] == [
        "late_delivery_apology",
        "damaged_or_lost_parcel",
    ]
    assert len(bundled.candidates("billing")) == len(bundled.candidates("account_access")) == 2


# -- the workflow's action --------------------------------------------------------------------


def _churn_actions(message: Enriched) -> list[str]:
    workflow = Workflow(load_rules(), templates=load_templates())
    alerts = workflow.on_event(message, None, None).alerts
    return [f"{a.action} | {a.reason}" for alert in alerts for a in alert.actions]


def _complaint(suggested: ReplyTemplateScore | None, intent: str = "delivery") -> Enriched:
    message = enriched(
        "my parcel arrived broken, this is unacceptable",
        negative=0.95,
        intent=intent,
        urgency="critical",
    )
    assert message.scores is not None
    message.scores.reply_template = suggested
    return message


def test_the_action_uses_the_score_stages_choice_and_says_why() -> None:
    suggested = ReplyTemplateScore(name="damaged_or_lost_parcel", similarity=0.86, candidates=2)
    replies = [a for a in _churn_actions(_complaint(suggested)) if a.startswith("reply")]
    assert replies and all("damaged_or_lost_parcel" in a for a in replies)
    assert "intent delivery (0.80): closest of 2 templates (similarity 0.86)" in replies[0]


def test_a_template_of_another_intent_says_the_model_read_it_otherwise() -> None:
    suggested = ReplyTemplateScore(name="damaged_or_lost_parcel", similarity=0.86, candidates=1)
    replies = [
        a
        for a in _churn_actions(_complaint(suggested, intent="technical_problem"))
        if a.startswith("reply")
    ]
    assert replies and "restates one of its examples (similarity 0.86)" in replies[0]
    assert "the model reads intent technical_problem (0.80)" in replies[0]


def test_without_a_suggestion_or_with_an_unknown_name_the_intent_decides() -> None:
    for suggested in (None, ReplyTemplateScore(name="not_in_this_file", similarity=0.9)):
        replies = [a for a in _churn_actions(_complaint(suggested)) if a.startswith("reply")]
        assert replies and all("late_delivery_apology" in a for a in replies)
        assert replies[0].endswith("| approved template for intent delivery (0.80)")


def test_records_without_the_field_still_validate() -> None:
    old = {"sentiment": None, "emotions": [], "intent": None, "urgency": None}
    assert Scores.model_validate(old).reply_template is None


# -- the bundled model ------------------------------------------------------------------------


@cache
def scorer() -> Scorer:
    return Scorer(Settings().model_dir)


def test_the_bundled_model_tells_a_broken_parcel_from_a_late_one() -> None:
    library = load_templates()
    matcher = TemplateMatcher.embedded(library, scorer_embedder(scorer()))
    texts = ["my parcel arrived broken", "where is my order, it is late"]
    assert not {t for tpl in library.templates for t in tpl.examples} & set(texts)
    broken, late = enrich(
        [chat_interaction(n, t) for n, t in enumerate(texts)], scorer(), reply_templates=matcher
    )
    assert broken.scores is not None and late.scores is not None
    assert broken.embedding is None  # matched on the vector, not emitted without the setting
    chosen = broken.scores.reply_template
    assert chosen is not None and chosen.name == "damaged_or_lost_parcel"
    assert chosen.similarity > 0.75
    chosen = late.scores.reply_template
    assert chosen is not None and chosen.name == "late_delivery_apology"
    assert chosen.candidates == 2


def test_the_score_stage_embeds_the_library_once_and_writes_the_choice(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    matcher = load_reply_templates(settings, scorer())
    assert matcher is not None
    assert matcher.phrases == sum(len(t.phrases) for t in load_templates().templates)
    message = chat_interaction(0, "the box arrived smashed and the vase inside is broken")
    source = Source("cx.interactions", 0, 0, b"cus_1", message.model_dump_json().encode())
    metrics = Metrics(CollectorRegistry())
    (keyed,), errors = BatchScorer(scorer(), settings, metrics, None, matcher)([source])
    assert errors == [None]
    record = Enriched.model_validate_json(keyed[1])
    assert record.scores is not None and record.scores.reply_template is not None
    assert record.scores.reply_template.name == "damaged_or_lost_parcel"
    assert record.embedding is None  # CXSTREAM_EMIT_EMBEDDINGS is off
