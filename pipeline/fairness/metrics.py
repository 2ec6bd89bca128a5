"""Seeded percentile-bootstrap confidence intervals for means and differences of means.

Paired gaps resample *units* (templates with everything but the person filled in), so a
difference between two groups is measured on the same sentences; unpaired differences (a slice
of the labelled set against the rest) resample each side on its own. Every resampling draws
from a generator seeded by the audit's seed and the gap's name, so a number does not move when
another gap is added.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]


@dataclass(frozen=True, slots=True)
class Interval:
    """An estimate with the ends of its confidence interval."""

    estimate: float
    low: float
    high: float

    def magnitude(self) -> Interval:
        """The interval of ``|estimate|`` implied by this one (0 at the bottom if it spans 0)."""
        ends = sorted((abs(self.low), abs(self.high)))
        low = 0.0 if self.low <= 0.0 <= self.high else ends[0]
        return Interval(abs(self.estimate), low, ends[1])

    def rounded(self, digits: int = 4) -> Interval:
        """The same interval rounded for reports."""
        return Interval(
            round(self.estimate, digits), round(self.low, digits), round(self.high, digits)
        )


def generator(seed: int, name: str) -> np.random.Generator:
    """The random generator of one named gap under the audit's seed."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


def _percentiles(draws: Array, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(draws, [tail, 100.0 - tail])
    return float(low), float(high)


def resampled_means(values: Array, rng: np.random.Generator, resamples: int) -> Array:
    """Means of ``resamples`` bootstrap samples of ``values`` (drawn with replacement)."""
    if values.size == 0:
        raise ValueError("cannot bootstrap an empty sample")
    picks = rng.integers(0, values.size, size=(resamples, values.size))
    means: Array = values[picks].mean(axis=1)
    return means


def mean_interval(
    values: Sequence[float] | Array,
    rng: np.random.Generator,
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
) -> Interval:
    """The mean of ``values`` with its percentile-bootstrap interval.

    For paired data pass the per-unit differences: the interval is then the paired one.
    """
    sample = np.asarray(values, dtype=np.float64)
    draws = resampled_means(sample, rng, resamples)
    return Interval(float(sample.mean()), *_percentiles(draws, confidence))


def difference_interval(
    first: Sequence[float] | Array,
    second: Sequence[float] | Array,
    rng: np.random.Generator,
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
) -> Interval:
    """mean(first) - mean(second) for two independent samples, each resampled on its own."""
    a = np.asarray(first, dtype=np.float64)
    b = np.asarray(second, dtype=np.float64)
    draws = resampled_means(a, rng, resamples) - resampled_means(b, rng, resamples)
    return Interval(float(a.mean() - b.mean()), *_percentiles(draws, confidence))
