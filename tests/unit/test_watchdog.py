"""The stall detector: a partition with lag whose committed offset stays put is stuck."""

from __future__ import annotations

import pytest

from pipeline.streaming.lag import PartitionLag
from pipeline.streaming.watchdog import TP, StallDetector, owned

A: TP = ("cx.raw.chat", 0)
B: TP = ("cx.raw.chat", 1)
Sample = tuple[float, dict[TP, PartitionLag], int]


def _run(samples: list[Sample], timeout_s: float = 60.0) -> list[list[TP]]:
    clock = {"now": 0.0}
    detector = StallDetector(timeout_s, lambda: clock["now"])
    verdicts = []
    for at, partitions, recovery_left in samples:
        clock["now"] = at
        verdicts.append(detector.stalled(partitions, recovery_left))
    return verdicts


def _p(committed: int, lag: int) -> PartitionLag:
    return PartitionLag(committed, lag)


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        pytest.param(
            [(0, {A: _p(10, 5)}, 0), (30, {A: _p(10, 5)}, 0), (61, {A: _p(10, 9)}, 0)],
            [[], [], [A]],
            id="lag-and-offset-stuck",
        ),
        pytest.param(
            [(0, {A: _p(10, 0)}, 0), (90, {A: _p(10, 0)}, 0)],
            [[], []],
            id="idle-without-lag",
        ),
        pytest.param(
            [(0, {A: _p(10, 5)}, 0), (50, {A: _p(11, 5)}, 0), (100, {A: _p(11, 5)}, 0)],
            [[], [], []],
            id="slow-but-committing",
        ),
        pytest.param(
            [
                (0, {A: _p(1, 5), B: _p(7, 3)}, 0),
                (30, {A: _p(9, 5), B: _p(7, 3)}, 0),
                (60, {A: _p(20, 5), B: _p(7, 4)}, 0),
            ],
            [[], [], [B]],
            id="one-partition-stuck-while-another-flows",
        ),
        pytest.param(
            [(0, {A: _p(1, 5)}, 900), (50, {A: _p(1, 5)}, 400), (100, {A: _p(1, 5)}, 1)],
            [[], [], []],
            id="tables-recovering",
        ),
        pytest.param(
            [(0, {A: _p(1, 5)}, 400), (50, {A: _p(1, 5)}, 400), (60, {A: _p(1, 5)}, 400)],
            [[], [], [A]],
            id="recovery-stuck",
        ),
        pytest.param(
            [(0, {A: _p(1, 5)}, 0), (59, {A: _p(1, 5)}, 0), (60, {A: _p(1, 0)}, 0)],
            [[], [], []],
            id="lag-cleared-at-the-deadline",
        ),
    ],
)
def test_stall_verdicts(samples: list[Sample], expected: list[list[TP]]) -> None:
    assert _run(samples) == expected


def test_the_clock_restarts_when_the_offset_moves() -> None:
    samples: list[Sample] = [(0, {A: _p(1, 5)}, 0), (50, {A: _p(2, 5)}, 0)]
    samples += [(100, {A: _p(2, 5)}, 0), (111, {A: _p(2, 5)}, 0)]
    assert _run(samples) == [[], [], [], [A]]


def test_a_worker_watches_only_its_own_partitions() -> None:
    lag = {A: _p(0, 7), B: _p(0, 3), ("cx.enriched", 0): _p(0, 100)}
    assert owned(lag, {B}) == {B: lag[B]}
    assert owned(lag, {("cx.raw.web", 0)}) == {}
    # A worker that fell out of the group owns nothing: every partition is its concern.
    assert owned(lag, set()) == lag
