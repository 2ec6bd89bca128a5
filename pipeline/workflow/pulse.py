"""The customer pulse: what the workflow stage counts for each routed customer message.

Sentiment, urgency and intent mix, repeat contacts and routing, by low-cardinality labels only
(channel, label, queue, priority; pipeline/metrics.py); agent and system messages are not
counted.
"""

from __future__ import annotations

from pipeline.contracts.records import Enriched
from pipeline.contracts.risk import RiskAssessment
from pipeline.contracts.workflow import Alert
from pipeline.metrics import Metrics


def count_pulse(metrics: Metrics, item: Enriched, repeat_contact: bool) -> None:
    """The customer-pulse metrics of one customer message."""
    if item.author_role != "customer":
        return
    if repeat_contact:
        metrics.repeat_contacts.labels(channel=item.channel).inc()
    s = item.scores
    if s is not None and s.sentiment is not None:
        metrics.sentiment.labels(channel=item.channel, sentiment=s.sentiment.label).inc()
    if s is not None and s.urgency is not None:
        metrics.urgency.labels(channel=item.channel, level=s.urgency.level).inc()
    if s is not None and s.intent is not None:
        metrics.intent(s.intent.label)
    if item.routing is not None:
        r = item.routing
        metrics.routed.labels(queue=r.queue, priority=r.priority).inc()


def count_risk(
    metrics: Metrics, item: Enriched, risk: RiskAssessment | None, alerts: list[Alert]
) -> None:
    """The risk bands of a message the risk model assessed, and the offers it led to."""
    if risk is not None and risk.interaction_id == item.interaction_id:
        metrics.risk_bands.labels(risk="churn", band=risk.churn_risk.band).inc()
        metrics.risk_bands.labels(risk="escalation", band=risk.escalation_risk.band).inc()
    for alert in alerts:
        if alert.offer is not None:
            metrics.offers.labels(offer=alert.offer.offer).inc()
            metrics.offer_cost.inc(alert.offer.cost)
