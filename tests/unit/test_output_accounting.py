"""The demo's alert accounting: per-customer counts leave out alerts about all customers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.tools.output_accounting import alert_summary, most_within
from pipeline.trends.alerts import ALL_CUSTOMERS


def _alert(
    alert_id: str,
    customer: str,
    kind: str,
    status: str = "opened",
    opened_at: str = "2026-12-08T00:00:00Z",
) -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "customer_key": customer,
        "type": kind,
        "status": status,
        "reasons": [f"{kind} {alert_id}"],
        "opened_at": opened_at,
    }


def test_emerging_issues_count_in_totals_but_not_as_one_customers_alerts() -> None:
    alerts = [
        _alert("a1", "cus-1", "churn_signal"),
        _alert("a2", "cus-1", "negative_streak"),
        _alert("a2", "cus-1", "negative_streak", "updated"),
        _alert("b1", "cus-2", "churn_signal"),
        *[_alert(f"t{i}", ALL_CUSTOMERS, "emerging_issue") for i in range(5)],
    ]
    summary = alert_summary(alerts, [{"customer_key": "cus-1", "alerts_suppressed": 3}])
    assert summary["max_alerts_per_customer"] == 2
    assert summary["alerted_customers"] == 2
    assert summary["alerts_opened"] == {
        "churn_signal": 2,
        "emerging_issue": 5,
        "negative_streak": 1,
    }
    assert summary["alert_changes"] == {"opened": 8, "updated": 1}
    assert summary["emerging_issues"] == [f"emerging_issue t{i}" for i in range(5)]
    assert summary["alerts_suppressed"] == 3
    assert summary["duplicate_alert_ids"] == 0


def test_an_alert_opened_twice_is_counted_as_a_duplicate_id() -> None:
    alerts = [_alert("a1", "cus-1", "churn_signal"), _alert("a1", "cus-1", "churn_signal")]
    summary = alert_summary(alerts, [])
    assert summary["duplicate_alert_ids"] == 1
    assert summary["max_alerts_per_customer"] == 2


def test_the_rate_limit_is_checked_per_window_of_event_time() -> None:
    """The CI demo run: five alerts for one customer over 1 h 35 min, at most four in an hour."""
    opened = ["2026-12-07T23:53:18Z", "2026-12-08T00:20:21Z", "2026-12-08T00:38:44.979Z"]
    opened += ["2026-12-08T00:52:55Z", "2026-12-08T01:28:12.3Z"]
    alerts = [_alert(f"a{i}", "cus-1", "urgent_message", opened_at=t) for i, t in enumerate(opened)]
    summary = alert_summary(alerts, [], window_s=3600)
    assert summary["max_alerts_per_customer"] == 5
    assert summary["max_alerts_per_customer_in_window"] == 4
    assert alert_summary(alerts, [], window_s=7200)["max_alerts_per_customer_in_window"] == 5


def test_a_window_excludes_an_alert_exactly_one_window_later() -> None:
    times = [datetime(2026, 12, 8, 0, tzinfo=UTC), datetime(2026, 12, 8, 1, tzinfo=UTC)]
    assert most_within(times, 3600) == 1
    assert most_within(times, 3600.001) == 2
    assert most_within([], 3600) == 0
