"""The bootstrap intervals against distributions whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.fairness.metrics import Interval, difference_interval, generator, mean_interval


def test_mean_interval_matches_the_normal_theory_interval() -> None:
    sample = np.random.default_rng(1).normal(loc=1.0, scale=2.0, size=400)
    interval = mean_interval(sample, generator(7, "normal"), resamples=4000)
    half = 1.96 * sample.std(ddof=1) / np.sqrt(sample.size)
    assert interval.estimate == pytest.approx(sample.mean())
    assert interval.low == pytest.approx(sample.mean() - half, abs=0.015)
    assert interval.high == pytest.approx(sample.mean() + half, abs=0.015)


def test_95_percent_intervals_cover_the_true_mean_about_95_percent_of_the_time() -> None:
    data = np.random.default_rng(2)
    covered = 0
    trials = 200
    for trial in range(trials):
        sample = data.normal(loc=0.3, scale=1.0, size=100)
        interval = mean_interval(sample, generator(trial, "coverage"), resamples=1000)
        covered += interval.low <= 0.3 <= interval.high
    assert 0.91 <= covered / trials <= 0.99  # a 90 % interval would cover ~0.90


def test_difference_interval_finds_a_known_shift_and_none_where_there_is_none() -> None:
    data = np.random.default_rng(3)
    base = data.normal(0.0, 1.0, size=500)
    shifted = data.normal(0.5, 1.0, size=500)
    same = data.normal(0.0, 1.0, size=500)
    gap = difference_interval(shifted, base, generator(1, "shift"))
    assert 0.3 < gap.low < 0.5 < gap.high < 0.7
    null = difference_interval(same, base, generator(1, "null"))
    assert null.low < 0.0 < null.high


def test_magnitude_of_an_interval() -> None:
    assert Interval(0.02, -0.01, 0.05).magnitude() == Interval(0.02, 0.0, 0.05)
    assert Interval(-0.2, -0.3, -0.1).magnitude() == Interval(0.2, 0.1, 0.3)
    assert Interval(0.2, 0.1, 0.3).magnitude() == Interval(0.2, 0.1, 0.3)


def test_same_seed_and_name_give_the_same_interval_others_do_not() -> None:
    sample = np.random.default_rng(4).random(50)
    one = mean_interval(sample, generator(13, "a"))
    assert mean_interval(sample, generator(13, "a")) == one
    assert mean_interval(sample, generator(13, "b")) != one
    assert mean_interval(sample, generator(14, "a")) != one


def test_an_empty_sample_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        mean_interval([], generator(1, "empty"))
