"""The size bound of every table record the worker writes, and the check made before writing.

A Faust table writes each change to its changelog topic as one Kafka record (key + value). A
record the broker or the producer refuses stops the worker with the local store ahead of its
changelog (issue 20: one customer's ``identity-members`` value reached 1,080,292 bytes). The
limits are the producer's ``max_request_size`` (1,000,000 bytes, Faust's default) and the
topic's ``max.message.bytes`` (1,048,588, Kafka's default). :data:`MAX_TABLE_VALUE_BYTES`
stays 100,000 bytes under the smaller one: the record and batch headers take about 100.

Each table is bounded by construction; the numbers below are the worst cases (key + value, as
serialised: Faust's JSON for the resolve tables escapes every non-ASCII character, so a
character costs up to 12 bytes there; pydantic's JSON for the workflow tables writes UTF-8, up
to 4 bytes a character). Identifiers are at most ``MAX_IDENTIFIER_CHARS`` (256) characters.

=====================  =====================================================  =============
table                  what bounds it                                         worst case
=====================  =====================================================  =============
``identity-members``   N = ``max_identifiers_per_customer`` (≤ 250)            3,088 N + 60
                       identifiers of ≤ 3,088 bytes each                      (N = 100:
                       (:mod:`pipeline.resolve.identity`)                             308,860;
                                                                              N = 250:
                                                                              772,060)
``identity-links``     one identifier key (≤ 1,037 bytes) → a customer key     1,063
``dedupe-ids``         source message id key + four short fields              id + ~450
``dedupe-texts``       identifier + fingerprint key + three short fields      ~1,200
``customers``          caps of :mod:`pipeline.workflow.state`                 570,000
``conversations``      caps of :mod:`pipeline.workflow.state`                 5,000
=====================  =====================================================  =============

The dedupe keys carry the producer's source message id, whose length is bounded only by
``CXSTREAM_MAX_PAYLOAD_BYTES`` (256 KiB by default): still under the bound.

The bounds hold by construction; :func:`check_table_value` is the net under them (a rules file
with a huge ``max_evidence``, a future field nobody bounded). It raises
:class:`TableValueTooLarge` *before* the write, so the stage can dead-letter the one event that
would have grown the value and keep its previous value, instead of stopping the worker.
"""

from __future__ import annotations

import json
from typing import Any

MAX_TABLE_VALUE_BYTES = 900_000
"""Largest changelog record (key + value bytes) a stage may write to any table."""


class TableValueTooLarge(ValueError):
    """A table record would exceed what its changelog topic accepts; it was not written."""

    def __init__(self, table: str, key: str, size: int, limit: int) -> None:
        self.table = table
        self.key = key
        self.size = size
        self.limit = limit
        shown = key if len(key) <= 80 else key[:80] + "…"
        super().__init__(
            f"{table}[{shown}]: a {size:,}-byte record exceeds the {limit:,}-byte table value "
            "bound (its changelog topic would refuse it); not written"
        )


def encoded_size(value: Any) -> int:
    """Bytes of ``value`` as its table writes it: bytes as they are, anything else as Faust's
    JSON (compact, non-ASCII escaped)."""
    if isinstance(value, bytes):
        return len(value)
    return len(json.dumps(value, separators=(",", ":")).encode())


def check_table_value(
    table: str, key: str | bytes, value: Any, *, limit: int = MAX_TABLE_VALUE_BYTES
) -> int:
    """The record's size (key + value bytes); raises :class:`TableValueTooLarge` above ``limit``.

    Call it just before ``table[key] = value``.
    """
    key_bytes = key if isinstance(key, bytes) else key.encode()
    size = len(key_bytes) + encoded_size(value)
    if size > limit:
        raise TableValueTooLarge(table, key_bytes.decode(errors="replace"), size, limit)
    return size
