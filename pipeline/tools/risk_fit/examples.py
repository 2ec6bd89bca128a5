"""Decision-time examples from a replayed history: features then, outcomes after.

The history (``cx.enriched`` records, outcome ``track`` events among them) is replayed through
the workflow stage's own pure core in event-time order, one customer state per key, exactly as
the worker would fold it. At each scored customer message (a *decision*) the features are taken
from the state at that moment, before any later record is folded in: features cannot see the
future by construction, and ``check_no_leakage`` verifies it by cutting the history.

Labels look forward from the decision time ``t``:

* ``churned``: a churn outcome (``CHURN_EVENTS``) of the customer in ``(t, t + churn horizon]``;
* ``escalated``: an alert of ``ESCALATION_ALERTS`` opened for the customer in
  ``(t, t + escalation horizon]`` (cxstream's own alerts are the escalation outcomes).

A decision whose horizon runs past the end of the history has no known label and is left out
(right-censoring); so are decisions after the customer's churn.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.contracts.records import Enriched
from pipeline.contracts.risk import CHURN_EVENTS
from pipeline.contracts.workflow import Profile
from pipeline.risk.features import features_of
from pipeline.workflow.config import WorkflowRules
from pipeline.workflow.engine import Workflow
from pipeline.workflow.state import ConversationState, CustomerState, conversation_of

ESCALATION_ALERTS = frozenset({"urgent_message", "negative_streak", "churn_signal", "vip_at_risk"})

FeatureFn = Callable[[Profile, Enriched], dict[str, float]]


@dataclass(frozen=True)
class Example:
    """One decision: a customer message, its features then, and what followed."""

    customer_key: str
    interaction_id: str
    at: datetime
    features: dict[str, float]
    churned: bool
    escalated: bool


@dataclass(frozen=True)
class Decision:
    """A decision before labelling."""

    customer_key: str
    interaction_id: str
    at: datetime
    features: dict[str, float]


def replay(
    events: Iterable[Enriched], rules: WorkflowRules, features: FeatureFn = features_of
) -> tuple[list[Decision], dict[str, list[datetime]], dict[str, list[datetime]]]:
    """Fold ``events`` in event-time order; the decisions, churn times and escalation times
    per customer."""
    workflow = Workflow(rules)
    customers: dict[str, CustomerState] = {}
    conversations: dict[str, ConversationState] = {}
    decisions: list[Decision] = []
    churns: dict[str, list[datetime]] = {}
    escalations: dict[str, list[datetime]] = {}
    for event in sorted(events, key=lambda e: (e.occurred_at, e.interaction_id)):
        key = event.customer_key or event.interaction_id
        if event.event_name in CHURN_EVENTS:
            churns.setdefault(key, []).append(event.occurred_at)
        conv_key = f"{key}/{conversation_of(event)}"
        outcome = workflow.on_event(event, customers.get(key), conversations.get(conv_key))
        customers[key] = outcome.customer
        if outcome.conversation is not None:
            conversations[conv_key] = outcome.conversation
        for alert in outcome.alerts:
            if alert.status == "opened" and alert.type in ESCALATION_ALERTS:
                escalations.setdefault(key, []).append(alert.opened_at)
        if outcome.duplicate or outcome.profile is None:
            continue
        if event.author_role == "customer" and event.scored:
            decisions.append(
                Decision(
                    key,
                    event.interaction_id,
                    event.occurred_at,
                    features(outcome.profile, event),
                )
            )
    return decisions, churns, escalations


def _within(times: list[datetime], start: datetime, horizon: timedelta) -> bool:
    """Is there a time in ``(start, start + horizon]``? (``times`` sorted)"""
    i = bisect.bisect_right(times, start)
    return i < len(times) and times[i] <= start + horizon


def build_examples(
    events: Iterable[Enriched],
    rules: WorkflowRules,
    churn_horizon: timedelta,
    escalation_horizon: timedelta,
    features: FeatureFn = features_of,
) -> list[Example]:
    """Labelled decision-time examples, oldest first (module docstring)."""
    history = list(events)
    if not history:
        return []
    end = max(e.occurred_at for e in history)
    decisions, churns, escalations = replay(history, rules, features)
    examples: list[Example] = []
    for d in decisions:
        churn_times = sorted(churns.get(d.customer_key, []))
        if churn_times and churn_times[0] < d.at:
            continue  # already gone
        if d.at + max(churn_horizon, escalation_horizon) > end:
            continue  # outcome not observable yet
        examples.append(
            Example(
                d.customer_key,
                d.interaction_id,
                d.at,
                d.features,
                churned=_within(churn_times, d.at, churn_horizon),
                escalated=_within(
                    sorted(escalations.get(d.customer_key, [])),
                    d.at,
                    escalation_horizon,
                ),
            )
        )
    return examples


def check_no_leakage(
    events: list[Enriched],
    rules: WorkflowRules,
    cutoff: datetime,
    features_for: Callable[[list[Enriched]], FeatureFn] = lambda _history: features_of,
) -> list[str]:
    """Decisions up to ``cutoff`` whose features change when the history after ``cutoff`` is
    removed (empty: no leakage).

    ``features_for`` makes the feature function for a given history (the live one ignores the
    history; a batch feature that reads the whole history, the usual way the future leaks in,
    gives different values for the two)."""
    cut_history = [e for e in events if e.occurred_at <= cutoff]
    full, _, _ = replay(events, rules, features_for(events))
    cut, _, _ = replay(cut_history, rules, features_for(cut_history))
    then = {d.interaction_id: d.features for d in cut}
    return [
        d.interaction_id
        for d in full
        if d.at <= cutoff and then.get(d.interaction_id) != d.features
    ]
