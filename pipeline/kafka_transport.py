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
        if not uncommitted:
            return
        earliest = await self.earliest_offsets(*uncommitted)
        for tp in uncommitted:
            await self.seek(tp, earliest.get(tp) or 0)

    async def _refetch(self, records: Mapping[Any, list[Any]]) -> None:
        """Seek each still-assigned partition back to the earliest of: the first record of the
        dropped fetch, the committed offset, the current position (a seek made meanwhile).
        Never forward, so nothing is skipped."""
        assignment = self.assignment()
        dropped = 0
        for key, batch in records.items():
            tp = TP(key.topic, key.partition)
            dropped += len(batch)
            if not batch or tp not in assignment:
                continue  # an empty fetch, or a partition this worker no longer owns
            try:
                candidates = [int(batch[0].offset), await self.position(tp)]
                candidates.append(self._committed_offset.get(tp))
                await self.seek(tp, min(c for c in candidates if c is not None))
            except Exception as exc:  # revoked again meanwhile: its next owner reads it
                log.info("no seek back on %s[%d] (%s)", tp.topic, tp.partition, exc)
        log.info("dropped %d records fetched across a rebalance; fetching them again", dropped)


class IdempotentProducer(faust_aiokafka.Producer):
    """Faust's aiokafka producer, idempotent whatever the processing guarantee."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class Transport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with both fixes."""

    Consumer = GenerationSafeConsumer
    Producer = IdempotentProducer


drivers.TRANSPORTS[SCHEME] = f"{__name__}:{Transport.__name__}"


def broker_urls(bootstrap_servers: str) -> list[str]:
    """Faust broker URLs for a comma-separated ``host:port`` list, on this transport."""
    return [f"{SCHEME}://{server.strip()}" for server in bootstrap_servers.split(",")]
