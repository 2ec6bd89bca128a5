"""Identity resolution: every identifier of a person resolves to one stable customer key.

State lives in two mappings (Faust tables in the worker, dicts in tests):

* ``links``: ``"kind:value"`` → customer key (kinds: customer_id, user_id, email, phone,
  anonymous_id), plus ``"merged:<old key>"`` → surviving key after a merge;
* ``members``: customer key → ``{"since": epoch seconds, "ids": ["kind:value", ...]}``.

An event with no known identifier gets a new key derived from its strongest identifier (so a
replay yields the same key). An event that carries identifiers of two existing keys proves they
are one person: the older key survives (ties: the smaller string), every identifier of the other
key is moved to it, and an :class:`IdentityLink` records the merge. Interactions already emitted
keep the key they were emitted with; consumers map old keys through ``cx.identity``.

**Bounded per customer.** ``members`` holds one value per customer, written to a changelog
topic whose records are limited (:mod:`pipeline.contracts.table_values`), so it keeps at most
``max_identifiers`` identifiers (``CXSTREAM_MAX_IDENTIFIERS_PER_CUSTOMER``): the strongest
kinds first (customer_id, user_id, email, phone, then anonymous_id) and, within a kind, the
most recently linked to the key (a list's order is the order identifiers were linked; an
evicted identifier seen again is linked again, as the most recent). An evicted identifier keeps
its ``links`` entry, so it still resolves to its customer; it just no longer moves when its key
is merged, and resolves through the ``merged:`` chain instead (:meth:`IdentityResolver.lookup`).
Identifiers longer than :data:`MAX_IDENTIFIER_CHARS` are refused (:class:`IdentifierTooLong`):
standardise rejects them first, as a schema violation.

Worst case of a ``members`` value (Faust's JSON escapes non-ASCII, ≤ 12 bytes a character):
``"anonymous_id:" + 256 characters`` is ≤ 3,088 bytes in the list, so with N identifiers the
record (24-byte key included) is ≤ 3,088 x N + 60 bytes: 308,860 at the default N = 100 and
772,060 at the largest allowed N = 250, under ``MAX_TABLE_VALUE_BYTES`` (900,000); the
resolver checks each value before writing it all the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.contracts.records import Identifiers, IdentityLink
from pipeline.contracts.table_values import check_table_value

MERGED = "merged:"
MEMBERS_TABLE = "identity-members"
MAX_IDENTIFIER_CHARS = 256
"""Longest identifier value (characters) the resolver links; the input contract's limit."""
DEFAULT_MAX_IDENTIFIERS = 100
STRENGTH = ("customer_id", "user_id", "email", "phone", "anonymous_id")
"""Identifier kinds, strongest first: the order in which they survive eviction."""


class IdentifierTooLong(ValueError):
    """An identifier longer than :data:`MAX_IDENTIFIER_CHARS` reached the resolver."""


def new_customer_key(identifier: str) -> str:
    """Deterministic key for a person first seen with ``identifier`` (``kind:value``)."""
    return "cus_" + hashlib.sha256(identifier.encode()).hexdigest()[:20]


def strength(identifier: str) -> int:
    """Rank of an identifier's kind: 0 for the strongest (customer_id)."""
    kind = identifier.partition(":")[0]
    return STRENGTH.index(kind) if kind in STRENGTH else len(STRENGTH)


def keep_strongest(ids: list[str], limit: int) -> tuple[list[str], list[str]]:
    """``(kept, evicted)``: the ``limit`` strongest of ``ids`` (oldest first), latest of a kind
    winning; both lists keep the order of ``ids``."""
    if len(ids) <= limit:
        return list(ids), []
    # later in the list = linked more recently: rank by kind, then newest first
    ranked = sorted(range(len(ids)), key=lambda i: (strength(ids[i]), -i))
    survivors = set(ranked[:limit])
    kept = [ident for i, ident in enumerate(ids) if i in survivors]
    evicted = [ident for i, ident in enumerate(ids) if i not in survivors]
    return kept, evicted


@dataclass
class Resolution:
    """The key of one event, the merges it proved, and what it changed in the identity state.

    ``evicted`` counts the identifiers this event pushed out of the key's ``members`` (they stay
    linked): the ``cxstream_identity_evictions_total`` metric.
    """

    customer_key: str
    merges: list[IdentityLink] = field(default_factory=list)
    new_identifiers: list[str] = field(default_factory=list)
    evicted: int = 0


