"""The stall detector: restart only when there is work, and neither events nor recovery move."""

from __future__ import annotations

import pytest

from pipeline.watchdog import Progress, StallDetector, assigned_lag


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run(samples: list[tuple[float, Progress]], timeout_s: float = 60.0) -> list[bool]:
    clock = Clock()
    detector = StallDetector(timeout_s, clock)
    verdicts = []
    for at, progress in samples:
        clock.now = at
        verdicts.append(detector.stalled(progress))
    return verdicts


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        pytest.param(
            [(0, Progress(10, 0, 5)), (30, Progress(10, 0, 5)), (61, Progress(10, 0, 5))],
            [False, False, True],
            id="lag-and-no-events",
        ),
        pytest.param(
            [(0, Progress(10, 0, 0)), (30, Progress(10, 0, 0)), (90, Progress(10, 0, 0))],
            [False, False, False],
            id="idle-without-lag",
        ),
        pytest.param(
            [(0, Progress(10, 0, 5)), (50, Progress(11, 0, 5)), (100, Progress(11, 0, 5))],
            [False, False, False],
            id="slow-but-moving",
        ),
        pytest.param(
            [(0, Progress(10, 900, 5)), (50, Progress(10, 400, 5)), (100, Progress(10, 1, 5))],
            [False, False, False],
            id="recovering-tables",
        ),
        pytest.param(
            [(0, Progress(10, 400, 5)), (50, Progress(10, 400, 5)), (60, Progress(10, 400, 5))],
            [False, False, True],
            id="recovery-stuck",
        ),
        pytest.param(
            [(0, Progress(1, 0, 5)), (59, Progress(1, 0, 5)), (60, Progress(1, 0, 0))],
            [False, False, False],
            id="lag-cleared-at-the-deadline",
        ),
    ],
)
def test_stall_verdicts(samples: list[tuple[float, Progress]], expected: list[bool]) -> None:
    assert _run(samples) == expected


def test_the_clock_restarts_after_progress() -> None:
    stuck = Progress(10, 0, 5)
    samples = [(0, stuck), (50, Progress(11, 0, 5)), (100, Progress(11, 0, 5))]
    samples.append((111, Progress(11, 0, 5)))
    assert _run(samples) == [False, False, False, True]


def test_lag_counts_only_this_workers_partitions() -> None:
    lag = {("cx.raw.chat", 0): 7, ("cx.raw.chat", 1): 3, ("cx.enriched", 0): 100}
    assert assigned_lag(lag, {("cx.raw.chat", 1)}) == 3
    assert assigned_lag(lag, {("cx.raw.web", 0)}) == 0
    # A worker that fell out of the group owns nothing: the group's lag is its concern.
    assert assigned_lag(lag, set()) == 110
