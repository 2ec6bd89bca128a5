"""Urgency levels read from the urgency score: thresholds chosen to maximise macro-F1."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.scoring import quality as M
from pipeline.scoring import taxonomy

Array = np.ndarray[Any, Any]


def urgency_levels_from(scores: Array, levels: dict[str, float]) -> Array:
    """Level ids (URGENCY_LABELS order) reached by urgency scores under ``levels`` thresholds."""
    out = np.zeros(len(scores), dtype=np.int64)
    for i, name in enumerate(taxonomy.URGENCY_LABELS):
        out[scores >= levels[name]] = i
    return out


def tune_urgency_levels(scores: Array, y_true: Array) -> tuple[dict[str, float], float, float]:
    """Grid-search the normal/high/critical thresholds (step 0.05) maximising macro-F1 of the
    thresholded level against the weak labels. Returns (levels, default F1, tuned F1)."""

    def f1(levels: dict[str, float]) -> float:
        predicted = urgency_levels_from(scores, levels)
        onehot = np.eye(len(taxonomy.URGENCY_LABELS), dtype=np.int64)
        return M.macro_f1_multilabel(onehot[y_true], onehot[predicted])

    default = dict(taxonomy.DEFAULT_URGENCY_LEVELS)
    best, best_f1 = default, f1(default)
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
    for normal in grid:
        for high in grid[grid > normal]:
            for critical in grid[grid > high]:
                levels = {"low": 0.0, "normal": normal, "high": high, "critical": critical}
                value = f1(levels)
                if value > best_f1 + 1e-9:
                    best, best_f1 = {k: float(v) for k, v in levels.items()}, value
    return best, f1(default), best_f1
