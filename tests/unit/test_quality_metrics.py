"""The evaluation metrics of ``pipeline.scoring.quality`` on inputs small enough to work by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.scoring.quality import (
    accuracy,
    best_global_threshold,
    expected_calibration_error,
    fit_temperature,
    macro_f1_multilabel,
    macro_recall,
    negative_log_likelihood,
    sigmoid,
    softmax,
)

LN3 = math.log(3)


def test_softmax_of_0_and_ln3_is_a_quarter_and_three_quarters_per_row() -> None:
    logits = np.array([[0.0, LN3], [LN3, 0.0], [1000.0, 1000.0 + LN3]])
    expected = [[0.25, 0.75], [0.75, 0.25], [0.25, 0.75]]  # the last one does not overflow
    np.testing.assert_allclose(softmax(logits), expected)
    np.testing.assert_allclose(softmax(2 * logits, temperature=2.0), expected)
    np.testing.assert_allclose(softmax(np.array([0.0, LN3])), [0.25, 0.75])  # one row, 1-D


def test_softmax_and_sigmoid_compute_in_float64_whatever_comes_in() -> None:
    logits = np.array([[0.0, LN3]], dtype=np.float32)
    assert softmax(logits).dtype == sigmoid(logits).dtype == np.float64


def test_sigmoid_of_ln3_is_three_quarters() -> None:
    np.testing.assert_allclose(sigmoid(np.array([0.0, LN3, -LN3])), [0.5, 0.75, 0.25])
    np.testing.assert_allclose(sigmoid(np.array([2 * LN3]), temperature=2.0), [0.75])


def test_accuracy_is_the_share_of_rows_right() -> None:
    assert accuracy(np.array([0, 1, 2, 1]), np.array([0, 2, 2, 1])) == 0.75
    with pytest.raises(ValueError, match=r"^accuracy of an empty set$"):
        accuracy(np.array([]), np.array([]))


@pytest.mark.parametrize("n_classes", [None, 4])
def test_macro_recall_averages_the_classes_present(n_classes: int | None) -> None:
    """Recalls 1/2, 2/3 and 0 for classes 0, 1, 2 (class 3 never occurs): a mean of 7/18."""
    y_true = np.array([0, 0, 1, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 0])
    assert macro_recall(y_true, y_pred, n_classes) == pytest.approx(7 / 18)


def test_macro_f1_multilabel_averages_each_label_and_counts_an_empty_one_as_zero() -> None:
    """Label 0: tp 2, fn 1 → 4/5; label 1: tp 1, fp 1, fn 1 → 1/2; label 2: never → 0."""
    y_true = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 1, 0]])
    y_pred = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 0], [0, 0, 0]])
    assert macro_f1_multilabel(y_true, y_pred) == pytest.approx((0.8 + 0.5 + 0) / 3)


def test_expected_calibration_error_weighs_each_bin_gap_by_its_share() -> None:
    """Confidences 0.9 (right), 0.6 (wrong) and 0.7 (right), one per bin: gaps 0.1, 0.6, 0.3."""
    probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    y_true = np.array([0, 1, 1])
    assert expected_calibration_error(probabilities, y_true, n_bins=10) == pytest.approx(1 / 3)
    assert expected_calibration_error(np.array([[1.0, 0.0]]), np.array([0])) == 0.0


def test_expected_calibration_error_uses_15_equal_bins_by_default() -> None:
    """0.86 (right) and 0.87 (wrong) fall either side of 13/15 = 0.8667: two bins, gaps 0.14
    and 0.87; in one bin they would give |0.5 - 0.865| = 0.365 instead."""
    probabilities = np.array([[0.86, 0.14], [0.13, 0.87]])
    assert expected_calibration_error(probabilities, np.array([0, 0])) == pytest.approx(0.505)


def test_negative_log_likelihood_is_the_mean_of_minus_log_p_of_the_label() -> None:
    logits = np.array([[0.0, LN3], [0.0, LN3]])
    expected = (-math.log(0.75) - math.log(0.25)) / 2
    assert negative_log_likelihood(logits, np.array([1, 0])) == pytest.approx(expected)
    assert negative_log_likelihood(2 * logits, np.array([1, 0]), 2.0) == pytest.approx(expected)
    # A probability that underflows to 0 counts as 1e-12, not as infinity.
    impossible = negative_log_likelihood(np.array([[0.0, 1000.0]]), np.array([0]))
    assert impossible == pytest.approx(-math.log(1e-12))


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        pytest.param(None, (0.41, 1.0), id="default-grid-first-perfect-threshold"),
        pytest.param(np.array([0.2, 0.5, 0.7]), (0.5, 1.0), id="given-grid"),
    ],
)
def test_best_global_threshold_is_the_first_with_the_best_macro_f1(
    grid: np.ndarray | None, expected: tuple[float, float]
) -> None:
    """Label 0 is right for 0.4 < t ≤ 0.8, label 1 for 0.3 < t ≤ 0.6: both for (0.4, 0.6]."""
    probabilities = np.array([[0.8, 0.3], [0.4, 0.6]])
    y_true = np.array([[1, 0], [0, 1]])
    assert best_global_threshold(probabilities, y_true, grid) == expected


def test_the_default_threshold_grid_ends_at_0_95() -> None:
    """Only 0.97 < t ≤ 0.99 would separate these; below that every t gives F1 2/3."""
    probabilities = np.array([[0.99], [0.97]])
    threshold, f1 = best_global_threshold(probabilities, np.array([[1], [0]]))
    assert (threshold, f1) == (0.05, pytest.approx(2 / 3))


@pytest.mark.parametrize(
    ("scale", "temperature"),
    [
        pytest.param(2.0, 2.0, id="t-2"),
        pytest.param(0.5, 0.5, id="t-below-1"),
        pytest.param(25.0, 20.0, id="t-25-held-at-the-upper-bound-20"),
    ],
)
def test_fit_temperature_finds_the_temperature_that_matches_the_label_frequencies(
    scale: float, temperature: float
) -> None:
    """Logits (0, s ln 3) with label 1 three times in four: softmax at T = s gives 0.75."""
    logits = np.array([[0.0, scale * LN3]] * 4)
    assert fit_temperature(logits, np.array([1, 1, 1, 0])) == temperature
