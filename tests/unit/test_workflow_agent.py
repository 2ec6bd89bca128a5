"""The workflow agent inside Faust's test context: tables, sends, ticks and dead letters.

``agent.test_context()`` feeds events straight into the agent's stream; topic sends (outputs
and table changelogs) are captured instead of going to Kafka, so what the agent emits and what
its tables hold can be checked without a broker. The real broker runs in tests/integration.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import faust
import pytest
from prometheus_client import CollectorRegistry

from pipeline.contracts.records import Enriched
from pipeline.metrics import Metrics
from pipeline.settings import Settings
from pipeline.streaming.app import build_app
from pipeline.workflow.state import MAX_CONVERSATIONS
from tests.unit.workflow_factory import enriched

Sent = list[tuple[str, bytes | None, Any]]


@pytest.fixture
def on_alert_topic() -> list[bytes]:
    """What the alert ledger reads as the tail of cx.alerts (empty: a fresh topic)."""
    return []


@pytest.fixture
def captured(on_alert_topic: list[bytes]) -> Iterator[Sent]:
    """Every Topic.send / publish_message / send_soon as (topic, key, value), nothing sent to
    Kafka; each send is acknowledged at once."""
    sent: Sent = []

    async def send(
        self: faust.Topic, *, key: Any = None, value: Any = None, **_: Any
    ) -> asyncio.Future[None]:
        sent.append((self.get_topic_name(), key, value))
        acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acked.set_result(None)
        return acked

    async def publish_message(self: faust.Topic, fut: Any, wait: bool = False) -> Any:
        pending = fut.message
        sent.append((self.get_topic_name(), pending.key, pending.value))
        fut.set_result(None)
        return fut

    def send_soon(
        self: faust.Topic,
        *,
        key: Any = None,
        value: Any = None,
        partition: int | None = None,
        **_: Any,
    ) -> Any:
        sent.append((self.get_topic_name(), key, value))
        return SimpleNamespace(message=SimpleNamespace(partition=partition or 0))

    with (
        mock.patch.object(faust.Topic, "send", send),
        mock.patch.object(faust.Topic, "publish_message", publish_message),
        mock.patch.object(faust.Topic, "send_soon", send_soon),
        mock.patch("pipeline.workflow.agent.read_topic_tail", lambda *_: list(on_alert_topic)),
    ):
        yield sent


def _app(tmp_path: Path, metrics: Metrics | None = None) -> faust.App:
    settings = Settings(
        store="memory://", web_port=0, scoring_enabled=False, state_dir=tmp_path, app_id="t"
    )
    app = build_app(settings, metrics)
    app.finalize()
    return app


def _run(app: faust.App, items: list[tuple[bytes, bytes, dict[str, bytes] | None]]) -> None:
    async def go() -> None:
        async with app.agents["workflow"].test_context() as agent:
            for key, value, headers in items:
                await agent.put(value=value, key=key, headers=headers)

    asyncio.run(go())


def _body(event: Enriched) -> tuple[bytes, bytes, None]:
    return b"cus_test", event.model_dump_json().encode(), None


def _on(sent: Sent, topic: str) -> list[dict[str, Any]]:
    return [json.loads(v) for t, _, v in sent if t == topic]


NEGATIVE_CHATS = [
    enriched("late again", negative=0.8, minutes=0, interaction_id="ix1"),
    enriched("still nothing", negative=0.9, minutes=1, interaction_id="ix2"),
    enriched("this is awful", negative=0.95, minutes=2, interaction_id="ix3"),
]


@pytest.mark.parametrize(
    ("events", "alert_types"),
    [
        (NEGATIVE_CHATS[:2], []),
        (NEGATIVE_CHATS, ["negative_streak"]),
        ([*NEGATIVE_CHATS, NEGATIVE_CHATS[2]], ["negative_streak"]),  # redelivered: no repeat
        (
            [*NEGATIVE_CHATS, enriched("ok thanks", positive=0.9, minutes=3, interaction_id="ix4")],
            ["negative_streak", "negative_streak"],  # opened, then resolved
        ),
    ],
    ids=["two-negatives", "three-negatives", "redelivery", "resolved"],
)
def test_agent_emits_enriched_alerts_and_profiles(
    tmp_path: Path, captured: Sent, events: list[Enriched], alert_types: list[str]
) -> None:
    app = _app(tmp_path)
    _run(app, [_body(e) for e in events])
    out = _on(captured, "cx.enriched")
    assert [e["interaction_id"] for e in out] == [e.interaction_id for e in events]
    assert all(e["routing"]["queue"] for e in out)
    alerts = _on(captured, "cx.alerts")
    assert [a["type"] for a in alerts] == alert_types
    if len(alerts) == 2:
        assert [a["status"] for a in alerts] == ["opened", "resolved"]
        assert alerts[0]["alert_id"] == alerts[1]["alert_id"]
    profiles = _on(captured, "cx.profiles")
    assert len(profiles) == len({e.interaction_id for e in events})  # one per state change
    state = app.tables["customers"].get(b"cus_test")
    assert state is not None and json.loads(state)["interactions"] == len(
        {e.interaction_id for e in events}
    )
    assert app.tables["conversations"].get(b"cus_test/conv-1") is not None
    changelogs = {t for t, _, _ in captured if t.endswith("-changelog")}
    assert changelogs == {"t-customers-changelog", "t-conversations-changelog"}


def test_alert_state_is_written_only_after_the_alert_is_acknowledged(
    tmp_path: Path, captured: Sent
) -> None:
    """A recovered state never records an alert change the topic does not hold."""
    app = _app(tmp_path)
    _run(app, [_body(e) for e in NEGATIVE_CHATS])
    topics = [t for t, _, _ in captured]
    opened = topics.index("cx.alerts")
    state_writes = [i for i, t in enumerate(topics) if t == "t-customers-changelog"]
    assert len(state_writes) == 3
    assert state_writes[-1] > opened  # the third message's state follows its alert
    assert state_writes[1] < opened


def test_a_replay_does_not_send_an_alert_already_on_the_topic(
    tmp_path: Path, captured: Sent, on_alert_topic: list[bytes]
) -> None:
    """State lost, alert delivered (a crash between the two): the replay must not re-open it."""
    _run(_app(tmp_path / "first"), [_body(e) for e in NEGATIVE_CHATS])
    [first] = [v for t, _, v in captured if t == "cx.alerts"]
    on_alert_topic.append(first)
    captured.clear()
    metrics = Metrics(registry=CollectorRegistry())
    replay = _app(tmp_path / "replay", metrics)
    _run(replay, [_body(e) for e in NEGATIVE_CHATS])
    assert _on(captured, "cx.alerts") == []
    assert len(_on(captured, "cx.enriched")) == 3
    state = json.loads(replay.tables["customers"][b"cus_test"])
    assert [a["alert_id"] for a in state["open_alerts"].values()] == [json.loads(first)["alert_id"]]
    assert metrics.registry.get_sample_value("cxstream_alerts_replayed_total") == 1.0
    # The next change of that alert (revision 2) is new and is sent.
    _run(replay, [_body(enriched("worse", negative=0.99, minutes=3, interaction_id="ix5"))])
    [update] = _on(captured, "cx.alerts")
    assert (update["status"], update["revision"]) == ("updated", 2)


def test_late_conversations_do_not_grow_the_table(tmp_path: Path, captured: Sent) -> None:
    """A conversation older than the newest MAX_CONVERSATIONS is trimmed at once, not stored."""
    app = _app(tmp_path)
    newest = [enriched("hi", conversation=f"c{i}", minutes=100 + i) for i in range(60)]
    late = [enriched("hi", conversation=f"late{i}", minutes=i) for i in range(20)]
    _run(app, [_body(e) for e in newest + late])
    stored = list(app.tables["conversations"])
    state = json.loads(app.tables["customers"][b"cus_test"])
    assert len(stored) == len(state["conversations"]) == MAX_CONVERSATIONS
    assert {k.decode().removeprefix("cus_test/") for k in stored} == set(state["conversations"])


def test_a_tick_raises_the_sla_alert_from_the_table(tmp_path: Path, captured: Sent) -> None:
    app = _app(tmp_path)
    question = enriched("hello? anyone?", minutes=0, interaction_id="ix-wait")  # weeks ago
    tick = (b"cus_test", json.dumps({"tick": 0}).encode(), {"cx-kind": b"tick"})
    _run(app, [_body(question), tick, tick])
    alerts = _on(captured, "cx.alerts")
    assert [(a["type"], a["status"]) for a in alerts] == [("waiting_sla", "opened")]
    assert alerts[0]["evidence"][0]["interaction_id"] == "ix-wait"


def test_bad_input_goes_to_the_dead_letter_topic(tmp_path: Path, captured: Sent) -> None:
    app = _app(tmp_path)
    _run(app, [(b"cus_test", b'{"not": "an enriched interaction"}', None)])
    [dead] = _on(captured, "cx.deadletter")
    assert dead["stage"] == "workflow" and dead["reason_code"] == "schema_violation"
    assert not _on(captured, "cx.enriched")


def test_the_agent_counts_into_the_injected_registry(tmp_path: Path, captured: Sent) -> None:
    metrics = Metrics()
    app = _app(tmp_path, metrics)
    _run(app, [_body(e) for e in [*NEGATIVE_CHATS, NEGATIVE_CHATS[0]]])
    value = metrics.registry.get_sample_value
    assert value("cxstream_stage_events_in_total", {"stage": "workflow", "channel": "chat"}) == 4
    assert value("cxstream_stage_events_out_total", {"stage": "workflow", "channel": "chat"}) == 4
    opened = {"type": "negative_streak", "severity": "medium", "status": "opened"}
    assert value("cxstream_alerts_total", opened) == 1
    assert value("cxstream_sentiment_total", {"channel": "chat", "sentiment": "negative"}) == 3
    assert value("cxstream_intent_total", {"intent": "other"}) == 3
    assert (
        value("cxstream_end_to_end_latency_seconds_count", {"clock": "received", "channel": "chat"})
        == 4
    )
    [build] = [
        sample.labels
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.name == "cxstream_build_info"
    ]
    assert build["model"] == "none" and build["rules"].startswith("2026-11-29@")


def test_intents_outside_the_model_taxonomy_fold_into_other() -> None:
    metrics = Metrics()
    metrics.bound_intents(["billing", "other"])
    metrics.intent("billing")
    metrics.intent("free text that must never become a label")
    value = metrics.registry.get_sample_value
    assert value("cxstream_intent_total", {"intent": "billing"}) == 1
    assert value("cxstream_intent_total", {"intent": "other"}) == 1


@pytest.mark.parametrize(
    ("agents", "registered"),
    [
        (
            "standardise,resolve,score,workflow",
            {"standardise", "resolve", "erase", "score", "workflow"},
        ),
        ("score", {"score"}),
        ("standardise,resolve,workflow", {"standardise", "resolve", "erase", "workflow"}),
    ],
)
def test_a_worker_runs_only_its_roles(tmp_path: Path, agents: str, registered: set[str]) -> None:
    settings = Settings(
        store="memory://", web_port=0, scoring_enabled=False, state_dir=tmp_path, agents=agents
    )
    assert set(build_app(settings).agents) == registered


def test_an_unknown_role_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown agents \\['scoring'\\]"):
        Settings(agents="score,scoring")
