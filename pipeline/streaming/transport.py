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

**No commit past a record that was not processed.** Faust commits the end of the first run of
consecutive acknowledged offsets, and lets that run start one offset *after* the committed
offset (the committed offset may be a transaction marker, which is never delivered); with
nothing committed yet it checks nothing. And when the first record fetched after a seek lies
past the seek point, it records the offsets in between as a gap (never-existing offsets) minus
the first one, which that tolerance then passes. So records skipped by a stale fetch position
after a rebalance, or still being processed, were committed past and lost (storm runs lost
``raw.voice[1]@89``, and ``internal.resolve[0]`` 4569..4573 with "were never read" from the
offset watch). :class:`GenerationSafeConsumer` (1) remembers every offset it handed to the
agents until it is acknowledged and holds a commit that would pass one of them; (2) holds a
commit that would pass the committed offset (or, with nothing committed, the seek point)
although that offset was never delivered, and reads the partition again from there once; only
if the same offset is again not delivered is it taken as a non-record (a transaction marker)
and passed. ``cxstream_commits_held_total`` counts the holds (docs/reliability.md).

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
from faust.types import TP, Message
from faust.types.tuples import ack_lock

log = logging.getLogger("cxstream.kafka")

SCHEME = "cxkafka"


def next_commit(acked: list[int], gaps: list[tuple[int, int]], committed: int | None) -> int | None:
    """The offset Faust's ``_new_offset`` would commit, computed without changing anything.

    ``acked``: acknowledged offsets; ``gaps``: ``[begin, end)`` ranges of offsets never
    delivered (treated as acknowledged when they lie below the highest acknowledged offset);
    ``committed``: the committed offset (the next record to read). None: nothing to commit.
    """
    if not acked:
        return None
    highest = max(acked)
    done = set(acked)
    for begin, end in gaps:
        if begin <= highest:
            done.update(range(begin, end))
    ordered = sorted(done)
    if committed and ordered[0] - committed > 1:
        return None
    end = ordered[0]
    for offset in ordered[1:]:
        if offset != end + 1:
            break
        end = offset
    return end + 1


class GenerationSafeConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer that never delivers records fetched across a rebalance and
    never commits past a record it delivered that is not yet acknowledged."""

    on_commit_held: Any = None
    """Called with the partition when a commit is held back (the worker counts it)."""

    def _state(self, name: str) -> Any:
        """Per-consumer bookkeeping dicts (Faust builds consumers through a long __init__)."""
        value = self.__dict__.get(name)
        if value is None:
            value = self.__dict__[name] = {}
        return value

    @property
    def _seek_points(self) -> dict[TP, int]:
        """Where each partition was last sought to (the next offset to read)."""
        points: dict[TP, int] = self._state("_seek_point_offsets")
        return points

    @property
    def _rereads(self) -> dict[TP, int]:
        """Partitions to read again from an offset that was never delivered."""
        pending: dict[TP, int] = self._state("_reread_offsets")
        return pending

    @property
    def _reread_done(self) -> dict[TP, int]:
        """The offset each partition was last read again from (once per offset)."""
        done: dict[TP, int] = self._state("_reread_done_offsets")
        return done

    @property
    def _reread_waiting(self) -> dict[TP, int]:
        """Partitions read again whose first record since that seek has not yet come."""
        waiting: dict[TP, int] = self._state("_reread_waiting_offsets")
        return waiting

    @property
    def _in_flight(self) -> dict[TP, set[int]]:
        """Offsets handed to the agents and not yet acknowledged, per partition."""
        flight: dict[TP, set[int]] = self._state("_in_flight_offsets")
        return flight

    def track_message(self, message: Message) -> None:
        """Faust's bookkeeping, and the offset remembered until its acknowledgement."""
        super().track_message(message)
        if self.app.topics.acks_enabled_for(message.topic):
            with ack_lock:
                self._in_flight.setdefault(message.tp, set()).add(message.offset)
                self._reread_waiting.pop(message.tp, None)  # the read again has begun

    def ack(self, message: Message) -> bool:
        """Faust's acknowledgement; the offset is no longer in flight."""
        with ack_lock:
            done = bool(super().ack(message))
            flight = self._in_flight.get(message.tp)
            if flight is not None:
                flight.discard(message.offset)
            return done

    def _new_offset(self, tp: TP) -> int | None:
        """Faust's next commit for ``tp``, or None while it would pass an offset in flight or
        an offset that was never delivered (which is then read again)."""
        with ack_lock:
            acked = list(self._acked[tp])
            if not acked:
                return None
            gaps = [(iv.begin, iv.end) for iv in self._gap.get(tp) or ()]
            committed = self._committed_offset[tp]
            would = next_commit(acked, gaps, committed)
            if would is None:
                return None
            flight = self._in_flight.get(tp)
            if flight and would > min(flight):
                self._hold(tp, f"offset {min(flight)} is still being processed", would)
                return None
            floor = committed if committed is not None else self._seek_points.get(tp)
            past = floor is not None and would > floor
            if floor is not None and past and self._never_delivered(tp, floor, acked, gaps):
                if self._reread_done.get(tp) != floor:
                    self._rereads[tp] = floor
                    self._hold(tp, f"offset {floor} was never delivered", would)
                    return None
                if tp in self._reread_waiting or tp in self._rereads:
                    self._hold(tp, f"reading again from offset {floor}", would)
                    return None
                log.warning(
                    "%s[%d]: offset %d again not delivered after reading from it again: taken "
                    "as a non-record (a transaction marker)",
                    tp.topic,
                    tp.partition,
                    floor,
                )
            new: int | None = super()._new_offset(tp)
            return new

    def _never_delivered(
        self, tp: TP, offset: int, acked: list[int], gaps: list[tuple[int, int]]
    ) -> bool:
        """Whether ``offset`` was neither acknowledged, handed to the agents nor in a gap."""
        if offset in self._in_flight.get(tp, ()) or offset in acked:
            return False
        return not any(begin <= offset < end for begin, end in gaps)

    def _hold(self, tp: TP, why: str, would: int) -> None:
        log.info(
            "commit of %s[%d] held at %s: %s (would commit %d)",
            tp.topic,
            tp.partition,
            self._committed_offset[tp],
            why,
            would,
        )
        if self.on_commit_held is not None:
            self.on_commit_held(tp)

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """Faust's gap bookkeeping without the record being delivered: Faust passes that
        record's offset as the gap's (inclusive) end, which would count it as done before it
        is processed."""
        await super()._add_gap(tp, offset_from, offset_to - 1)

    async def seek(self, partition: TP, offset: int) -> None:
        """Faust's seek, remembered as the partition's seek point."""
        self._seek_points[partition] = offset
        await super().seek(partition, offset)

    async def _read_again(self) -> None:
        """Seek each partition with a never-delivered offset back to it (once per offset)."""
        assignment = self.assignment()
        while self._rereads:
            tp, offset = self._rereads.popitem()
            self._reread_done[tp] = offset
            self._reread_waiting[tp] = offset
            if tp not in assignment:
                continue
            log.warning(
                "%s[%d]: offset %d was never delivered but later ones were: reading again from it",
                tp.topic,
                tp.partition,
                offset,
            )
            gaps = self._gap.get(tp)
            if gaps:  # what is read again is no gap: it is delivered and acknowledged
                gaps.chop(offset, 2**63)
            try:
                await self.seek(tp, offset)
            except Exception as exc:  # revoked meanwhile: its next owner reads it
                log.info("no seek back on %s[%d] (%s)", tp.topic, tp.partition, exc)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """Faust's revocation; what was in flight on those partitions is their next owner's."""
        with ack_lock:
            for tp in revoked:
                for state in (
                    self._in_flight,
                    self._seek_points,
                    self._rereads,
                    self._reread_waiting,
                ):
                    state.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    async def _wait_next_records(self, timeout: float) -> tuple[Any, Any]:
        if self._rereads:
            await self._read_again()
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
        for tp, committed in list(self._committed_offset.items()):
            if committed is not None:
                self._seek_points[tp] = committed
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
