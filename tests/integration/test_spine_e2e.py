"""End to end on the real broker: every raw input is accounted for exactly once."""

from __future__ import annotations

import base64
from collections import Counter, defaultdict
from typing import Any

from pipeline.contracts.languages import UNSUPPORTED_LANGUAGE
from pipeline.scoring.card import load_card
from pipeline.settings import Settings
from pipeline.tools.output_accounting import Outputs, collect
from pipeline.tools.produce import Delivered, Outgoing, produce
from pipeline.tools.runner import WorkerProcess
from pipeline.tools.synthetic import RawRecord, generate

N_EVENTS = 1200


def _send(settings: Settings, records: list[RawRecord]) -> list[Delivered]:
    return produce(
        settings, [Outgoing(settings.topics.raw(r.channel), r.key, r.value) for r in records]
    )


def _where(record: dict[str, Any]) -> tuple[str, int, int]:
    src = record["source"]
    return (src["topic"], src["partition"], src["offset"])


def _survivor(merges: list[dict[str, Any]]) -> dict[str, str]:
    parent = {m["merged_key"]: m["customer_key"] for m in merges}

    def find(key: str) -> str:
        seen = set()
        while key in parent and key not in seen:
            seen.add(key)
            key = parent[key]
        return key

    return {k: find(k) for k in parent}


def _linked_groups(interactions: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Events connected through shared identifiers (union-find over kind:value pairs)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def ids(rec: dict[str, Any]) -> list[str]:
        return [f"{k}:{v}" for k, v in rec["identifiers"].items() if v]

    for rec in interactions:
        first, *rest = ids(rec)
        for other in rest:
            parent[find(other)] = find(first)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in interactions:
        groups[find(ids(rec)[0])].append(rec)
    return list(groups.values())


def test_every_input_is_accounted_for_exactly_once(
    pipeline_settings: Settings, worker: WorkerProcess
) -> None:
    records = generate(N_EVENTS, seed=11)
    expected = Counter(r.expect for r in records)
    assert sum(v for k, v in expected.items() if k.startswith("deadletter:")) >= 20
    assert expected["redelivery"] and expected["cross_relay"] and expected["near_duplicate"]

    delivered = _send(pipeline_settings, records)
    out: Outputs = collect(
        pipeline_settings, len(delivered), timeout_s=300, settle_s=3, wait_enriched=True
    )
    assert worker.alive, worker.log_tail()

    # Exactly one output per input, located by its source topic/partition/offset.
    outcome: dict[tuple[str, int, int], str] = {}
    for rec in out.interactions:
        assert _where(rec) not in outcome
        outcome[_where(rec)] = "interaction"
    for rec in out.duplicates:
        assert _where(rec) not in outcome
        outcome[_where(rec)] = rec["kind"]
    for rec in out.deadletters:
        assert _where(rec) not in outcome
        outcome[_where(rec)] = f"deadletter:{rec['reason_code']}"
    assert out.accounted == len(delivered)
    by_place = {
        (d.topic, d.partition, d.offset): r for d, r in zip(delivered, records, strict=True)
    }
    assert set(outcome) == set(by_place)
    mismatches = [
        (place, by_place[place].expect, got)
        for place, got in outcome.items()
        if by_place[place].expect != got
    ]
    assert mismatches == []

    # Dead letters keep the original bytes and a specific reason.
    for rec in out.deadletters:
        assert rec["reason"] and rec["error_class"] and rec["stage"] == "standardise"
        assert base64.b64decode(rec["payload_b64"]) == by_place[_where(rec)].value

    # Keyed by customer key.
    for key, rec in zip(out.interaction_keys, out.interactions, strict=True):
        assert key == rec["customer_key"].encode()
    # Identity-linked events (a chain of events sharing identifiers) share one key once the
    # merges on cx.identity are followed; different ground-truth persons never share a key.
    survivor = _survivor(out.merges)
    groups = _linked_groups(out.interactions)
    for group in groups:
        final = {survivor.get(r["customer_key"], r["customer_key"]) for r in group}
        assert len(final) == 1, [r["identifiers"] for r in group]
    owners: dict[str, str | None] = {}
    for rec in out.interactions:
        key = survivor.get(rec["customer_key"], rec["customer_key"])
        person = by_place[_where(rec)].person
        assert owners.setdefault(key, person) == person
    assert out.merges, "the synthetic traffic links keys that started apart"
    cross_channel = [g for g in groups if len({r["channel"] for r in g}) > 1]
    assert len(cross_channel) >= 10

    # Scoring: every interaction reaches cx.enriched exactly once; text carries scores + provenance.
    card = load_card(pipeline_settings.model_dir)
    enriched = {e["interaction_id"]: e for e in out.enriched}
    assert len(enriched) == len(out.enriched) == len(out.interactions)
    for rec in out.interactions:
        e = enriched[rec["interaction_id"]]
        assert e["customer_key"] == rec["customer_key"] and e["text"] == rec["text"]
        if rec["text"] and not card.reads(rec["language"]):  # the synthetic es/fr/de customers
            assert not e["scored"] and e["unscored_reason"] == UNSUPPORTED_LANGUAGE
            assert e["scores"] is None
            assert e["routing"]["human_only"] is (e["author_role"] == "customer")
        elif rec["text"]:
            assert e["scored"], e["unscored_reason"]
            assert {"sentiment", "intent", "urgency"} <= set(e["scores"])
            assert e["ai"]["model"] == card.name and e["ai"]["sha256"] == card.sha256
            assert set(e["ai"]["reasons"]) == {"sentiment", "intent", "urgency"}
        else:
            assert not e["scored"] and e["unscored_reason"] == "no text to score"


def test_dedupe_and_identity_state_survive_a_restart(
    pipeline_settings: Settings, worker: WorkerProcess
) -> None:
    records = [r for r in generate(300, seed=5) if r.expect == "interaction"]
    first = _send(pipeline_settings, records)
    out = collect(pipeline_settings, len(first), timeout_s=120)
    assert len(out.interactions) == len(records)
    keys_before = {rec["interaction_id"]: rec["customer_key"] for rec in out.interactions}

    assert worker.stop() == 0
    worker.start()
    worker.wait_ready(timeout_s=90)
    # Sent right after "Worker ready", with no pause: the restart window that once lost events
    # here (docs/architecture.md §9) is closed, and this test would show it open again as a
    # re-sent message never decided.
    again = _send(pipeline_settings, records)  # every message redelivered after the restart
    resent = set(keys_before)
    out = collect(
        pipeline_settings,
        len(first) + len(again),
        timeout_s=120,
        until=lambda o: resent <= {d["interaction_id"] for d in o.duplicates},
    )
    assert len(out.interactions) == len(records)
    # Every re-sent message is dropped as a redelivery. At-least-once delivery may also replay
    # a few internal messages whose offsets were not yet committed at the stop: those are
    # dropped the same way, so no interaction is ever emitted twice.
    kinds = Counter(d["kind"] for d in out.duplicates)
    assert set(kinds) == {"redelivery"} and kinds["redelivery"] >= len(again)
    assert {d["interaction_id"] for d in out.duplicates} == set(keys_before)
    assert len({rec["interaction_id"] for rec in out.interactions}) == len(records)
