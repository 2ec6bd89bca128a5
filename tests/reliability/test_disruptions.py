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
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import broker
from pipeline.runner import WorkerProcess
from pipeline.settings import Settings
from pipeline.synthetic import RawRecord, generate
from tests.conftest import free_port
from tests.reliability.accounting import (
    Producer,
    Report,
    check,
    decided,
    group_state,
    read_outputs,
    trace_lost,
    wait_for,
)

N_EVENTS = 1500
RATE = 100.0  # events/s: about 70 % of what one worker sustains on the 2-core CI machine
DOWN_S = 2.0


@pytest.fixture
def settings(pipeline_settings: Settings) -> Settings:
    """A short session timeout so that a dead worker's partitions move within seconds."""
    return pipeline_settings.model_copy(update={"session_timeout_s": 10.0, "stall_timeout_s": 30.0})


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for proc in started:
        proc.stop()
        print(f"--- {proc.log_path.name} tail ---\n{proc.log_tail(30)}")


def _start(settings: Settings, log: Path, workers: list[WorkerProcess]) -> WorkerProcess:
    proc = WorkerProcess(settings, log).start()
    workers.append(proc)
    proc.wait_ready(timeout_s=120)
    return proc


def _resumed(settings: Settings) -> float:
    """Seconds until new decisions appear again (the pipeline is processing after the hit)."""
    before = decided(settings)
    return wait_for("decisions resume", lambda: decided(settings) > before + 10, 240)


def _finish(
    name: str,
    settings: Settings,
    records: list[RawRecord],
    producer: Producer,
    *,
    recovery_s: float,
    workers: list[WorkerProcess],
) -> Report:
    delivered = producer.finish(timeout_s=120)
    started = time.monotonic()
    places = {(d.topic, d.partition, d.offset) for d in delivered}
    seen = read_outputs(settings, places, timeout_s=300)
    report = check(
        name, records, delivered, seen, recovery_s=recovery_s, drain_s=time.monotonic() - started
    )
    print(report.line())
    for line in trace_lost(settings, report.lost):
        print(f"lost input traced: {line}")
    for proc in workers:  # what each worker read of the lost inputs' partitions, and when
        for where in report.lost:
            print(f"--- {proc.log_path.name}: {where[0]}[{where[1]}], resolve, rebalances ---")
            needles = (f"{where[0]}[{where[1]}]", "internal.resolve[", "generation", "Seek")
            print(proc.log_lines(*needles))
    return report


def test_sigkill_mid_stream_then_restart(
    settings: Settings, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    """SIGKILL under load; the restarted worker recovers its tables and its place."""
    worker = _start(settings, tmp_path / "worker.log", workers)
    records = generate(N_EVENTS, seed=21)
    producer = Producer(settings, records, RATE)
    producer.start()
    wait_for("a third decided", lambda: decided(settings) >= N_EVENTS // 3, 120)
    worker.kill()
    killed = time.monotonic()
    time.sleep(DOWN_S)
    workers.remove(worker)
    restarted = _start(settings, tmp_path / "worker-restarted.log", workers)
    recovery = time.monotonic() - killed + _resumed(settings)
    report = _finish("sigkill", settings, records, producer, recovery_s=recovery, workers=workers)
    assert report.problems == []
    assert restarted.alive


def test_broker_restart_mid_stream(
    kafka: Settings, settings: Settings, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    """The broker stops and comes back while the worker is busy; the worker reconnects."""
    worker = _start(settings, tmp_path / "worker.log", workers)
    records = generate(N_EVENTS, seed=22)
    first, rest = records[: N_EVENTS // 2], records[N_EVENTS // 2 :]
    head = Producer(settings, first, RATE * 4)  # a backlog: the worker is busy at the restart
    head.start()
    head_delivered = head.finish(timeout_s=120)
    wait_for("a tenth decided", lambda: decided(settings) >= N_EVENTS // 10, 120)
    stopped = time.monotonic()
    broker.stop(kafka)
    time.sleep(DOWN_S)
    broker.start(kafka, timeout_s=120)
    tail = Producer(settings, rest, RATE)
    tail.start()
    back = time.monotonic() - stopped + _resumed(settings)
    tail.finish(timeout_s=120)
    # Both halves, accounted together.
    tail.delivered = head_delivered + tail.delivered
    report = _finish(
        "broker-restart", settings, first + rest, tail, recovery_s=back, workers=workers
    )
    assert report.problems == []
    assert worker.alive, worker.log_tail()


def test_rebalance_when_one_of_two_workers_dies(
    settings: Settings, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    """Two workers share the group; one is SIGKILLed; the survivor takes its partitions."""
    survivor = _start(settings, tmp_path / "worker-a.log", workers)
    other = settings.model_copy(update={"web_port": free_port(), "metrics_port": free_port()})
    doomed = _start(other, tmp_path / "worker-b.log", workers)
    # The group settles with both members, and the first worker has resumed after sharing.
    wait_for("a stable group of two", lambda: group_state(settings) == ("Stable", 2), 60)
    wait_for("worker-a ready again", lambda: survivor.log_text().count("Worker ready") >= 2, 60)
    records = generate(N_EVENTS, seed=23)
    producer = Producer(settings, records, RATE)
    producer.start()
    wait_for("a third decided", lambda: decided(settings) >= N_EVENTS // 3, 120)
    doomed.kill()
    report = _finish(
        "rebalance", settings, records, producer, recovery_s=_resumed(settings), workers=workers
    )
    assert report.problems == []
    assert survivor.alive, survivor.log_tail()
