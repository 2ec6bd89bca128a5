"""The steps every reliability scenario shares: start workers, wait, finish and account."""

from __future__ import annotations

import time
from pathlib import Path

from pipeline.settings import Settings
from pipeline.tools.runner import WorkerProcess
from pipeline.tools.synthetic import RawRecord
from tests.reliability.accounting import (
    Producer,
    Report,
    check,
    decided,
    read_outputs,
    trace_lost,
)
from tests.waiting import wait_until


def start_worker(settings: Settings, log: Path, workers: list[WorkerProcess]) -> WorkerProcess:
    """A worker started, registered for the fixture's cleanup and ready."""
    proc = WorkerProcess(settings, log).start()
    workers.append(proc)
    proc.wait_ready(timeout_s=120)
    return proc


def resumed(settings: Settings, more: int = 10, timeout_s: float = 240) -> float:
    """Seconds until more than ``more`` new decisions appear (the pipeline is processing)."""
    before = decided(settings)
    return wait_until("decisions resume", lambda: decided(settings) > before + more, timeout_s)


def finish(
    name: str,
    settings: Settings,
    records: list[RawRecord],
    producer: Producer,
    *,
    recovery_s: float,
    workers: list[WorkerProcess],
) -> Report:
    """Wait for the producer, read every output, check the accounting and print the numbers
    (and, for any lost input, where it was last seen and what the workers read around it)."""
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
