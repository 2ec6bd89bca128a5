"""A batch of raw traffic: how many records of each kind, in the order they arrive."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

from pipeline.tools.synthetic.duplicates import duplicate_records
from pipeline.tools.synthetic.generator import Generator
from pipeline.tools.synthetic.malformed import malformed_records
from pipeline.tools.synthetic.mix import CROSS_RELAY_SHARE, NEAR_DUPLICATE_SHARE, REDELIVERY_SHARE
from pipeline.tools.synthetic.records import RawRecord


def generate(
    n: int, seed: int = 7, *, now: datetime | None = None, malformed: int | None = None
) -> list[RawRecord]:
    """Exactly n records, deterministic for (n, seed, now).

    Event times lie within the two hours before ``now`` (default: the current UTC time; a naive
    ``now`` is taken as UTC). ``malformed`` dead-letter records are mixed in (default
    ``max(20, n // 40)``, but at most ``n // 4`` for small ``n``; always fewer than ``n``).
    Records are ordered by arrival time and every duplicate comes after its original.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if n == 0:
        return []
    gen = Generator(random.Random(seed), _utc(now), max(3, round(n / 8)))
    return _records(gen, n, malformed)


def generate_from_population(
    n: int, *, persons: int, population_seed: int, seed: int, now: datetime | None = None
) -> list[RawRecord]:
    """Like :func:`generate`, but the people (and their identifiers) depend only on
    ``population_seed`` and ``persons`` — the same customers in every call, with new message
    ids, texts and times from ``seed`` (a steady population for soak runs)."""
    if n <= 0:
        return []
    gen = Generator(random.Random(population_seed), _utc(now), persons)
    gen.source.rng = random.Random(seed)
    return _records(gen, n, None)


def summarise(records: list[RawRecord]) -> dict[str, int]:
    """Count records by their ``expect`` value."""
    return dict(Counter(r.expect for r in records))


def _utc(now: datetime | None) -> datetime:
    ref = datetime.now(UTC) if now is None else now
    return ref.replace(tzinfo=UTC) if ref.tzinfo is None else ref.astimezone(UTC)


def _records(gen: Generator, n: int, bad: int | None) -> list[RawRecord]:
    bad = min(max(20, n // 40), n // 4) if bad is None else bad
    bad = max(0, min(bad, n - 1))
    redeliveries = round(n * REDELIVERY_SHARE)
    relays = round(n * CROSS_RELAY_SHARE)
    near = round(n * NEAR_DUPLICATE_SHARE)
    while redeliveries + relays + near > 0 and n - bad - redeliveries - relays - near < 1:
        redeliveries, relays, near = max(0, redeliveries - 1), max(0, relays - 1), max(0, near - 1)
    drafts = gen.interactions(n - bad - redeliveries - relays - near)
    drafts += duplicate_records(gen.source, drafts, redeliveries, relays, near)
    drafts += malformed_records(gen, bad)
    order = sorted(range(len(drafts)), key=lambda i: (drafts[i].order, i))
    return [drafts[i].record() for i in order]
