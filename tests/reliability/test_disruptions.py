"""Kill, broker restart and rebalance under load on the real broker: exact accounting after each.

Each scenario sends realistic synthetic traffic (with redeliveries, relayed copies,
near-duplicates and malformed records, each with its ground truth) at a fixed rate from a
background producer, disrupts the pipeline while it is busy, and then requires:

* every input record has exactly one decision (interaction, duplicate kind or dead-letter reason)
  and it is the right one; a decision may be *redelivered* (the same one again, at-least-once)
  but never contradicted, and every kept interaction reaches cx.enriched;
* no alert change ``(alert_id, revision)`` is written twice and no alert misses a revision.

Run with ``make test-reliability`` (``-rP`` prints each scenario's numbers).
"""

from __future__ import annotations

import time
from pathlib import Path

from pipeline.settings import Settings
from pipeline.streaming.admin import end_offsets
from pipeline.tools import broker
from pipeline.tools.runner import WorkerProcess
from pipeline.tools.synthetic import generate
from tests.conftest import free_port
from tests.reliability.accounting import Producer, decided, group_state
from tests.reliability.scenario import finish, resumed, start_worker
from tests.waiting import wait_until

N_EVENTS = 1500
RATE = 100.0  # events/s: about 70 % of what one worker sustains on the 2-core CI machine
BACKLOG = 200  # inputs that arrive while the worker is down (about 2 s of traffic)


def _raw_sent(settings: Settings) -> int:
    """Records on the raw topics so far."""
    return sum(end_offsets(settings, settings.topics.raw_topics).values())


def test_sigkill_mid_stream_then_restart(
    settings: Settings, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    """SIGKILL under load; the restarted worker recovers its tables and its place."""
    worker = start_worker(settings, tmp_path / "worker.log", workers)
    records = generate(N_EVENTS, seed=21)
    producer = Producer(settings, records, RATE)
    producer.start()
    wait_until("a third decided", lambda: decided(settings) >= N_EVENTS // 3, 120)
    worker.kill()
    killed = time.monotonic()
    sent = _raw_sent(settings)
    wait_until(
        "a backlog while the worker is down", lambda: _raw_sent(settings) >= sent + BACKLOG, 60
    )
    workers.remove(worker)
    restarted = start_worker(settings, tmp_path / "worker-restarted.log", workers)
    recovery = time.monotonic() - killed + resumed(settings)
    report = finish("sigkill", settings, records, producer, recovery_s=recovery, workers=workers)
    assert report.problems == []
    assert restarted.alive


def test_broker_restart_mid_stream(
    kafka: Settings, settings: Settings, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    """The broker stops and comes back while the worker is busy; the worker reconnects."""
    worker = start_worker(settings, tmp_path / "worker.log", workers)
    records = generate(N_EVENTS, seed=22)
    first, rest = records[: N_EVENTS // 2], records[N_EVENTS // 2 :]
    head = Producer(settings, first, RATE * 4)  # a backlog: the worker is busy at the restart
    head.start()
    head_delivered = head.finish(timeout_s=120)
    wait_until("a tenth decided", lambda: decided(settings) >= N_EVENTS // 10, 120)
    stopped = time.monotonic()
    refused = worker.log_text().count("ECONNREFUSED")
    broker.stop(kafka)
    # Down until the worker has found it gone, not for a fixed time that may pass unnoticed.
    wait_until(
        "the worker refused by the stopped broker",
        lambda: worker.log_text().count("ECONNREFUSED") > refused,
        60,
    )
    broker.start(kafka, timeout_s=120)
    tail = Producer(settings, rest, RATE)
    tail.start()
    back = time.monotonic() - stopped + resumed(settings)
    tail.finish(timeout_s=120)
    # Both halves, accounted together.
    tail.delivered = head_delivered + tail.delivered
    report = finish(
        "broker-restart", settings, first + rest, tail, recovery_s=back, workers=workers
    )
    assert report.problems == []
    assert worker.alive, worker.log_tail()


def test_rebalance_when_one_of_two_workers_dies(
    settings: Settings, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    """Two workers share the group; one is SIGKILLed; the survivor takes its partitions."""
    survivor = start_worker(settings, tmp_path / "worker-a.log", workers)
    other = settings.model_copy(update={"web_port": free_port(), "metrics_port": free_port()})
    doomed = start_worker(other, tmp_path / "worker-b.log", workers)
    # The group settles with both members, and the first worker has resumed after sharing.
    wait_until("a stable group of two", lambda: group_state(settings) == ("Stable", 2), 60)
    wait_until("worker-a ready again", lambda: survivor.log_text().count("Worker ready") >= 2, 60)
    records = generate(N_EVENTS, seed=23)
    producer = Producer(settings, records, RATE)
    producer.start()
    wait_until("a third decided", lambda: decided(settings) >= N_EVENTS // 3, 120)
    doomed.kill()
    report = finish(
        "rebalance", settings, records, producer, recovery_s=resumed(settings), workers=workers
    )
    assert report.problems == []
    assert survivor.alive, survivor.log_tail()
