"""Duplicate detection with expiring state: redeliveries, cross-relay copies, near-duplicates.

* **redelivery** — a source message id seen before with the same payload bytes (or, outside
  email, with any payload: a producer resend);
* **cross_relay** — an email Message-ID seen before with *different* bytes: the same mail
  relayed through a second gateway;
* **near_duplicate** — the same customer sent the same normalised text within
  ``near_window_s`` of event time (chat double-submit), under a new message id; for a survey
  answer the survey kind and score must match too.

A *replay* is not a duplicate: the same Kafka record (same topic, partition and offset) read
again after a crash or a rebalance, before its offset was committed. The id entry remembers the
record it came from, so a replay gets the decision the record got the first time (kept, or
dropped as a near-duplicate of the same interaction) and the outputs are the same again.

State is two mappings (Faust tables in the worker). Each entry carries the wall-clock time it
was stored; :class:`ExpiryQueue` removes entries older than their window, so memory is bounded
by (event rate x window). Each entry is a few short fields under a key that holds a source
message id or an identifier; :func:`~pipeline.contracts.table_values.check_table_value`
guards the write (bounds in :mod:`pipeline.contracts.table_values`).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import MutableMapping
from typing import Any

from pipeline.contracts.records import DuplicateKind, Interaction
from pipeline.contracts.table_values import check_table_value

SEEN_IDS_TABLE = "dedupe-ids"
RECENT_TEXTS_TABLE = "dedupe-texts"


def dedupe_fingerprint(text: str) -> str:
    """Text reduced for near-duplicate comparison: case-folded, whitespace collapsed."""
    return " ".join(text.casefold().split())


class ExpiryQueue:
    """Deletes mapping entries ``{"t": stored_at, ...}`` once ``t + ttl`` has passed.

    Keeps an in-process queue in insertion order, rebuilt from the mapping after a restart.
    """

    def __init__(self, table: MutableMapping[str, Any], ttl_s: float) -> None:
        self.table = table
        self.ttl = ttl_s
        self.queue: deque[tuple[float, str]] = deque()
        self.loaded = False

    def _load(self) -> None:
        entries = sorted((float(v["t"]), k) for k, v in self.table.items())
        self.queue.extend(entries)
        self.loaded = True

    def stored(self, key: str, at: float) -> None:
        """Record that ``key`` was (re)written at ``at``."""
        if not self.loaded:
            self._load()
        self.queue.append((at, key))

    def expire(self, now: float) -> int:
        """Delete every entry older than the ttl; return how many were deleted."""
        if not self.loaded:
            self._load()
        removed = 0
        while self.queue and self.queue[0][0] + self.ttl <= now:
            at, key = self.queue.popleft()
            current = self.table.get(key)
            if current is not None and float(current["t"]) == at:
                del self.table[key]
                removed += 1
        return removed


class Deduplicator:
    """Decides whether an interaction is a duplicate, and remembers the ones it keeps."""

    def __init__(
        self,
        seen_ids: MutableMapping[str, Any],
        recent_texts: MutableMapping[str, Any],
        *,
        id_window_s: float,
        near_window_s: float,
    ) -> None:
        self.seen_ids = seen_ids
        self.recent_texts = recent_texts
        self.near_window = near_window_s
        self.id_expiry = ExpiryQueue(seen_ids, id_window_s)
        self.text_expiry = ExpiryQueue(recent_texts, max(near_window_s, 1.0) * 2)

    @staticmethod
    def id_key(ix: Interaction) -> str:
        return f"{ix.channel}:{ix.source.source_message_id}"

    @staticmethod
    def record_of(ix: Interaction) -> str:
        """The Kafka record an interaction was read from: ``topic:partition:offset``."""
        return f"{ix.source.topic}:{ix.source.partition}:{ix.source.offset}"

    def replayed(self, ix: Interaction) -> str | None:
        """For a replay of a record already decided, the interaction id it was kept as (its
        own id if it was kept, another one if it was dropped as a near-duplicate); else None."""
        seen = self.seen_ids.get(self.id_key(ix))
        if seen is not None and seen.get("src") == self.record_of(ix):
            return str(seen["ix"])
        return None

    def check_id(
        self, ix: Interaction, payload_digest: str, now: float
    ) -> tuple[DuplicateKind, str] | None:
        """``(kind, kept interaction id)`` if the source message id was seen; else remember it."""
        key = self.id_key(ix)
        seen = self.seen_ids.get(key)
        if seen is not None:
            if seen["h"] == payload_digest or ix.channel != "email":
                return DuplicateKind.REDELIVERY, str(seen["ix"])
            return DuplicateKind.CROSS_RELAY, str(seen["ix"])
        entry = {"ix": ix.interaction_id, "h": payload_digest, "t": now, "src": self.record_of(ix)}
        check_table_value(SEEN_IDS_TABLE, key, entry)
        self.seen_ids[key] = entry
        self.id_expiry.stored(key, now)
        return None

    def kept_instead(self, ix: Interaction, kept_id: str) -> None:
        """Point the source id of a dropped near-duplicate at the copy that was kept."""
        key = self.id_key(ix)
        seen = self.seen_ids.get(key)
        if seen is not None:
            self.seen_ids[key] = {**seen, "ix": kept_id}

    def check_text(self, ix: Interaction, now: float) -> tuple[DuplicateKind, str] | None:
        """Near-duplicate check for customer text; remembers the text when it is new.

        The text is remembered under the customer key and under the message's strongest
        identifier, so a double-submit is still caught when an identity merge changed the
        customer key between the two copies.
        """
        if not ix.text or ix.author_role != "customer" or not ix.customer_key:
            return None
        content = dedupe_fingerprint(ix.text)
        if ix.survey is not None:  # two answers with one comment but other scores are two answers
            content += f"\x00{ix.survey.kind}:{ix.survey.score:g}"
        fingerprint = hashlib.sha256(content.encode()).hexdigest()[:24]
        keys = [f"{ix.customer_key}:{fingerprint}"]
        pairs = ix.identifiers.pairs()
        if pairs:
            keys.append(f"{pairs[0][0]}:{pairs[0][1]}:{fingerprint}")
        occurred = ix.occurred_at.timestamp()
        for key in keys:
            seen = self.recent_texts.get(key)
            if seen is None or seen["ix"] == ix.interaction_id:  # itself (a replay)
                continue
            if abs(occurred - float(seen["at"])) <= self.near_window:
                return DuplicateKind.NEAR_DUPLICATE, str(seen["ix"])
        entry = {"ix": ix.interaction_id, "at": occurred, "t": now}
        for key in keys:
            check_table_value(RECENT_TEXTS_TABLE, key, entry)
        for key in keys:
            self.recent_texts[key] = dict(entry)
            self.text_expiry.stored(key, now)
        return None

    def expire(self, now: float) -> int:
        """Drop expired state from both mappings; return how many entries went."""
        return self.id_expiry.expire(now) + self.text_expiry.expire(now)
