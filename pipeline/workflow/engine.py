"""The workflow stage's pure core: one enriched interaction (or one timer tick) in, state out.

The Faust agent (``pipeline/workflow/agent.py``) only loads state from its tables, calls these
functions, writes the state back and sends what they return; everything here is testable
without Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.contracts.records import Enriched
from pipeline.contracts.workflow import Alert, Profile, Routing
from pipeline.workflow import lifecycle
from pipeline.workflow.config import WorkflowRules
from pipeline.workflow.routing import route
from pipeline.workflow.rules import RuleInput, evaluate, next_deadline, waiting_sla
from pipeline.workflow.state import (
    CONVERSATION_IDLE,
    ConversationState,
    CustomerState,
    apply_traits,
    conversation_entity,
    profile_of,
    record_event,
    unprofiled,
)


@dataclass
class EventOutcome:
    """What one interaction produced."""

    enriched: Enriched
    customer: CustomerState
    conversation: ConversationState | None
    alerts: list[Alert] = field(default_factory=list)
    profile: Profile | None = None
    duplicate: bool = False
    deadline: datetime | None = None
    dropped_conversations: list[str] = field(default_factory=list)
    repeat_contact: bool = False
    suppressed: int = 0
    profile_withdrawn: bool = False
    """The customer has just refused profiling: their profile is tombstoned."""


@dataclass
class TickOutcome:
    """What one timer tick produced for one customer."""

    customer: CustomerState
    alerts: list[Alert] = field(default_factory=list)
    idle_conversations: list[str] = field(default_factory=list)
    profile: Profile | None = None
    deadline: datetime | None = None
    suppressed: int = 0


def _no_route(rules: WorkflowRules, reason: str) -> Routing:
    return Routing(
        queue=rules.routing.default_queue,
        priority="P3",
        reason=reason,
        human_only=False,
        rules_version=f"{rules.version}@{rules.fingerprint}",
    )


def _is_repeat_contact(before: dict[str, datetime], state: CustomerState, event: Enriched) -> bool:
    """A new contact (conversation, call, thread) from a customer seen within the last 24 h."""
    added = [c for c in state.contacts if c.conversation not in before]
    if not added:
        return False
    window = timedelta(hours=24)
    return any(timedelta(0) <= event.occurred_at - at <= window for at in before.values())


class Workflow:
    """Routing, alert rules and profiles for one rules file."""

    def __init__(self, rules: WorkflowRules) -> None:
        self.rules = rules

    def on_event(
        self,
        event: Enriched,
        customer: CustomerState | None,
        conversation: ConversationState | None,
    ) -> EventOutcome:
        """Route one interaction, fold it into state, run the rules, apply the lifecycle."""
        key = event.customer_key or event.interaction_id
        state = customer or CustomerState.new(key, event.occurred_at)
        if event.interaction_id in state.seen:  # redelivered: same routing, no state change
            routed = event.model_copy(update={"routing": route(event, state.tier, self.rules)})
            return EventOutcome(routed, state, conversation, duplicate=True)
        profiled_before = customer is not None and customer.profiling
        apply_traits(state, event, self.rules)
        if not state.profiling:
            return self._unprofiled(event, state, withdrawn=profiled_before)
        known = set(state.conversations)
        contacts_before = {c.conversation: c.at for c in state.contacts}
        suppressed_before = state.alerts_suppressed
        conv = record_event(state, conversation, event, self.rules)
        dropped = sorted(known - set(state.conversations))
        routing = route(event, state.tier, self.rules)
        routed = event.model_copy(update={"routing": routing})
        if conv is not None and routing is not None and event.author_role == "customer":
            conv.last_queue = routing.queue
            conv.last_human_only = routing.human_only
        outcomes = evaluate(RuleInput(event, state, conv, self.rules))
        alerts: list[Alert] = []
        if outcomes:
            s = event.scores
            intent = s.intent.label if s and s.intent else state.last_intent
            sentiment = s.sentiment.label if s and s.sentiment else None
            alerts = lifecycle.apply(
                state,
                outcomes,
                at=event.occurred_at,
                route=routing or _no_route(self.rules, "event without text"),
                next_action=self.rules.playbook.action(intent, sentiment),
                rules=self.rules,
            )
        return EventOutcome(
            routed,
            state,
            conv,
            alerts,
            profile_of(state),
            deadline=next_deadline(state, self.rules),
            dropped_conversations=dropped,
            repeat_contact=_is_repeat_contact(contacts_before, state, event),
            suppressed=state.alerts_suppressed - suppressed_before,
        )

    def _unprofiled(
        self, event: Enriched, state: CustomerState, *, withdrawn: bool
    ) -> EventOutcome:
        """A customer who refused profiling: routed, but no profile, no alerts, no history.
        When consent has just been withdrawn, open alerts are resolved and the conversations
        and the profile go."""
        routed = event.model_copy(update={"routing": route(event, state.tier, self.rules)})
        reason = "the customer withdrew consent to profiling"
        closed = lifecycle.close_all(state, reason, event.occurred_at) if withdrawn else []
        return EventOutcome(
            routed,
            unprofiled(state, event),
            None,
            closed,
            dropped_conversations=sorted(set(state.conversations) | set(state.waiting)),
            profile_withdrawn=withdrawn,
        )

    def on_tick(
        self,
        customer: CustomerState,
        conversations: dict[str, ConversationState],
        now: datetime,
    ) -> TickOutcome:
        """Timer work for one customer: SLA breaches, alert expiry, idle conversations."""
        suppressed_before = customer.alerts_suppressed
        alerts = lifecycle.expire(customer, now, self.rules)
        signals = waiting_sla(customer, now, self.rules)
        prefix = conversation_entity(customer.customer_key, "")
        for signal in signals:
            # Not rsplit("/"): an email thread id (a Message-ID) may itself contain "/".
            conv = conversations.get(signal.entity.removeprefix(prefix))
            queue = conv.last_queue if conv and conv.last_queue else None
            human_only = bool(conv and conv.last_human_only)
            routing = Routing(
                queue=queue or self.rules.routing.default_queue,
                priority="P2",
                reason=f"waiting beyond SLA → P2 in {queue or self.rules.routing.default_queue}"
                + (" (human only, as the waiting message)" if human_only else ""),
                human_only=human_only,
                rules_version=f"{self.rules.version}@{self.rules.fingerprint}",
            )
            alerts += lifecycle.apply(
                customer,
                [signal],
                at=now,
                route=routing,
                next_action="reply now: the customer is waiting beyond the SLA",
                rules=self.rules,
            )
        idle = [
            name
            for name, last in customer.conversations.items()
            if now - last >= CONVERSATION_IDLE and name not in customer.waiting
        ]
        for name in idle:
            customer.conversations.pop(name, None)
        changed = bool(alerts or idle)
        suppressed = customer.alerts_suppressed - suppressed_before
        return TickOutcome(
            customer,
            alerts,
            idle,
            profile_of(customer) if changed else None,
            deadline=next_deadline(customer, self.rules),
            suppressed=suppressed,
        )