class IdentityResolver:
    """Links identifiers to customer keys over two mutable mappings."""

    def __init__(
        self,
        links: MutableMapping[str, Any],
        members: MutableMapping[str, Any],
        *,
        max_identifiers: int = DEFAULT_MAX_IDENTIFIERS,
    ) -> None:
        if max_identifiers < len(STRENGTH):
            raise ValueError(f"max_identifiers must be ≥ {len(STRENGTH)}, not {max_identifiers}")
        self.links = links
        self.members = members
        self.max_identifiers = max_identifiers

    def lookup(self, key_or_identifier: str) -> str | None:
        """The current key for an identifier (``kind:value``) or for an old, merged key."""
        if key_or_identifier in self.members:
            return key_or_identifier
        found = self.links.get(key_or_identifier) or self.links.get(MERGED + key_or_identifier)
        seen: set[str] = set()
        while found and found not in self.members and found not in seen:
            seen.add(str(found))
            found = self.links.get(MERGED + str(found))
        return str(found) if found else None

    def resolve(self, ids: Identifiers, interaction_id: str, now: float) -> Resolution:
        """Key for an event's identifiers; links new ones and merges keys they prove equal.

        Everything is decided first and written last, so an oversize ``members`` value
        (:class:`~pipeline.contracts.table_values.TableValueTooLarge`) leaves the state untouched.
        """
        pairs = ids.pairs()
        if not pairs:
            raise ValueError("an event without identifiers cannot be resolved")
        for kind, value in pairs:
            if len(value) > MAX_IDENTIFIER_CHARS:
                raise IdentifierTooLong(
                    f"{kind} of {len(value)} characters exceeds the {MAX_IDENTIFIER_CHARS}-"
                    "character identifier limit"
                )
        idents = [f"{kind}:{value}" for kind, value in pairs]
        # Through lookup, not links: an evicted identifier may still point at a merged key.
        current = {ident: self.lookup(ident) for ident in idents}
        known: list[str] = []
        for ident in idents:
            found = current[ident]
            if found and found not in known:
                known.append(found)
        if not known:
            key = new_customer_key(idents[0])
            before: dict[str, Any] | None = None
            since = now
        else:
            key = min(known, key=lambda k: (self._since(k), k))
            before = self.members.get(key)
            since = float(before["since"]) if before else now
        losers = [k for k in known if k != key]
        moved = {loser: list((self.members.get(loser) or {}).get("ids", [])) for loser in losers}
        held = list(before["ids"]) if before else []
        ids_of_key = list(held)
        for loser in losers:
            ids_of_key += [i for i in moved[loser] if i not in ids_of_key]
        ids_of_key += [i for i in idents if i not in ids_of_key]
        kept, evicted = keep_strongest(ids_of_key, self.max_identifiers)
        record = {"since": since, "ids": kept}
        changed = before is None or kept != held or bool(losers)
        if changed:
            check_table_value(MEMBERS_TABLE, key, record)

        result = Resolution(customer_key=key, evicted=len(evicted))
        for loser in losers:
            result.merges.append(self._merge(loser, key, moved[loser], interaction_id, now))
        for ident in idents:
            if self.links.get(ident) != key:  # new, or reached through a merged key: link directly
                self.links[ident] = key
            if current[ident] is None:
                result.new_identifiers.append(ident)
        if changed:
            self.members[key] = record
        return result

    def _since(self, key: str) -> float:
        record = self.members.get(key)
        return float(record["since"]) if record else float("inf")

    def _merge(
        self, loser: str, survivor: str, moved: list[str], interaction_id: str, now: float
    ) -> IdentityLink:
        """Point the loser's identifiers and the loser itself at the survivor."""
        for ident in moved:
            self.links[ident] = survivor
        self.members.pop(loser, None)
        self.links[MERGED + loser] = survivor
        return IdentityLink(
            merged_key=loser,
            customer_key=survivor,
            identifiers=moved,
            interaction_id=interaction_id,
            linked_at=datetime.fromtimestamp(now, tz=UTC),
        )
