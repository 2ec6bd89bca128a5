"""``cxstream tail``: follow a topic and render its messages for people."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from pipeline.settings import Settings
from pipeline.streaming.security import check_access, client_config


def render(topic: str, key: bytes | None, value: bytes, settings: Settings) -> str:
    """One readable line for a message of any pipeline topic."""
    names = settings.topics
    try:
        data: Any = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return f"[{topic}] key={key!r} <{len(value)} bytes, not JSON>"
    if not isinstance(data, dict):
        return f"[{topic}] {json.dumps(data)[:200]}"
    if topic == names.interactions:
        text = (data.get("text") or "").replace("\n", " ")
        text = text[:100] + ("…" if len(text) > 100 else "")
        return (
            f"{data['occurred_at'][:19]} {data['channel']:<6} {data['customer_key']} "
            f"{data['event_type']:<9} {data['author_role']:<8} "
            f"{data.get('language') or '--'} {text!r}"
        )
    if topic == names.deadletter:
        payload = base64.b64decode(data.get("payload_b64", ""))[:80]
        src = data.get("source", {})
        return (
            f"DEAD {data['reason_code']:<18} {src.get('topic')}[{src.get('partition')}]"
            f"@{src.get('offset')}: {data['reason']} | payload {payload!r}"
        )
    if topic == names.duplicates:
        return (
            f"DUP  {data['kind']:<15} {data['interaction_id']} (kept {data['duplicate_of']}) "
            f"customer={data.get('customer_key')}"
        )
    if topic == names.identity:
        return (
            f"MERGE {data['merged_key']} → {data['customer_key']} ({len(data['identifiers'])} ids)"
        )
    if topic == names.alerts:
        return render_alert(data)
    if topic == names.profiles:
        trend = data.get("sentiment_mean")
        return (
            f"PROFILE {data['customer_key']} interactions={data.get('interactions')} "
            f"sentiment_mean={'-' if trend is None else f'{trend:+.2f}'} tier={data.get('tier')} "
            f"open_alerts={[a['type'] for a in data.get('open_alerts', [])]}"
        )
    return f"[{topic}] {json.dumps(data, ensure_ascii=False)[:300]}"


def _top_action(data: dict[str, Any]) -> str:
    """The first ranked action and why; the playbook's step for alerts without ``actions``."""
    actions = data.get("actions") or []
    if not actions:
        return str(data.get("next_action"))
    top = actions[0]
    return f"{top['action']} (why: {top['reason']}; confidence {top['confidence']:.2f})"


def _risk_line(data: dict[str, Any]) -> list[str]:
    risk = data.get("risk")
    if not risk:
        return []
    parts = []
    for name in ("churn_risk", "escalation_risk"):
        score = risk[name]
        drivers = ", ".join(d["text"] for d in score["drivers"][:2])
        parts.append(f"{name} {score['probability']:.2f} {score['band']} ({drivers})")
    return ["    risk:   " + "; ".join(parts)]


def render_alert(data: dict[str, Any]) -> str:
    """An alert as a short block: what, who, why, where it goes, what to do."""
    route = data.get("route") or {}
    control = (
        "AUTO ALLOWED"
        if data.get("auto_action_allowed")
        else ("HUMAN REQUIRED" if data.get("requires_human") else "suggest to agent")
    )
    lines = [
        f"{data.get('updated_at', '')[:19]} {data['status'].upper():<8} {data['severity']:<8} "
        f"{data['type']:<16} {data['customer_key']}  ({data['alert_id']} rev {data['revision']})",
        *[f"    why:    {reason}" for reason in data.get("reasons", [])],
        f"    route:  {route.get('queue')} {route.get('priority')} ({route.get('reason')})",
        *_risk_line(data),
        f"    action: {_top_action(data)} [{control}: {data.get('control_reason')}]",
        "    evidence: "
        + ", ".join(
            f"{e['channel']}:{e['interaction_id'][-12:]}"
            + (f" {e['sentiment']}" if e.get("sentiment") else "")
            for e in data.get("evidence", [])
        ),
    ]
    if data.get("close_reason"):
        lines.append(f"    closed: {data['close_reason']}")
    return "\n".join(lines)


def follow(
    settings: Settings,
    topic: str,
    *,
    from_beginning: bool = False,
    max_messages: int | None = None,
    idle_timeout_s: float | None = None,
    as_json: bool = False,
) -> Iterator[str]:
    """Yield rendered lines for new (or all) messages of ``topic``."""
    check_access(settings)
    consumer = KafkaConsumer(**client_config(settings), enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise LookupError(
                f"topic {topic!r} does not exist on {settings.bootstrap_servers}"
                + _unless_hidden(settings)
            )
        parts = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(parts)
        if from_beginning:
            consumer.seek_to_beginning(*parts)
        else:
            consumer.seek_to_end(*parts)
        seen = 0
        last = time.monotonic()
        while max_messages is None or seen < max_messages:
            batch = consumer.poll(timeout_ms=500)
            if not batch:
                if idle_timeout_s is not None and time.monotonic() - last > idle_timeout_s:
                    return
                continue
            last = time.monotonic()
            for records in batch.values():
                for rec in records:
                    if as_json:
                        try:
                            yield json.dumps(json.loads(rec.value), ensure_ascii=False)
                        except (ValueError, UnicodeDecodeError):
                            yield json.dumps({"raw_b64": base64.b64encode(rec.value).decode()})
                    else:
                        yield render(topic, rec.key, rec.value, settings)
                    seen += 1
                    if max_messages is not None and seen >= max_messages:
                        return
    finally:
        consumer.close()


def _unless_hidden(settings: Settings) -> str:
    """With SASL, a topic the principal may not describe looks absent: say so."""
    if not settings.kafka_security_protocol.startswith("SASL_"):
        return ""
    return f" (or CXSTREAM_KAFKA_USERNAME={settings.kafka_username} may not describe it: ACLs)"
