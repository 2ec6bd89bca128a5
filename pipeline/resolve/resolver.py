"""The stateful step after standardise: dedupe by source id, resolve identity, drop near-dupes."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.contracts.records import (
    DuplicateDrop,
    DuplicateKind,
    IdentityLink,
    Interaction,
    Standardised,
)
from pipeline.resolve.dedupe import Deduplicator
from pipeline.resolve.identity import IdentityResolver
from pipeline.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What one standardised event produced: a kept interaction or a duplicate, plus merges."""

    interaction: Interaction | None = None
    duplicate: DuplicateDrop | None = None
    merges: list[IdentityLink] = field(default_factory=list)
    evicted: int = 0
    """Identifiers dropped from the customer's members by this event (they stay linked)."""


class Resolver:
    """Dedupe + identity over four mappings (Faust tables in the worker, dicts in tests)."""

    def __init__(
        self,
        settings: Settings,
        *,
        links: MutableMapping[str, Any],
        members: MutableMapping[str, Any],
        seen_ids: MutableMapping[str, Any],
        recent_texts: MutableMapping[str, Any],
    ) -> None:
        self.identity = IdentityResolver(
            links, members, max_identifiers=settings.max_identifiers_per_customer
        )
        self.dedupe = Deduplicator(
            seen_ids,
            recent_texts,
            id_window_s=settings.dedupe_window_s,
            near_window_s=settings.near_duplicate_window_s,
        )
        self.sweep_interval = settings.sweep_interval_s
        self.last_sweep = 0.0

    def process(self, item: Standardised, now: float) -> Outcome:
        """Decide the fate of one standardised event (called once per event, in order).

        A replay of a record decided before (same source offset, read again after a crash)
        gets the same decision again, so at-least-once delivery yields the same outputs."""
        if now - self.last_sweep >= self.sweep_interval:
            removed = self.dedupe.expire(now)
            self.last_sweep = now
            if removed:
                log.debug("expired %d dedupe entries", removed)
        ix = item.interaction
        kept_as = self.dedupe.replayed(ix)
        if kept_as is None:
            hit = self.dedupe.check_id(ix, item.payload_digest, now)
            if hit is not None:
                return Outcome(duplicate=self._drop(ix, *hit, now=now, key=None))
        resolution = self.identity.resolve(ix.identifiers, ix.interaction_id, now)
        ix = ix.model_copy(update={"customer_key": resolution.customer_key})
        outcome = Outcome(merges=resolution.merges, evicted=resolution.evicted)
        if kept_as is not None and kept_as != ix.interaction_id:  # replay of a near-duplicate
            near: tuple[DuplicateKind, str] | None = (DuplicateKind.NEAR_DUPLICATE, kept_as)
        else:
            near = self.dedupe.check_text(ix, now)
        if near is not None:
            self.dedupe.kept_instead(ix, near[1])
            outcome.duplicate = self._drop(ix, *near, now=now, key=ix.customer_key)
        else:
            outcome.interaction = ix
        return outcome

    @staticmethod
    def _drop(
        ix: Interaction, kind: DuplicateKind, kept: str, *, now: float, key: str | None
    ) -> DuplicateDrop:
        log.debug("dropped %s %s (duplicate of %s)", kind.value, ix.interaction_id, kept)
        return DuplicateDrop(
            kind=kind,
            interaction_id=ix.interaction_id,
            duplicate_of=kept,
            customer_key=key,
            source=ix.source,
            dropped_at=datetime.fromtimestamp(now, tz=UTC),
        )
