"""The customer pulse: what the workflow stage counts for each routed customer message.

Sentiment, urgency and intent mix, repeat contacts and routing, by low-cardinality labels only
(channel, label, queue, priority; pipeline/metrics.py); agent and system messages are not
counted.
"""

from __future__ import annotations

from pipeline.contracts.records import Enriched
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
