"""Forgetting a customer in the resolve stage's state (pure, over plain mappings).

The resolve stage owns identity (``links``, ``members``) and dedupe (``seen_ids``,
``recent_texts``) in one partition, so it is where an erasure request starts: it turns the
request's identifier into the person's customer keys, removes their identity and near-duplicate
state here, and names the keys the workflow stage must erase (each on the partition that owns
it, see docs/architecture.md §14).

What belongs to a person:

* **keys**: the current key of the identifier, and every older key merged into it (the
  ``merged:<old>`` links, followed transitively);
* **identity links**: every ``kind:value`` whose link points at one of those keys, found by one
  scan of ``links``: identifiers evicted from ``members`` keep their link (identity.py), so
  ``members`` alone would miss them. The scan is O(links); erasures are rare and the cost is
  measured in docs/architecture.md §14;
* **members** of every key, and the ``merged:`` links of the old keys;
* **near-duplicate texts** (``recent_texts``): entries stored under one of the keys or one of
  the identifiers (``<key or kind:value>:<fingerprint>``). The table is bounded by rate x
  window, so one scan of it is bounded too.

``seen_ids`` entries are kept on purpose: they hold a channel + source message id, an
interaction id (a hash) and a payload digest, no identifier and no key, and expire within
``CXSTREAM_DEDUPE_WINDOW_S``; keeping them means a redelivered old message is still dropped as
a duplicate instead of bringing the forgotten customer back.

Erasing twice is harmless: the second time nothing is found.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from pydantic import ValidationError

from pipeline.contracts.privacy import ErasedKind, ErasureRequest
from pipeline.contracts.records import ReasonCode
from pipeline.resolve.identity import MERGED, IdentityResolver

Pseudonym = Callable[[str, str], str]
"""``(kind, normalised value) → pseudonym`` when identifiers are pseudonymised (settings)."""


class MalformedErasure(ValueError):
    """A request that names its subject in a form the pipeline never stores."""


def refusal(payload: bytes, exc: Exception) -> tuple[ReasonCode, str]:
    """The dead-letter reason code and reason of a request that cannot be carried out; the
    reason names the fields and never quotes their values (they are personal data)."""
    if not payload:
        return ReasonCode.EMPTY_PAYLOAD, "erasure request without a value (a tombstone)"
    if not isinstance(exc, ValidationError):
        return ReasonCode.SCHEMA_VIOLATION, f"erasure request refused: {exc}"
    errors = exc.errors(include_input=False, include_url=False)
    kinds = {str(e["type"]) for e in errors}
    code = ReasonCode.SCHEMA_VIOLATION
    if "json_invalid" in kinds:
        code = ReasonCode.INVALID_JSON
    elif "model_type" in kinds:
        code = ReasonCode.NOT_AN_OBJECT
    described = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'request'}: {e['msg']}" for e in errors
    )
    return code, f"erasure request refused: {described}"


def subject_identifier(request: ErasureRequest, pseudonym: Pseudonym | None = None) -> str:
    """The request's subject as the identity tables hold it: ``kind:value`` (email
    case-folded, phone checked to be E.164, pseudonymised when a key is set), or the customer
    key itself.

    Raises :class:`MalformedErasure` for a phone number that is not E.164: the worker has no
    region to read a national number in, and a wrong reading would erase someone else.
    """
    kind, value = request.subject
    if kind == "customer_key":
        return value
    value = value.strip()
    if kind == "email":
        if "@" not in value:
            raise MalformedErasure("email is not an address (no '@')")
        value = value.lower()
    if kind == "phone":
        value = _e164(value)
    if pseudonym is not None:
        value = pseudonym(kind, value)
    return f"{kind}:{value}"


def _e164(value: str) -> str:
    problem = "phone must be E.164 (+ country code and digits, e.g. +442079460958)"
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise MalformedErasure(problem) from exc
    e164 = str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    if e164 != value or not phonenumbers.is_valid_number(number):
        raise MalformedErasure(problem)
    return e164


@dataclass
class ResolveErasure:
    """What the resolve stage removed for one request, and the keys the workflow must erase."""

    customer_keys: list[str] = field(default_factory=list)
    """Current key first, then merged keys: each gets an order to the workflow stage and a
    tombstone on ``cx.identity``."""
    removed: dict[ErasedKind, int] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        """Whether this stage held any state of the person (tombstones do not count)."""
        return any(n for kind, n in self.removed.items() if not kind.endswith("_tombstones"))

    def summary(self) -> str:
        """The decision in words, with its numbers."""
        if not self.customer_keys:
            return "no customer found for this identifier: nothing removed"
        if not self.found:
            return (
                "no identity or dedupe state for this customer key: nothing removed here; "
                "the workflow erases the key"
            )
        counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in self.removed.items())
        return (
            f"{len(self.customer_keys)} customer key(s) ({len(self.customer_keys) - 1} merged "
            f"into the current one): removed {counts or 'nothing'}; the workflow erases each key"
        )


class IdentityEraser:
    """Removes one person's identity and near-duplicate state from the resolve tables."""

    def __init__(
        self,
        links: MutableMapping[str, Any],
        members: MutableMapping[str, Any],
        recent_texts: MutableMapping[str, Any],
    ) -> None:
        self.links = links
        self.members = members
        self.recent_texts = recent_texts
        self.identity = IdentityResolver(links, members)

    def keys_of(self, subject: str, *, is_key: bool) -> list[str]:
        """The person's current key and every key merged into it (current first); empty when
        the identifier is unknown. A customer key nobody links is still returned: the
        workflow may hold state under it."""
        current = self.identity.lookup(subject)
        if current is None:
            return [subject] if is_key else []
        merged_into: dict[str, str] = {
            str(ident).removeprefix(MERGED): str(target)
            for ident, target in self.links.items()
            if str(ident).startswith(MERGED)
        }
        keys = [current]
        for key in keys:  # grows while it is walked: old keys of old keys
            keys += [old for old, new in merged_into.items() if new == key and old not in keys]
        if is_key and subject not in keys:
            keys.append(subject)
        return keys

    def erase(self, subject: str, *, is_key: bool) -> ResolveErasure:
        """Remove everything of the person ``subject`` names (``kind:value`` or a key)."""
        keys = self.keys_of(subject, is_key=is_key)
        result = ResolveErasure(customer_keys=keys)
        if not keys:
            return result
        owned = set(keys)
        linked = [
            str(ident)
            for ident, target in self.links.items()
            if str(target) in owned and not str(ident).startswith(MERGED)
        ]
        merged = [MERGED + key for key in keys if MERGED + key in self.links]
        for ident in linked + merged:
            del self.links[ident]
        identifiers = set(linked)
        members = [key for key in keys if key in self.members]
        for key in members:
            identifiers.update(self.members[key].get("ids", []))
            del self.members[key]
        prefixes = owned | identifiers
        texts = [k for k in self.recent_texts if str(k).rpartition(":")[0] in prefixes]
        for text_key in texts:
            del self.recent_texts[text_key]
        result.removed = {
            "identity_links": len(linked),
            "merged_keys": len(merged),
            "identity_members": len(members),
            "dedupe_texts": len(texts),
        }
        return result
