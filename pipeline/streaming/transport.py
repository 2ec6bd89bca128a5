"""Faust's aiokafka transport, as ``cxkafka://``, with two fixes for at-least-once delivery.

**No record skipped after a rebalance.** Faust's fetcher may ask the broker for records just
before a rebalance and receive them just after it, when the flow has resumed: the generation
check in ``Consumer.getmany`` reads the generation *after* the fetch, so those records — read
from positions of the old assignment, past records that were fetched but never delivered
(cleared from the agents' buffers) — go to the agents. Faust then remembers the highest offset
delivered and drops the re-fetched earlier records as already read, and its commit moves past
them: records lost without a trace (reproduced by ``tests/reliability/test_rebalance_storm.py``;
``cxstream_offsets_skipped_total`` counted them). :class:`GenerationSafeConsumer` drops a fetch
that spans a rebalance and seeks its partitions back to where delivery must resume; they are
fetched again.

**No batch written twice.** Under ``processing_guarantee="at_least_once"`` (ours,
docs/reliability.md) Faust creates its aiokafka producer without idempotence. When the broker
wrote a batch but its acknowledgement was lost (a broker restart, a dropped connection) the
producer sends the batch again and the broker writes it a second time: an alert change landed
twice on ``cx.alerts`` although the alert ledger never re-sent it (broker-restart scenario).
With ``enable_idempotence`` the broker recognises the retry by producer id and sequence number
and writes it once. It needs ``acks=all``, which the worker uses anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

log = logging.getLogger("cxstream.kafka")

SCHEME = "cxkafka"


class GenerationSafeConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer that never delivers records fetched across a rebalance."""

    async def _wait_next_records(self, timeout: float) -> tuple[Any, Any]:
        generation = self.app.consumer_generation_id
        records, active = await super()._wait_next_records(timeout)
        if not records or self.app.consumer_generation_id == generation:
            return records, active
        await self._refetch(records)
        return {}, active

    async def perform_seek(self) -> None:
        """Faust's seek to the committed offsets, plus the partitions it leaves alone.

        aiokafka's ``seek_to_committed`` skips a partition with no committed offset (or 0), so
        after a rebalance it keeps the position of the last fetch — past records that were
        fetched and then cleared from the agents' buffers. Those start from the beginning
        instead (the worker's ``auto.offset.reset`` is earliest); changelog partitions are
        positioned by Faust's table recovery and left alone."""
        await super().perform_seek()
        uncommitted = [
            tp
            for tp in self.assignment()
            if not self._is_changelog_tp(tp) and not self._committed_offset.get(tp)
        ]
        earliest = await self._first_offsets(uncommitted)
        for tp in uncommitted:
            await self.seek(tp, earliest.get(tp) or 0)

    async def _first_offsets(self, tps: list[TP]) -> Mapping[TP, int]:
        """The partitions' first offsets; {} (read as 0, never after the beginning) if the
        broker cannot say."""
        if not tps:
            return {}
        try:
            return await self.earliest_offsets(*tps)
        except Exception as exc:
            log.info("no earliest offsets (%s): using 0", exc)
            return {}

    async def _refetch(self, records: Mapping[Any, list[Any]]) -> None:
        """Seek each still-assigned partition back to the earlier of the first record of the
        dropped fetch and the committed offset, or to the beginning when nothing is committed
        (a seek to committed offsets may have happened meanwhile). Never forward, so nothing is
        skipped. (Not ``position()``: aiokafka waits there until a position is valid, which
        can block the consumer thread.)"""
        assignment = self.assignment()
        firsts = {
            TP(key.topic, key.partition): int(batch[0].offset)
            for key, batch in records.items()
            if batch and TP(key.topic, key.partition) in assignment
        }
        uncommitted = [tp for tp in firsts if self._committed_offset.get(tp) is None]
        earliest = await self._first_offsets(uncommitted)
        for tp, first in firsts.items():
            committed = self._committed_offset.get(tp)
            floor = committed if committed is not None else (earliest.get(tp) or 0)
            try:
                await self.seek(tp, min(first, floor))
            except Exception as exc:  # revoked again meanwhile: its next owner reads it
                log.info("no seek back on %s[%d] (%s)", tp.topic, tp.partition, exc)
        dropped = sum(len(batch) for batch in records.values())
        log.info("dropped %d records fetched across a rebalance; fetching them again", dropped)


class IdempotentProducer(faust_aiokafka.Producer):
    """Faust's aiokafka producer, idempotent whatever the processing guarantee.

    **Renewed after a refused batch.** When the broker refuses a batch for good (too large
    for the topic's ``max.message.bytes``), aiokafka does not take back the sequence numbers it
    gave that batch: every later batch to that partition is refused as
    ``OutOfOrderSequenceNumber``, for ever (seen in tests/reliability/test_unwritable_outputs.py).
    :meth:`renew` starts a new aiokafka producer — a new producer id, sequences from 0 — and
    retires the old one in the background; ``generation`` tells a writer whether the producer
    that failed it is still the current one (pipeline/streaming/delivery.py).
    """

    generation: int = 0

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}

    async def renew(self, failed_generation: int) -> None:
        """Replace the aiokafka producer, unless it was replaced since ``failed_generation``."""
        if failed_generation != self.generation or self._producer is None:
            return
        self.generation += 1
        fresh = self._new_producer()
        await fresh.start()
        old, self._producer = self._producer, fresh
        log.warning("producer renewed (generation %d) after a refused batch", self.generation)
        task = asyncio.ensure_future(self._retire(old))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    @property
    def _retiring(self) -> set[asyncio.Future[None]]:
        retiring: set[asyncio.Future[None]] | None = self.__dict__.get("_retiring_tasks")
        if retiring is None:
            retiring = self.__dict__["_retiring_tasks"] = set()
        return retiring

    async def _retire(self, old: Any) -> None:
        """Let the old producer deliver (or fail) every batch it holds, then close it: stopping
        it at once could cancel a delivery whose outcome a writer is waiting for."""
        try:
            await old.flush()
            await old.stop()
        except Exception as exc:  # its last batches failed: their writers send them again
            log.info("retired producer stopped with %s", exc)


class Transport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with both fixes."""

    Consumer = GenerationSafeConsumer
    Producer = IdempotentProducer


drivers.TRANSPORTS[SCHEME] = f"{__name__}:{Transport.__name__}"


def broker_urls(bootstrap_servers: str) -> list[str]:
    """Faust broker URLs for a comma-separated ``host:port`` list, on this transport."""
    return [f"{SCHEME}://{server.strip()}" for server in bootstrap_servers.split(",")]
