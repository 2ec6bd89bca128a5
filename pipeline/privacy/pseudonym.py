"""Pseudonyms: identifiers replaced by a keyed hash, so consumers never see contact data.

``HMAC-SHA256(key, "kind:value")`` of the *normalised* identifier (case-folded email, E.164
phone: the standardise stage normalises first), written ``ps_`` + 32 hex digits (128 bits). The
same person always gets the same pseudonym under one key, so identity resolution, dedupe and
profiles work unchanged on pseudonyms; without the key nobody can compute one from an address
(a plain hash of an email can be reversed by hashing a list of addresses). The kind is part of
the message, so an email and a user id that happen to be equal strings get different pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import SecretStr

from pipeline.contracts.records import Identifiers

PREFIX = "ps_"
HEX_CHARS = 32


class Pseudonymiser:
    """Keyed, stable pseudonyms for identifiers (and for contact fields copied elsewhere)."""

    def __init__(self, key: SecretStr) -> None:
        self._key = key.get_secret_value().encode()

    def pseudonym(self, kind: str, value: str) -> str:
        """The pseudonym of one normalised identifier of ``kind`` (email, phone, user_id, …)."""
        digest = hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return PREFIX + digest[:HEX_CHARS]

    def identifiers(self, ids: Identifiers) -> Identifiers:
        """``ids`` with every value replaced by its pseudonym."""
        return Identifiers(**{kind: self.pseudonym(kind, value) for kind, value in ids.pairs()})

    def fields(self, record: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
        """``record`` with the values of ``names`` (when present and not null) pseudonymised,
        each as a value of its own field name (``traits.email`` is not ``identifiers.email``)."""
        hidden = {n: self.pseudonym(n, str(v)) for n in names if (v := record.get(n)) is not None}
        return {**record, **hidden}
