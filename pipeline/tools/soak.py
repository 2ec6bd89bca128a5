"""``cxstream soak``: a bounded run at half the measured maximum rate; memory and state stay flat.

One worker (all agents) on its own broker (127.0.0.1:19292, state in ``.cxstream/soak``):

1. the maximum rate: 3,000 events produced at once (closed loop), events/s until the last
   enriched record, as ``cxstream bench`` measures ``full_eps`` (skipped with ``--rate``);
2. ``--minutes`` of open-loop traffic at 50 % of it, from a fixed population of synthetic
   customers with new message ids, texts and event times in every chunk (a steady input);
3. every ``--sample-s``: the worker's RSS (``/proc/<pid>/status`` VmRSS), its state table sizes
   (``cxstream_table_keys``), consumer lag (``cxstream_consumer_lag_messages``) and RocksDB
   memory (``cxstream_store_memory_bytes``, reported, not judged) from its ``/metrics``, and
   the outputs so far.

The first half of the run is warm-up (caches, RocksDB memtables, tables filling up to their
bounds); each series is judged by its least-squares slope over the second half. **Flat** means:

* worker RSS grows by at most ``RSS_SLOPE_MAX`` (1.0 MiB/min);
* each state table grows over the second half by at most ``TABLE_GROWTH_MAX`` (5 %) of its size
  there (growth under ``TABLE_GROWTH_FLOOR`` keys is always flat: sampling noise);
* consumer lag grows over the second half by less than ``LAG_GROWTH_MAX_S`` (10 s) of traffic;
* after the traffic stops, every event is accounted for (interaction, duplicate or dead letter).

Every table is bounded in steady state only if the input is: the population is small enough
(``EVENTS_PER_CUSTOMER`` events each over the run) that the customer-keyed tables (identity,
customers, conversations: at most 50 per customer) fill up during the warm-up half, and the
dedupe windows are shortened (ids 120 s, texts 2 x 60 s, swept every 10 s) so that expiry
happens many times within the run. The report goes to
``<state dir>/bench/results/soak-<UTC time>.json``.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from kafka import TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from pipeline.settings import Settings, local_settings
from pipeline.streaming.admin import create_topics
from pipeline.streaming.state_store import MIB
from pipeline.tools import broker, synthetic
from pipeline.tools.bench.suite import RESULTS_DIR, machine
from pipeline.tools.output_accounting import collect, end_offsets, newest_timestamp
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.runner import WorkerProcess
from pipeline.tools.synthetic import RawRecord

RSS_SLOPE_MAX = 1.0  # MiB per minute over the second half
TABLE_GROWTH_MAX = 0.05  # share of the table's size, fitted growth over the second half
TABLE_GROWTH_FLOOR = 50.0  # keys: less growth than this is always flat
LAG_GROWTH_MAX_S = 10.0  # seconds of traffic the backlog may grow by over the second half
LAG_GROWTH_FLOOR = 100.0  # messages
MIN_FIT_SAMPLES = 3  # samples needed in the second half to fit a slope
CALIBRATION_EVENTS = 3000
LOAD_SHARE = 0.5  # soak rate = this share of the measured maximum
EVENTS_PER_CUSTOMER = 720  # over the whole run: enough to fill every per-customer bound
MIN_CUSTOMERS = 10
CHUNK_EVENTS = 500
POPULATION_SEED = 20_251
DRAIN_TIMEOUT_S = 120.0
DEDUPE_WINDOW_S = 120.0
NEAR_DUPLICATE_WINDOW_S = 60.0
SWEEP_INTERVAL_S = 10.0


class SoakError(RuntimeError):
    """The soak could not run to the end; the message says where it stopped."""


def soak_settings() -> Settings:
    """Own state dir and ports (not the demo's, the bench's or a user's), short dedupe windows."""
    return local_settings(
        "soak",
        19292,
        16366,
        metrics_port=19564,
        app_id="cxstream-soak",
        topic_prefix="cx.",
        dedupe_window_s=DEDUPE_WINDOW_S,
        near_duplicate_window_s=NEAR_DUPLICATE_WINDOW_S,
        sweep_interval_s=SWEEP_INTERVAL_S,
    )


# -- pure helpers --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    """One observation of the running worker (counts are since the soak traffic started)."""

    elapsed_s: float
    produced: int
    accounted: int
    enriched: int
    rss_mb: float | None
    lag: float | None
    tables: dict[str, float] = field(default_factory=dict)
    store_mb: dict[str, float] = field(default_factory=dict)  # RocksDB budget use, by part


@dataclass(frozen=True)
class Scraped:
    """What a worker's ``/metrics`` says: table sizes, summed lag, RocksDB memory (MiB)."""

    tables: dict[str, float] = field(default_factory=dict)
    lag: float | None = None
    store_mb: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """One series judged over the second half: its slope against the allowed slope."""

    name: str
    unit: str
    slope_per_min: float | None
    limit_per_min: float
    size: float | None  # mean over the second half
    points: int
    flat: bool
    reason: str = ""


def slope_per_min(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(seconds, value)`` points, per minute; None under 2 distinct x."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var_x = sum((x - mean_x) ** 2 for x, _ in points)
    if var_x == 0:
        return None
    cov = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return cov / var_x * 60.0


def second_half(samples: Sequence[Sample], duration_s: float) -> list[Sample]:
    """The samples after warm-up (the first half of the run)."""
    return [s for s in samples if s.elapsed_s >= duration_s / 2]


def judge_series(
    name: str, unit: str, points: Sequence[tuple[float, float]], limit_per_min: float
) -> Check:
    """Flat when the fitted slope is at most ``limit_per_min`` (needs ``MIN_FIT_SAMPLES``)."""
    size = sum(y for _, y in points) / len(points) if points else None
    slope = slope_per_min(points) if len(points) >= MIN_FIT_SAMPLES else None
    if slope is None:
        reason = f"too few samples in the second half ({len(points)} < {MIN_FIT_SAMPLES})"
        return Check(name, unit, None, limit_per_min, size, len(points), False, reason)
    flat = slope <= limit_per_min
    reason = "" if flat else f"grows {slope:+,.2f} {unit}/min > {limit_per_min:,.2f} allowed"
    return Check(name, unit, slope, limit_per_min, size, len(points), flat, reason)


def judge(samples: Sequence[Sample], *, duration_s: float, rate: float) -> list[Check]:
    """RSS, every state table and consumer lag, each judged over the second half of the run."""
    late = second_half(samples, duration_s)
    half_min = duration_s / 2 / 60
    rss = [(s.elapsed_s, s.rss_mb) for s in late if s.rss_mb is not None]
    checks = [judge_series("worker RSS", "MiB", rss, RSS_SLOPE_MAX)]
    for table in sorted({t for s in late for t in s.tables}):
        points = [(s.elapsed_s, s.tables[table]) for s in late if table in s.tables]
        size = sum(y for _, y in points) / len(points)
        allowed = max(TABLE_GROWTH_MAX * size, TABLE_GROWTH_FLOOR) / half_min
        checks.append(judge_series(f"table {table}", "keys", points, allowed))
    lag = [(s.elapsed_s, s.lag) for s in late if s.lag is not None]
    if lag:
        allowed = max(LAG_GROWTH_MAX_S * rate, LAG_GROWTH_FLOOR) / half_min
        checks.append(judge_series("consumer lag", "msgs", lag, allowed))
    return checks


def parse_metrics(text: str) -> Scraped:
    """``cxstream_table_keys`` by table, ``cxstream_consumer_lag_messages`` summed (None when
    the worker does not report lag yet) and ``cxstream_store_memory_bytes`` by part in MiB, from a
    Prometheus text exposition."""
    tables: dict[str, float] = {}
    store: dict[str, float] = {}
    lag: float | None = None
    for family in text_string_to_metric_families(text):
        if family.name == "cxstream_table_keys":
            for sample in family.samples:
                tables[sample.labels["table"]] = sample.value
        elif family.name == "cxstream_consumer_lag_messages" and family.samples:
            lag = sum(sample.value for sample in family.samples)
        elif family.name == "cxstream_store_memory_bytes":
            for sample in family.samples:
                store[sample.labels["part"]] = round(sample.value / MIB, 2)
    return Scraped(tables, lag, store)


def sample_times(duration_s: float, every_s: float) -> list[float]:
    """Seconds into the run to sample at: 0, every ``every_s``, and the end."""
    times = [i * every_s for i in range(int(duration_s // every_s) + 1)]
    if duration_s - times[-1] > 1e-6:
        times.append(duration_s)
    return times


def customers_for(rate: float, duration_s: float) -> int:
    """Population size: ``EVENTS_PER_CUSTOMER`` events each over the run."""
    return max(MIN_CUSTOMERS, round(rate * duration_s / EVENTS_PER_CUSTOMER))


def population_records(
    n: int, *, customers: int, seed: int, now: datetime, population_seed: int = POPULATION_SEED
) -> list[RawRecord]:
    """``n`` synthetic records (the generator's mix of channels, duplicates and malformed ones)
    from a fixed population: the persons and their identifiers depend only on
    ``population_seed`` and ``customers`` (the first ``k`` are the same for any larger
    population); message ids, texts and times on ``seed`` and ``now``."""
    return synthetic.generate_from_population(
        n, persons=customers, population_seed=population_seed, seed=seed, now=now
    )


# -- I/O -----------------------------------------------------------------------------------------
class Traffic:
    """Open-loop producer in a background thread: population chunks at ``rate`` until
    ``deadline`` (monotonic) or ``stop()``."""

    def __init__(self, settings: Settings, rate: float, customers: int, deadline: float) -> None:
        self.settings = settings
        self.rate = rate
        self.customers = customers
        self.deadline = deadline
        self.sent = 0
        self.error: BaseException | None = None
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cxstream-soak-traffic", daemon=True)

    def start(self) -> Traffic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._halt.set()

    def join(self, timeout_s: float = 120.0) -> None:
        self._thread.join(timeout_s)

    def _messages(self) -> Iterator[Outgoing]:
        seed = POPULATION_SEED + 1
        while True:
            chunk = population_records(
                CHUNK_EVENTS, customers=self.customers, seed=seed, now=datetime.now(UTC)
            )
            for record in chunk:
                if self._halt.is_set() or time.monotonic() >= self.deadline:
                    return
                self.sent += 1
                yield Outgoing(self.settings.topics.raw(record.channel), record.key, record.value)
            seed += 1

    def _run(self) -> None:
        try:
            produce(self.settings, self._messages(), rate=self.rate)
        except BaseException as exc:  # reported by the main thread
            self.error = exc


@dataclass
class Counts:
    """Records on the output topics since ``base``."""

    interactions: int
    duplicates: int
    deadletters: int
    enriched: int

    @property
    def accounted(self) -> int:
        return self.interactions + self.duplicates + self.deadletters


def output_counts(settings: Settings, base: dict[TopicPartition, int]) -> Counts:
    t = settings.topics
    ends = end_offsets(settings, [t.interactions, t.duplicates, t.deadletter, t.enriched])

    def count(topic: str) -> int:
        return sum(end - base.get(tp, 0) for tp, end in ends.items() if tp.topic == topic)

    return Counts(
        count(t.interactions), count(t.duplicates), count(t.deadletter), count(t.enriched)
    )


def scrape(url: str) -> Scraped:
    """What the worker's ``/metrics`` says (empty if it does not answer)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return parse_metrics(response.read().decode())
    except OSError:
        return Scraped()


def measure_max_rate(settings: Settings, events: int = CALIBRATION_EVENTS) -> float:
    """Closed loop (as ``cxstream bench`` full_eps): ``events`` at once, raw events/s until the
    last enriched record. Uses the soak population, so it adds no customers of its own."""
    records = population_records(events, customers=MIN_CUSTOMERS, seed=1, now=datetime.now(UTC))
    wall = time.time()
    delivered = produce(
        settings, [Outgoing(settings.topics.raw(r.channel), r.key, r.value) for r in records]
    )
    out = collect(settings, len(delivered), timeout_s=600, wait_enriched=True)
    if out.accounted < len(delivered) or len(out.enriched) < len(out.interactions):
        raise SoakError(
            f"calibration incomplete: {out.accounted}/{len(delivered)} accounted, "
            f"{len(out.enriched)}/{len(out.interactions)} enriched after 600 s"
        )
    return len(delivered) / (newest_timestamp(settings, [settings.topics.enriched]) - wall)


def take_sample(
    elapsed_s: float,
    worker: WorkerProcess,
    traffic: Traffic,
    settings: Settings,
    base: dict[TopicPartition, int],
) -> Sample:
    """RSS, table sizes, lag and output counts now."""
    counts = output_counts(settings, base)
    scraped = scrape(metrics_url(settings))
    return Sample(
        round(elapsed_s, 1),
        traffic.sent,
        counts.accounted,
        counts.enriched,
        worker.rss_mb(),
        scraped.lag,
        scraped.tables,
        scraped.store_mb,
    )


def progress_line(sample: Sample) -> str:
    minutes, seconds = divmod(int(sample.elapsed_s), 60)
    rss = "n/a" if sample.rss_mb is None else f"{sample.rss_mb:,.1f}"
    lag = "n/a" if sample.lag is None else f"{sample.lag:,.0f}"
    tables = " ".join(f"{k}={v:,.0f}" for k, v in sorted(sample.tables.items())) or "(none yet)"
    store = " ".join(f"{k}={v:,.1f}" for k, v in sorted(sample.store_mb.items()))
    return (
        f"[soak] {minutes:3d}:{seconds:02d}  produced {sample.produced:,}  "
        f"accounted {sample.accounted:,}  enriched {sample.enriched:,}  rss {rss} MiB  "
        f"lag {lag}  tables {tables}" + (f"  rocksdb MiB {store}" if store else "")
    )


def wait_drained(
    settings: Settings, base: dict[TopicPartition, int], produced: int, timeout_s: float
) -> Counts:
    """Wait until every produced event is accounted for and every interaction enriched."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = output_counts(settings, base)
        done = counts.accounted >= produced and counts.enriched >= counts.interactions
        if done or time.monotonic() >= deadline:
            return counts
        time.sleep(1.0)


@dataclass
class Run:
    """What the traffic phase observed."""

    samples: list[Sample]
    produced: int
    final: Counts
    peak_rss_mb: float | None


@contextmanager
def running_worker(settings: Settings, say: Callable[[str], None]) -> Iterator[WorkerProcess]:
    """A fresh broker and one ready worker on wiped state; both always stopped afterwards."""
    broker.stop(settings)  # a stale soak broker of this state dir (never another one)
    if settings.state_dir.exists():
        shutil.rmtree(settings.state_dir)
    worker: WorkerProcess | None = None
    try:
        say(f"[soak] starting Kafka on {settings.bootstrap_servers} (state {settings.state_dir}) …")
        broker.start(settings)
        create_topics(settings)
        say(f"[soak] starting the worker (metrics {metrics_url(settings)}) …")
        worker = WorkerProcess(settings, settings.state_dir / "worker.log").start()
        worker.wait_ready(timeout_s=120)
        time.sleep(3)  # let the group settle, as the bench does
        yield worker
    finally:
        if worker is not None:
            worker.stop()
        broker.stop(settings)


def metrics_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.metrics_port}/metrics"


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


def check_plan(minutes: float, sample_s: float) -> None:
    """Refuse runs too short, or sampled too rarely, to fit a slope over the second half."""
    if minutes < 1:
        raise SoakError("--minutes must be at least 1")
    if sample_s <= 0:
        raise SoakError("--sample-s must be positive")
    duration_s = minutes * 60
    late = [t for t in sample_times(duration_s, sample_s) if t >= duration_s / 2]
    if len(late) < MIN_FIT_SAMPLES:
        raise SoakError(
            f"--sample-s {sample_s:g} leaves {len(late)} samples in the second half of a "
            f"{minutes:g}-minute run; at least {MIN_FIT_SAMPLES} are needed"
        )


def short_run_note(duration_s: float) -> str | None:
    """A warning when the warm-up half is too short for the dedupe tables to reach steady state
    (they fill for one window plus a sweep before expiry balances the inflow)."""
    settle_s = max(DEDUPE_WINDOW_S, 2 * NEAR_DUPLICATE_WINDOW_S) + SWEEP_INTERVAL_S
    if duration_s / 2 >= settle_s:
        return None
    return (
        f"note: the warm-up half ({duration_s / 2:g} s) is shorter than the dedupe tables need to "
        f"settle ({settle_s:g} s); expect them NOT flat (use --minutes 10 for a verdict)"
    )


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
    with running_worker(settings, say) as worker:
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


def finish(report: dict[str, Any], run: Run, *, duration_s: float, rate: float) -> dict[str, Any]:
    """Judge, add the verdict and the machine to the report, save it, return it."""
    checks = judge(run.samples, duration_s=duration_s, rate=rate)
    final = run.final
    unaccounted = run.produced - final.accounted
    reasons = [f"{c.name}: {c.reason}" for c in checks if not c.flat]
    if unaccounted > 0:
        reasons.append(f"{unaccounted} events unaccounted for {DRAIN_TIMEOUT_S:g} s after the end")
    report.update(
        produced=run.produced,
        accounted=final.accounted,
        worker_peak_rss_mb=run.peak_rss_mb,
        unaccounted=unaccounted,
        not_enriched=final.interactions - final.enriched,
        thresholds={
            "rss_slope_mib_per_min": RSS_SLOPE_MAX,
            "table_growth_share": TABLE_GROWTH_MAX,
            "table_growth_floor_keys": TABLE_GROWTH_FLOOR,
            "lag_growth_traffic_s": LAG_GROWTH_MAX_S,
        },
        settings={
            "dedupe_window_s": DEDUPE_WINDOW_S,
            "near_duplicate_window_s": NEAR_DUPLICATE_WINDOW_S,
            "sweep_interval_s": SWEEP_INTERVAL_S,
        },
        checks=[asdict(c) for c in checks],
        samples=[asdict(s) for s in run.samples],
        flat=not reasons,
        reasons=reasons,
        machine=machine(),
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"soak-{report['measured_at'].replace(':', '')}.json"
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    report["saved_to"] = str(path)
    return report


def render(report: dict[str, Any]) -> str:
    """The verdict as a table: each series' second-half slope against its limit."""
    max_eps = report.get("max_eps")
    of = f" = 50 % of the measured max {max_eps:,.1f}" if max_eps else " (given)"
    lines = [
        f"\nSoak: {report['minutes']:g} min at {report['rate_eps']:,.1f} events/s{of}, "
        f"{report['customers']} customers; slopes over the second half (first half = warm-up)",
        f"  {'series':<30} {'slope/min':>12} {'limit/min':>11} {'mean size':>11}  verdict",
    ]
    for c in report["checks"]:
        slope = "n/a" if c["slope_per_min"] is None else f"{c['slope_per_min']:+,.2f}"
        size = "n/a" if c["size"] is None else f"{c['size']:,.1f}"
        verdict = "flat" if c["flat"] else "NOT flat"
        name = f"{c['name']} ({c['unit']})"
        lines.append(f"  {name:<30} {slope:>12} {c['limit_per_min']:>11,.2f} {size:>11}  {verdict}")
    lines.append(
        f"  produced {report['produced']:,}, accounted {report['accounted']:,}, unaccounted "
        f"{report['unaccounted']}, not enriched {report['not_enriched']}; worker peak RSS "
        f"{report.get('worker_peak_rss_mb')} MiB"
    )
    m = report["machine"]
    lines.append(
        f"  machine: {m.get('cpu')}, {m.get('cores')} cores; saved to {report['saved_to']}"
    )
    if report["flat"]:
        lines.append("FLAT: memory, state tables and lag stay flat at 50 % load")
    else:
        lines.append("NOT FLAT:")
        lines.extend(f"  - {reason}" for reason in report["reasons"])
    return "\n".join(lines)
