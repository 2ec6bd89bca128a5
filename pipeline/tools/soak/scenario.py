"""What the soak runs: its own settings, the open-loop traffic from a fixed population, the plan."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from pipeline.settings import Settings, local_settings
from pipeline.tools import synthetic
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.soak.verdict import MIN_FIT_SAMPLES
from pipeline.tools.synthetic import RawRecord

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
