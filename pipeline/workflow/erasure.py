"""Forgetting a customer in the workflow stage's state (pure, over plain mappings).

The resolve stage sends one erasure order per customer key (the current one and every key
merged into it), keyed by that key on ``cx.internal.scored``, so the order reaches the worker
that owns the key's partition, in order with the customer's own events. Here the order removes
the key's ``customers`` record and every ``conversations`` record of it: the customer state
lists its conversations (``CustomerState.conversations`` and ``waiting``; every other
conversation record was removed when it left that list), so no scan of the table is needed.

Erasing twice is harmless: the second time nothing is found.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field

from pipeline.contracts.privacy import ErasedKind
from pipeline.workflow.state import CustomerState

Table = MutableMapping[bytes, bytes]


@dataclass
class WorkflowErasure:
    """What the workflow stage removed for one customer key."""

    removed: dict[ErasedKind, int] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        """Whether this stage held any state of the key (the tombstone does not count)."""
        return bool(self.removed.get("customers") or self.removed.get("conversations"))

    def summary(self) -> str:
        """The decision in words, with its numbers."""
        if not self.found:
            return "no workflow state for this customer key: nothing removed; profile tombstoned"
        return (
            f"removed the customer state and {self.removed.get('conversations', 0)} "
            "conversation(s); profile tombstoned"
        )


def erase_customer(customers: Table, conversations: Table, key: str) -> WorkflowErasure:
    """Remove the state of customer ``key`` from both tables."""
    raw = customers.get(key.encode())
    names: set[str] = set()
    if raw:
        state = CustomerState.model_validate_json(raw)
        names = set(state.conversations) | set(state.waiting)
    gone = 0
    for name in sorted(names):
        conv_key = f"{key}/{name}".encode()
        if conv_key in conversations:
            del conversations[conv_key]
            gone += 1
    if raw is not None:
        del customers[key.encode()]
    return WorkflowErasure(
        {"customers": int(raw is not None), "conversations": gone, "profile_tombstones": 1}
    )
