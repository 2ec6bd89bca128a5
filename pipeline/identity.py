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
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.records import Identifiers, IdentityLink

MERGED = "merged:"


def new_customer_key(identifier: str) -> str:
    """Deterministic key for a person first seen with ``identifier`` (``kind:value``)."""
    return "cus_" + hashlib.sha256(identifier.encode()).hexdigest()[:20]


@dataclass
class Resolution:
    customer_key: str
    merges: list[IdentityLink] = field(default_factory=list)
    new_identifiers: list[str] = field(default_factory=list)


class IdentityResolver:
    """Links identifiers to customer keys over two mutable mappings."""

    def __init__(self, links: MutableMapping[str, Any], members: MutableMapping[str, Any]) -> None:
        self.links = links
        self.members = members

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
        """Key for an event's identifiers; links new ones and merges keys they prove equal."""
        idents = [f"{kind}:{value}" for kind, value in ids.pairs()]
        if not idents:
            raise ValueError("an event without identifiers cannot be resolved")
        known: list[str] = []
        for ident in idents:
            key = self.links.get(ident)
            if key and key not in known:
                known.append(str(key))
        result = Resolution(customer_key="")
        if not known:
            key = new_customer_key(idents[0])
            self.members[key] = {"since": now, "ids": []}
        else:
            key = min(known, key=lambda k: (self._since(k), k))
            for loser in known:
                if loser != key:
                    result.merges.append(self._merge(loser, key, interaction_id, now))
        result.customer_key = key
        record = dict(self.members.get(key) or {"since": now, "ids": []})
        ids_of_key = list(record["ids"])
        for ident in idents:
            if self.links.get(ident) != key:
                self.links[ident] = key
                result.new_identifiers.append(ident)
            if ident not in ids_of_key:
                ids_of_key.append(ident)
        if ids_of_key != record["ids"]:
            record["ids"] = ids_of_key
            self.members[key] = record
        return result

    def _since(self, key: str) -> float:
        record = self.members.get(key)
        return float(record["since"]) if record else float("inf")

    def _merge(self, loser: str, survivor: str, interaction_id: str, now: float) -> IdentityLink:
        moved = list((self.members.get(loser) or {}).get("ids", []))
        for ident in moved:
            self.links[ident] = survivor
        record = dict(self.members.get(survivor) or {"since": now, "ids": []})
        record["ids"] = list(record["ids"]) + [i for i in moved if i not in record["ids"]]
        self.members[survivor] = record
        self.members.pop(loser, None)
        self.links[MERGED + loser] = survivor
        return IdentityLink(
            merged_key=loser,
            customer_key=survivor,
            identifiers=moved,
            interaction_id=interaction_id,
            linked_at=datetime.fromtimestamp(now, tz=UTC),
        )
