"""The workflow stage's state over any mapping: customers, conversations and the timer's deadlines.

The agent passes its Faust tables (``customers``: customer key → :class:`CustomerState` JSON;
``conversations``: ``<customer key>/<conversation>`` → :class:`ConversationState` JSON, both as
bytes); plain dicts work the same, so the reads and writes around
:class:`~pipeline.workflow.engine.Workflow` are testable without Kafka.

:class:`Deadlines` is the timer's index of when each customer of this worker is next due a tick.
It is not a table: it is rebuilt from ``customers`` after start and after every rebalance (this
worker may then own other customers), and kept current by every state write in between.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from datetime import datetime

from pipeline.contracts.table_values import TableValueTooLarge, check_table_value
from pipeline.metrics import Metrics
from pipeline.offers.decide import OfferBudget
from pipeline.workflow.config import WorkflowRules
from pipeline.workflow.engine import EventOutcome, TickOutcome
from pipeline.workflow.rules import next_deadline
from pipeline.workflow.state import ConversationState, CustomerState

log = logging.getLogger("cxstream.workflow")

Table = MutableMapping[bytes, bytes]


class Deadlines:
    """When each customer is next due a tick (epoch seconds), and whether to rebuild them all."""

    def __init__(self) -> None:
        self._at: dict[str, float] = {}
        self.rescan_due = True  # at start, and after each rebalance (``rebalanced``)

    def __len__(self) -> int:
        return len(self._at)

    def remember(self, key: str, deadline: datetime | None) -> None:
        """The customer's next deadline; None forgets the customer."""
        if deadline is None:
            self._at.pop(key, None)
        else:
            self._at[key] = deadline.timestamp()

    def forget(self, key: str) -> None:
        """No tick for this customer until a state write sets a deadline again."""
        self._at.pop(key, None)

    def rebalanced(self) -> None:
        """This worker's customers may have changed: rebuild before the next due scan."""
        self.rescan_due = True

    def rescan(self, customers: Table, rules: WorkflowRules) -> int:
        """Rebuild every deadline from the ``customers`` table; the number of deadlines."""
        self.rescan_due = False
        self._at.clear()
        for raw_key, raw in list(customers.items()):
            try:
                state = CustomerState.model_validate_json(raw)
            except ValueError:
                continue
            self.remember(raw_key.decode(), next_deadline(state, rules))
        return len(self._at)

    def due(self, now: float) -> list[str]:
        """The customers whose deadline has passed at ``now`` (still held: ``forget`` each)."""
        return [key for key, at in self._at.items() if at <= now]


class WorkflowTables:
    """Reads and writes of the workflow state; every write keeps ``deadlines`` current."""

    def __init__(
        self,
        customers: Table,
        conversations: Table,
        deadlines: Deadlines,
        metrics: Metrics,
        budgets: Table | None = None,
    ) -> None:
        self.customers = customers
        self.conversations = conversations
        self.deadlines = deadlines
        self.metrics = metrics
        self.budgets = budgets
        """``offer_budget``: input partition → its :class:`OfferBudget` of the day (with a
        policy only); written by the events of that partition, so co-partitioned like the rest."""

    def budget(self, partition: int) -> OfferBudget | None:
        """What ``partition`` has spent on offers (its latest day), or None."""
        raw = self.budgets.get(str(partition).encode()) if self.budgets is not None else None
        return OfferBudget.model_validate_json(raw) if raw else None

    def customer(self, key: str) -> CustomerState | None:
        """The customer's state, or None for a customer this table has not seen."""
        raw = self.customers.get(key.encode())
        return CustomerState.model_validate_json(raw) if raw else None

    def conversation(self, conv_key: str) -> ConversationState | None:
        """One conversation's state (``<customer key>/<conversation>``), or None."""
        raw = self.conversations.get(conv_key.encode())
        return ConversationState.model_validate_json(raw) if raw else None

    def waiting_conversations(self, key: str, state: CustomerState) -> dict[str, ConversationState]:
        """The stored states of the conversations where the customer waits for a reply."""
        convs: dict[str, ConversationState] = {}
        for name in state.waiting:
            raw = self.conversations.get(f"{key}/{name}".encode())
            if raw:
                convs[name] = ConversationState.model_validate_json(raw)
        return convs

    def write_event_state(
        self, key: str, conv_key: str, outcome: EventOutcome, partition: int | None = None
    ) -> None:
        """Write the customer's and the conversation's new state; both are checked against
        the table value bound first, and if one is over it neither is written (the previous
        state stays, the event has gone on; pipeline/contracts/table_values.py)."""
        customer = outcome.customer.model_dump_json().encode()
        kept = conv_key.removeprefix(f"{key}/") in outcome.customer.conversations
        conversation = (
            outcome.conversation.model_dump_json().encode()
            if outcome.conversation is not None and kept  # a late, already-trimmed one is not
            else None
        )
        try:
            check_table_value("customers", key.encode(), customer)
            if conversation is not None:
                check_table_value("conversations", conv_key.encode(), conversation)
        except TableValueTooLarge as exc:
            log.error("workflow state of %s not written: %s", key, exc)
            self.metrics.processing_errors.labels(stage="workflow").inc()
            return
        self.customers[key.encode()] = customer
        if conversation is not None:
            self.conversations[conv_key.encode()] = conversation
        for name in outcome.dropped_conversations:
            self.conversations.pop(f"{key}/{name}".encode(), None)
        if outcome.budget is not None and self.budgets is not None and partition is not None:
            self.budgets[str(partition).encode()] = outcome.budget.model_dump_json().encode()
        self.deadlines.remember(key, outcome.deadline)

    def write_tick_state(self, key: str, outcome: TickOutcome) -> None:
        """Write what a tick changed: the customer (if anything changed), idle conversations
        dropped, the next deadline."""
        if outcome.alerts or outcome.idle_conversations or outcome.profile is not None:
            self.customers[key.encode()] = outcome.customer.model_dump_json().encode()
        for name in outcome.idle_conversations:
            self.conversations.pop(f"{key}/{name}".encode(), None)
        self.deadlines.remember(key, outcome.deadline)
