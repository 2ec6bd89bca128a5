"""The workflow stage's pure core: one enriched interaction (or one timer tick) in, state out.

The Faust agent (``pipeline/workflow/agent.py``) only loads state from its tables, calls these
functions, writes the state back and sends what they return; everything here is testable
without Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.contracts.records import Enriched
from pipeline.contracts.risk import RiskAssessment
from pipeline.contracts.workflow import Alert, Profile, Routing
from pipeline.offers.decide import OfferBudget, OfferFacts, choose_offer
from pipeline.offers.policy import OfferPolicy
from pipeline.replies.library import ReplyTemplates
from pipeline.risk.features import PURCHASE_WINDOW, features_of
from pipeline.risk.model import PRIOR, RiskModel
from pipeline.workflow import lifecycle
from pipeline.workflow.actions import rank_actions
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
    budget: OfferBudget | None = None
    """The partition's offer budget after an offer was made (None: unchanged)."""


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


OFFER_ALERTS = frozenset({"churn_signal", "vip_at_risk"})
"""The alerts an offer may be attached to, when they open."""


def _with_risk(alerts: list[Alert], risk: RiskAssessment | None) -> list[Alert]:
    """The alerts as sent: each carries the customer's latest risk (the stored alerts do not,
    which keeps the ``customers`` record's byte bound)."""
    return [a.model_copy(update={"risk": risk}) for a in alerts] if risk else alerts


class Workflow:
    """Routing, alert rules, risk and profiles for one rules file and one risk model."""

    def __init__(
        self,
        rules: WorkflowRules,
        risk: RiskModel = PRIOR,
        offers: OfferPolicy | None = None,
        partitions: int = 1,
        templates: ReplyTemplates | None = None,
    ) -> None:
        self.rules = rules
        self.risk = risk
        self.offers = offers
        self.partitions = partitions
        self.templates = templates

    def on_event(
        self,
        event: Enriched,
        customer: CustomerState | None,
        conversation: ConversationState | None,
        budget: OfferBudget | None = None,
    ) -> EventOutcome:
        """Route one interaction, fold it into state, run the rules, apply the lifecycle,
        assess the risk and, when a churn alert opens, choose an offer under ``budget`` (this
        partition's spend today)."""
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
        if event.author_role == "customer" and event.scored:
            routed = self._assess(state, routed)
        alerts = _with_risk(alerts, state.risk)
        spent: OfferBudget | None = None
        if self.offers is not None:
            alerts, spent = self._offer(self.offers, state, routed, alerts, budget)
        alerts = [
            a.model_copy(update={"actions": rank_actions(a, routed, self.templates)})
            for a in alerts
        ]
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
            budget=spent,
        )

    def _offer(
        self,
        policy: OfferPolicy,
        state: CustomerState,
        event: Enriched,
        alerts: list[Alert],
        budget: OfferBudget | None,
    ) -> tuple[list[Alert], OfferBudget | None]:
        """The best eligible offer on the churn alert this message opened, if any."""
        opened = next((a for a in alerts if a.status == "opened" and a.type in OFFER_ALERTS), None)
        if opened is None or state.risk is None:
            return alerts, None
        s = event.scores
        at = event.occurred_at
        facts = OfferFacts(
            churn=state.risk.churn_risk,
            tier=state.tier,
            intent=s.intent.label if s and s.intent else state.last_intent,
            recent_purchase=state.last_purchase_at is not None
            and at - state.last_purchase_at <= PURCHASE_WINDOW,
            high_stakes=tuple(event.routing.high_stakes if event.routing else ()),
            opted_out=state.opted_out,
            last_offer_at=state.last_offer_at,
        )
        choice = choose_offer(policy, self.partitions, facts, budget, at)
        if choice.suggestion is None:
            return alerts, None
        state.last_offer_at = at
        offered = opened.model_copy(update={"offer": choice.suggestion})
        return [offered if a is opened else a for a in alerts], choice.budget

    def _assess(self, state: CustomerState, routed: Enriched) -> Enriched:
        """Both risks as of this customer message, kept on the state (so on the profile); the
        event's provenance names the risk model."""
        features = features_of(profile_of(state), routed)
        state.risk = self.risk.assess(features, routed.occurred_at, routed.interaction_id)
        if routed.ai is None:
            return routed
        ai = routed.ai.model_copy(update={"risk_model": self.risk.version})
        return routed.model_copy(update={"ai": ai})

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
        sent = [
            a.model_copy(update={"actions": rank_actions(a, None, None)})
            for a in _with_risk(alerts, customer.risk)
        ]
        return TickOutcome(
            customer,
            sent,
            idle,
            profile_of(customer) if changed else None,
            deadline=next_deadline(customer, self.rules),
            suppressed=suppressed,
        )
