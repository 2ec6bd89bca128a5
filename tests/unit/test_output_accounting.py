"""The demo's alert accounting: per-customer counts leave out alerts about all customers."""

from __future__ import annotations

from typing import Any

from pipeline.tools.output_accounting import alert_summary
from pipeline.trends.alerts import ALL_CUSTOMERS


def _alert(alert_id: str, customer: str, kind: str, status: str = "opened") -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "customer_key": customer,
        "type": kind,
        "status": status,
        "reasons": [f"{kind} {alert_id}"],
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
