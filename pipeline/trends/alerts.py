"""An emerging issue as an ``emerging_issue`` alert on ``cx.alerts``.

The alert follows the workflow's lifecycle conventions (``opened`` → ``updated`` →
``resolved``, ``revision`` +1 per change, ``alert_id`` = sha256 of type, entity and the message
that opened it) but concerns no single customer: ``customer_key`` is ``*``, ``entity`` is
``trend:<cluster>`` and the record key is the trend id. A person always decides the response
(a pattern across customers is not something to act on automatically).
"""

from __future__ import annotations

from pipeline.contracts.trends import Trend
from pipeline.contracts.workflow import Action, Alert, AlertStatus, Evidence, Routing, Severity
from pipeline.trends.detector import TrendChange, TrendConfig

ALL_CUSTOMERS = "*"
QUEUE = "cx-insights"
STATUS: dict[str, AlertStatus] = {"emerging": "opened", "growing": "updated", "faded": "resolved"}
NEXT_ACTION = (
    "Read the example messages, find the cause (a release, a campaign, a partner outage) and "
    "post a known-issue note for agents; the trend record on cx.trends has the numbers."
)


def severity_of(trend: Trend, config: TrendConfig) -> Severity:
    """``high`` at 3x the opening volume or 10x the baseline, else ``medium``."""
    if trend.volume >= 3 * config.min_volume or trend.growth >= 10:
        return "high"
    return "medium"


def alert_of(change: TrendChange, config: TrendConfig) -> Alert:
    """The alert change that goes with a trend change."""
    trend = change.trend
    closed = trend.status == "faded"
    reasons = [
        f"emerging issue '{trend.label}' (keywords: {', '.join(trend.keywords) or 'none'})",
        trend.reason,
    ]
    channels = ", ".join(f"{c.channel} {c.messages}" for c in trend.channels)
    if channels:
        reasons.append(f"channels in the window: {channels}")
    confidence = round(min(1.0, trend.growth / (2 * config.min_growth)), 3)
    action = Action(
        action=NEXT_ACTION,
        reason=f"a new issue across customers: {trend.reason}",
        confidence=confidence,
        requires_human=True,
    )
    evidence = [
        Evidence(
            interaction_id=m.interaction_id,
            channel=m.channel,
            occurred_at=m.at,
            sentiment_value=m.sentiment,
            note="an example message of the issue",
        )
        for m in change.examples
    ]
    return Alert(
        alert_id=change.alert_id,
        type="emerging_issue",
        status=STATUS[trend.status],
        revision=change.revision,
        customer_key=ALL_CUSTOMERS,
        entity=f"trend:{trend.cluster}",
        severity=severity_of(trend, config),
        confidence=confidence,
        reasons=reasons,
        evidence=evidence,
        next_action=NEXT_ACTION,
        actions=[] if closed else [action],
        route=Routing(
            queue=QUEUE,
            priority="P2",
            reason="emerging issues go to the CX insights queue",
            human_only=True,
            rules_version=config.version,
        ),
        requires_human=True,
        auto_action_allowed=False,
        control_reason="a pattern across customers: a person decides the response",
        opened_at=change.opened_at,
        updated_at=trend.updated_at,
        closed_at=trend.updated_at if closed else None,
        close_reason=trend.reason if closed else None,
        rules_version=config.version,
    )
