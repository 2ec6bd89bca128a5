"""The soak's phases on a fresh local broker: calibrate, produce at half the maximum, drain."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pipeline.settings import Settings
from pipeline.streaming.admin import create_topics, end_offsets
from pipeline.tools.local_stack import LocalStack, local_stack
from pipeline.tools.runner import WorkerProcess
from pipeline.tools.soak.measurement import (
    Run,
    measure_max_rate,
    metrics_url,
    progress_line,
    take_sample,
    wait_drained,
)
from pipeline.tools.soak.report import finish
from pipeline.tools.soak.scenario import (
    CALIBRATION_EVENTS,
    DEDUPE_WINDOW_S,
    DRAIN_TIMEOUT_S,
    LOAD_SHARE,
    NEAR_DUPLICATE_WINDOW_S,
    SWEEP_INTERVAL_S,
    SoakError,
    Traffic,
    check_plan,
    customers_for,
    sample_times,
    short_run_note,
    soak_settings,
)
from pipeline.tools.soak.verdict import Sample


def run_soak(
    *,
    minutes: float = 10.0,
    rate: float | None = None,
    sample_s: float = 15.0,
    say: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the soak; return the report (also saved under <state dir>/bench/results/);
    ``report["flat"]`` says whether it is flat."""
    say = say or (lambda line: print(line, flush=True))
    check_plan(minutes, sample_s)
    duration_s = minutes * 60
    settings = soak_settings()
    report: dict[str, Any] = {
        "minutes": minutes,
        "sample_s": sample_s,
        "max_eps": None,
        "store": {"url": settings.store, "memory_mib": settings.store_memory_mib},
    }
    note = short_run_note(duration_s)
    if note:
        say(f"[soak] {note}")
    announce = (
        f"[soak] starting Kafka on {settings.bootstrap_servers} (state {settings.state_dir}) …"
    )
    with local_stack(settings, announce=announce, say=say) as stack:
        worker = _ready_worker(stack, settings, say)
        if rate is None:
            say(f"[soak] measuring the maximum rate: {CALIBRATION_EVENTS} events, closed loop …")
            max_eps = measure_max_rate(settings)
            rate = max_eps * LOAD_SHARE
            report["max_eps"] = round(max_eps, 1)
            say(f"[soak] maximum {max_eps:.1f} events/s; soak rate {rate:.1f} events/s (50 %)")
        customers = customers_for(rate, duration_s)
        report.update(rate_eps=round(rate, 1), customers=customers)
        say(
            f"[soak] {minutes:g} min at {rate:.1f} events/s from {customers} customers; "
            f"dedupe windows ids {DEDUPE_WINDOW_S:g} s, texts 2 x {NEAR_DUPLICATE_WINDOW_S:g} s, "
            f"swept every {SWEEP_INTERVAL_S:g} s, so expiry runs within the run; "
            "the first half is warm-up"
        )
        run = traffic_phase(
            settings,
            worker,
            rate=rate,
            customers=customers,
            duration_s=duration_s,
            sample_s=sample_s,
            say=say,
        )
    return finish(report, run, duration_s=duration_s, rate=rate)


def _ready_worker(
    stack: LocalStack, settings: Settings, say: Callable[[str], None]
) -> WorkerProcess:
    """The pipeline's topics and one worker with every agent, ready and settled."""
    create_topics(settings)
    say(f"[soak] starting the worker (metrics {metrics_url(settings)}) …")
    worker = stack.start_worker()
    worker.wait_ready(timeout_s=120)
    time.sleep(3)  # let the group settle, as the bench does
    return worker


def traffic_phase(
    settings: Settings,
    worker: WorkerProcess,
    *,
    rate: float,
    customers: int,
    duration_s: float,
    sample_s: float,
    say: Callable[[str], None],
) -> Run:
    """Produce at ``rate`` for ``duration_s``, sampling every ``sample_s``; then drain."""
    t = settings.topics
    base = end_offsets(settings, [t.interactions, t.duplicates, t.deadletter, t.enriched])
    started = time.monotonic()
    traffic = Traffic(settings, rate, customers, started + duration_s).start()
    samples: list[Sample] = []
    try:
        for at in sample_times(duration_s, sample_s):
            time.sleep(max(0.0, started + at - time.monotonic()))
            if not worker.alive:
                raise SoakError(f"the worker exited during the soak:\n{worker.log_tail()}")
            if traffic.error is not None:
                raise SoakError(f"the producer failed: {traffic.error}")
            samples.append(take_sample(at, worker, traffic, settings, base))
            say(progress_line(samples[-1]))
        traffic.join()
    finally:
        traffic.stop()
    if traffic.error is not None:
        raise SoakError(f"the producer failed: {traffic.error}")
    say("[soak] traffic stopped; waiting until every event is accounted for …")
    final = wait_drained(settings, base, traffic.sent, DRAIN_TIMEOUT_S)
    return Run(samples, traffic.sent, final, worker.peak_rss_mb())
