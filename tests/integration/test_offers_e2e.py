"""Offers on the real broker: the daily budget and the per-customer cooldown across a restart.

Policy: one offer (cost 1) open to every churn band, a daily budget of 4 over the 4 partitions
of ``cx.internal.scored``, so each partition may make one offer per UTC day (event time), and
one offer per customer per 30 days. Customers write "I want to cancel …" chats, which open a
``churn_signal`` alert each. Day 1 lies three days in the past, so its alerts expire at the next
tick (expiry compares the last update with the clock); with this test's rules (alert cooldown 0)
a message written after that opens a new alert for the same customer.

1. Day 1, customers A: at most one offer per partition.
2. The worker is stopped and a new one started (state recovered from the changelogs).
3. Day 1 again, customers B: a partition that made its offer in step 1 makes none.
4. Day 2 (today), the offered A customers again (their first alerts expired): none
   gets a second offer; then new customers C: the new day's budget gives each partition an
   offer again, so the A customers were held back by the cooldown, not by the budget.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from kafka.partitioner.default import murmur2

from pipeline.settings import Settings
from pipeline.tools.output_accounting import read_all
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.runner import WorkerProcess
from pipeline.workflow.config import DEFAULT_RULES_FILE
from tests.waiting import wait_until

# Noon, three days ago: day 1's messages (spread over an hour and a few seconds) share its date
# whenever the test runs. Budgets and alert dates follow event time.
DAY1 = (datetime.now(UTC) - timedelta(days=3)).replace(hour=12, minute=0, second=0, microsecond=0)
POLICY = """\
version: "e2e"
daily_budget: 4
cooldown_days: 30
offers:
  - name: month_free
    text: "a month free"
    cost: 1
    min_churn_band: low
