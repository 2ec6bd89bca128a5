"""The erasure path through the agents in Faust's test context: the resolve stage's ``erase``
agent and the workflow agent's erasure orders (outputs captured, tables in memory)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust

from pipeline.contracts.privacy import ErasureOrder, ErasureRequest
from pipeline.settings import Settings
from pipeline.streaming.app import build_app
from tests.unit.test_resolve import chat, envelope
from tests.unit.test_workflow_agent import NEGATIVE_CHATS, Sent, captured, on_alert_topic
from tests.unit.workflow_factory import enriched

__all__ = ["captured", "on_alert_topic"]  # fixtures used by name

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ERASE = {"cx-kind": b"erase"}
Item = tuple[bytes | None, bytes, dict[str, bytes] | None]


def _app(tmp_path: Path) -> faust.App:
    settings = Settings(
        store="memory://", web_port=0, scoring_enabled=False, state_dir=tmp_path, app_id="t"
    )
    app = build_app(settings)
    app.finalize()
    return app


def _run(app: faust.App, agent: str, items: list[Item]) -> None:
    async def go() -> None:
        async with app.agents[agent].test_context() as ctx:
            for key, value, headers in items:
                await ctx.put(value=value, key=key, headers=headers)

    asyncio.run(go())


def _request(**subject: str) -> bytes:
    body = {"request_id": "req-1", "requested_at": NOW.isoformat(), **subject}
    return ErasureRequest.model_validate(body).model_dump_json().encode()


def _on(sent: Sent, topic: str) -> list[tuple[bytes | None, Any]]:
    return [(k, None if v is None else json.loads(v)) for t, k, v in sent if t == topic]


def test_the_resolve_stage_forgets_identity_and_hands_each_key_to_the_workflow(
    tmp_path: Path, captured: Sent
) -> None:
    app = _app(tmp_path)
    dana = {"id": "cus-dana", "email": "Dana@Example.com", "phone": "+44 20 7946 0958"}
    first = envelope("chat", chat("m1", "my parcel is late", customer=dana), offset=1)
    other = envelope("chat", chat("m2", "hello", customer={"email": "sam@example.com"}), offset=2)
    _run(app, "resolve", [(b"k", e.model_dump_json().encode(), None) for e in (first, other)])
    [(_, ix), _] = _on(captured, "cx.interactions")
    key = ix["customer_key"]
    captured.clear()
    _run(app, "erase", [(b"req-1", _request(email="dana@example.com"), None)])
    assert _on(captured, "cx.identity") == [(key.encode(), None)]  # a tombstone
    [(order_key, order)] = _on(captured, "cx.internal.scored")
    assert order_key == key.encode() and ErasureOrder.model_validate(order).customer_key == key
    [(audit_key, audit)] = _on(captured, "cx.erasures")
    assert audit_key == b"req-1" and audit["stage"] == "resolve" and audit["found"]
    assert audit["removed"]["identity_links"] == 3 and audit["customer_keys"] == 1
    assert "dana" not in json.dumps(audit) and key not in json.dumps(audit)
    links = dict(app.tables["identity-links"].items())
    assert set(links) == {"email:sam@example.com"}
    assert all("dana" not in k for k in app.tables["dedupe-texts"])


def test_a_malformed_request_is_a_dead_letter_and_the_agent_goes_on(
    tmp_path: Path, captured: Sent
) -> None:
    app = _app(tmp_path)
    _run(
        app,
        "erase",
        [
            (b"x", b'{"request_id": "r", "requested_at": "2026-12-01T00:00:00Z"}', None),
            (b"y", _request(phone="020 7946 0958"), None),
            (b"req-1", _request(user_id="nobody"), None),
        ],
    )
    dead = [d for _, d in _on(captured, "cx.deadletter")]
    assert [(d["stage"], d["reason_code"]) for d in dead] == [("resolve", "schema_violation")] * 2
    assert "exactly one of" in dead[0]["reason"] and "E.164" in dead[1]["reason"]
    [(_, audit)] = _on(captured, "cx.erasures")  # the third one: nobody known
    assert not audit["found"] and audit["customer_keys"] == 0


def test_the_workflow_erases_the_key_on_an_order_and_tombstones_its_profile(
    tmp_path: Path, captured: Sent
) -> None:
    app = _app(tmp_path)
    events: list[Item] = [(b"cus_test", e.model_dump_json().encode(), None) for e in NEGATIVE_CHATS]
    order = ErasureOrder(
        request_id="req-1", customer_key="cus_test", subject_kind="email", requested_at=NOW
    )
    erase = (b"cus_test", order.model_dump_json().encode(), ERASE)
    _run(app, "workflow", [*events, erase, erase])
    assert not list(app.tables["customers"]) and not list(app.tables["conversations"])
    profiles = _on(captured, "cx.profiles")
    assert profiles[-2:] == [(b"cus_test", None)] * 2
    audits = [a for _, a in _on(captured, "cx.erasures")]
    assert [(a["stage"], a["found"]) for a in audits] == [("workflow", True), ("workflow", False)]
    assert audits[0]["removed"] == {"customers": 1, "conversations": 1, "profile_tombstones": 1}
    # a later message starts afresh
    _run(
        app,
        "workflow",
        [(b"cus_test", enriched("hi again", minutes=9).model_dump_json().encode(), None)],
    )
    state = json.loads(app.tables["customers"][b"cus_test"])
    assert state["interactions"] == 1


def test_withdrawing_consent_to_profiling_tombstones_the_profile(
    tmp_path: Path, captured: Sent
) -> None:
    app = _app(tmp_path)
    no = enriched(
        None,
        channel="web",
        event_type="identify",
        conversation=None,
        minutes=5,
        attributes={"traits": {"consent": {"profiling": False}}},
    )
    later = enriched("where is it??", negative=0.9, minutes=6, interaction_id="ix9")
    items = [
        (b"cus_test", e.model_dump_json().encode(), None) for e in [*NEGATIVE_CHATS, no, later]
    ]
    _run(app, "workflow", items)  # type: ignore[arg-type]
    enriched_out = _on(captured, "cx.enriched")
    assert len(enriched_out) == 5 and enriched_out[-1][1]["routing"]["queue"]
    profiles = _on(captured, "cx.profiles")
    assert profiles[-1] == (b"cus_test", None) and len(profiles) == 4
    alerts = [a for _, a in _on(captured, "cx.alerts")]
    assert [a["status"] for a in alerts] == ["opened", "resolved"]
    state = json.loads(app.tables["customers"][b"cus_test"])
    assert state["profiling"] is False and state["contacts"] == []
    assert not list(app.tables["conversations"])


def test_an_erasure_order_not_keyed_by_its_customer_is_a_dead_letter(
    tmp_path: Path, captured: Sent
) -> None:
    app = _app(tmp_path)
    events: list[Item] = [(b"cus_test", NEGATIVE_CHATS[0].model_dump_json().encode(), None)]
    order = ErasureOrder(
        request_id="req-1", customer_key="cus_test", subject_kind="email", requested_at=NOW
    )
    misplaced = (b"cus_other", order.model_dump_json().encode(), ERASE)
    _run(app, "workflow", [*events, misplaced, (b"cus_test", b"{}", ERASE)])
    dead = [d for _, d in _on(captured, "cx.deadletter")]
    assert [(d["stage"], d["reason_code"]) for d in dead] == [("workflow", "schema_violation")] * 2
    assert "not keyed by its customer_key" in dead[0]["reason"]
    assert app.tables["customers"].get(b"cus_test") is not None
    assert not _on(captured, "cx.erasures")
