"""Evaluation metrics as small numpy functions (shared by the build and ``cxstream models eval``).

Labels are integer class ids; probabilities are rows summing to 1 (softmax) or independent
per-label probabilities (sigmoid).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

Array = np.ndarray[Any, Any]


def softmax(logits: Array, temperature: float = 1.0) -> Array:
    """Row-wise softmax of ``logits / temperature``."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: Array = e / e.sum(axis=-1, keepdims=True)
    return out


def sigmoid(logits: Array, temperature: float = 1.0) -> Array:
    """Element-wise logistic of ``logits / temperature``."""
    out: Array = 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64) / temperature))
    return out


def accuracy(y_true: Array, y_pred: Array) -> float:
    """Share of rows whose predicted class equals the true class."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.size == 0:
        raise ValueError("accuracy of an empty set")
    return float(np.mean(y_true == y_pred))


def macro_recall(y_true: Array, y_pred: Array, n_classes: int | None = None) -> float:
    """Unweighted mean over classes present in ``y_true`` of per-class recall."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    classes = np.unique(y_true) if n_classes is None else np.arange(n_classes)
    recalls = [float(np.mean(y_pred[y_true == c] == c)) for c in classes if np.any(y_true == c)]
    return float(np.mean(recalls))


def macro_f1_multilabel(y_true: Array, y_pred: Array) -> float:
    """Mean over labels (columns) of F1 on 0/1 matrices [rows, labels]; 0 F1 where undefined."""
    y_true = np.asarray(y_true).astype(bool)
    y_pred = np.asarray(y_pred).astype(bool)
    tp = np.sum(y_true & y_pred, axis=0).astype(np.float64)
    fp = np.sum(~y_true & y_pred, axis=0).astype(np.float64)
    fn = np.sum(y_true & ~y_pred, axis=0).astype(np.float64)
    denominator = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    return float(np.mean(f1))


def expected_calibration_error(probabilities: Array, y_true: Array, n_bins: int = 15) -> float:
    """ECE with equal-width confidence bins; confidence = max probability of each row.

    Σ_bins (|bin| / n) · |accuracy(bin) - mean confidence(bin)|, bins (k/n_bins, (k+1)/n_bins].
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    y_true = np.asarray(y_true)
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == y_true).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for low, high in itertools.pairwise(edges):
        in_bin = (confidence > low) & (confidence <= high)
        if np.any(in_bin):
            ece += float(np.mean(in_bin)) * abs(
                float(np.mean(correct[in_bin])) - float(np.mean(confidence[in_bin]))
            )
    return ece


def negative_log_likelihood(logits: Array, y_true: Array, temperature: float = 1.0) -> float:
    """Mean cross-entropy of softmax(logits / temperature) against integer labels."""
    probabilities = softmax(logits, temperature)
    rows = np.arange(len(y_true))
    return float(-np.mean(np.log(np.clip(probabilities[rows, np.asarray(y_true)], 1e-12, 1.0))))


def best_global_threshold(
    probabilities: Array, y_true: Array, grid: Array | None = None
) -> tuple[float, float]:
    """The single threshold (on all labels) that maximises multi-label macro-F1: (t, F1)."""
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2) if grid is None else grid
    scores = [macro_f1_multilabel(y_true, probabilities >= t) for t in grid]
    best = int(np.argmax(scores))
    return float(grid[best]), float(scores[best])


def fit_temperature(logits: np.ndarray[Any, Any], y_true: np.ndarray[Any, Any]) -> float:
    """The temperature T minimising the NLL of softmax(logits / T) (golden-section on log T).

    NLL is convex in 1/T, so the 1-D search over log T in [1/20, 20] finds the optimum.
    """
    low, high = math.log(0.05), math.log(20.0)
    ratio = (math.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return negative_log_likelihood(logits, y_true, math.exp(log_t))

    a, b = low, high
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = loss(c), loss(d)
    for _ in range(60):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = loss(d)
    return round(math.exp((a + b) / 2), 4)