"""
CANCEL = (
    "I want to cancel my subscription. I'm leaving for another provider, your service has "
    "been awful."
)


def _chat(name: str, at: datetime, settings: Settings) -> Outgoing:
    conv = f"conv-{name}-{at:%d}"
    body = {
        "message_id": f"{conv}-m1",
        "conversation_id": conv,
        "sent_at": at.isoformat(),
        "author_role": "customer",
        "customer": {"id": f"cus-{name}", "email": f"{name}@example.com"},
        "text": CANCEL,
    }
    return Outgoing(settings.topics.raw("chat"), conv.encode(), json.dumps(body).encode())


def _rules_file(tmp_path: Path) -> Path:
    """The bundled rules with no alert cooldown: a new message reopens an expired alert."""
    data = yaml.safe_load(DEFAULT_RULES_FILE.read_text())
    data["lifecycle"]["cooldown_s"] = 0
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _expired(settings: Settings, keys: set[str]) -> bool:
    closed = {
        a["customer_key"]
        for a in read_all(settings, settings.topics.alerts)
        if a["type"] == "churn_signal" and a["status"] == "expired"
    }
    return keys <= closed


def _partition(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (and Faust's table routing) gives ``key``."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def _send(settings: Settings, names: list[str], at: datetime) -> None:
    produce(settings, [_chat(n, at + timedelta(seconds=i), settings) for i, n in enumerate(names)])


def _today() -> datetime:
    """Now, at least a minute before the next UTC midnight (waits the day out otherwise), so
    that the messages sent from it share today's date. Not earlier than now: the workflow's
    cooldown does not let a message written before an alert closed (the expiry's wall-clock
    time) open a new one."""
    wait_until(
        "a UTC day with a minute left",
        lambda: datetime.now(UTC).strftime("%H:%M") != "23:59",
        75,
    )
    return datetime.now(UTC).replace(microsecond=0)


def _keys(settings: Settings) -> dict[str, str]:
    """Customer name (the email's local part) → the customer key resolve gave them."""
    return {
        rec["identifiers"]["email"].split("@")[0]: rec["customer_key"]
        for rec in read_all(settings, settings.topics.interactions)
        if rec.get("identifiers", {}).get("email") and rec.get("customer_key")
    }


def _churn_alerts(settings: Settings, names: list[str], day: datetime) -> list[dict[str, Any]]:
    """The churn alerts opened on ``day`` for these customers, once each has one."""
    found: list[dict[str, Any]] = []
    seen: dict[str, Any] = {}

    def arrived() -> bool:
        nonlocal found
        known = _keys(settings)
        keys = {known[n] for n in names if n in known}
        theirs = [
            a for a in read_all(settings, settings.topics.alerts) if a["customer_key"] in keys
        ]
        opened = {
            a["alert_id"]: a
            for a in theirs
            if a["type"] == "churn_signal"
            and a["status"] == "opened"
            and a["opened_at"][:10] == day.date().isoformat()
        }
        found = list(opened.values())  # an alert redelivered after a rebalance counts once
        seen.update(
            customers_resolved=len(keys),
            their_alerts=sorted({(a["type"], a["status"], a["opened_at"][:10]) for a in theirs}),
        )
        return len(found) >= len(names)

    wait_until(
        "opened churn alerts",
        arrived,
        120,
        every_s=1.0,
        detail=lambda: f"{len(found)} of {len(names)}; {seen}",
    )
    return found


def _offers_by_partition(alerts: list[dict[str, Any]], partitions: int) -> dict[int, int]:
    """Offers made per partition (an alert redelivered after a rebalance counts once)."""
    counts: dict[int, int] = {}
    offered = {a["alert_id"]: a["customer_key"] for a in alerts if a.get("offer")}
    for key in offered.values():
        part = _partition(key, partitions)
        counts[part] = counts.get(part, 0) + 1
    return counts


def test_budget_and_cooldown_hold_across_a_worker_restart(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    policy = tmp_path / "offers.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    settings = pipeline_settings.model_copy(
        update={"offer_policy": policy, "rules_file": _rules_file(tmp_path)}
    )
    parts = settings.partitions
    a_names = [f"a{i}" for i in range(12)]
    first = WorkerProcess(settings, tmp_path / "worker1.log").start()
    try:
        first.wait_ready(timeout_s=90)
        _send(settings, a_names, DAY1)
        a_alerts = _churn_alerts(settings, a_names, DAY1)
    finally:
        first.stop()
        print(f"--- worker 1 log tail ---\n{first.log_tail(40)}")
    day1 = _offers_by_partition(a_alerts, parts)
    assert day1 and set(day1.values()) == {1}, day1  # one offer per partition and day
    offered = [a for a in a_alerts if a.get("offer")]
    assert all(a["offer"]["offer"] == "month_free" and a["risk"] for a in offered)

    second = WorkerProcess(settings, tmp_path / "worker2.log").start()
    try:
        second.wait_ready(timeout_s=90)
        b_names = [f"b{i}" for i in range(12)]
        _send(settings, b_names, DAY1 + timedelta(hours=1))
        b_alerts = _churn_alerts(settings, b_names, DAY1)
        b_parts = {_partition(a["customer_key"], parts) for a in b_alerts}
        assert b_parts & set(day1), "some B customers share a partition with a day-1 offer"
        assert not set(_offers_by_partition(b_alerts, parts)) & set(day1)  # budget held

        offered_keys = {a["customer_key"] for a in offered}
        again = [n for n, key in _keys(settings).items() if key in offered_keys]
        wait_until("day-1 alerts expired", lambda: _expired(settings, offered_keys), 60)
        day2 = _today()
        _send(settings, again, day2)
        repeat = _churn_alerts(settings, again, day2)
        assert {a["customer_key"] for a in repeat} == offered_keys
        assert not any(a.get("offer") for a in repeat)  # cooldown held
        c_names = [f"c{i}" for i in range(12)]
        _send(settings, c_names, day2)
        c_alerts = _churn_alerts(settings, c_names, day2)
        offers2 = _offers_by_partition(c_alerts, parts)
        c_parts = {_partition(a["customer_key"], parts) for a in c_alerts}
        assert set(offers2) == c_parts and set(offers2.values()) == {1}  # the new day's budget
    finally:
        second.stop()
        print(f"--- worker 2 log tail ---\n{second.log_tail(40)}")
