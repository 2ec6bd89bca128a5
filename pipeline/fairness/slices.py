"""Accuracy of the labelled CX set by channel and by language, each slice against the rest.

The held-out split of ``data/labelled`` (never used to fit anything) is scored once; every
slice reports sentiment, urgency-level and intent accuracy with a bootstrap interval, and the
gap to all other messages with an unpaired interval; a slice is judged only when it and the
rest both hold at least ``min_slice_size`` messages (``small`` otherwise). Language is what the
stream would record (``detect_language`` of the standardise stage; ``und`` when it cannot tell).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel

from pipeline.fairness.gate import Status, Thresholds, judge
from pipeline.fairness.metrics import difference_interval, generator, mean_interval
from pipeline.fairness.scoring import Measures, TextScorer, measure
from pipeline.scoring.labelled import LabelledMessage
from pipeline.standardise.normalise.language import detect_language

UNDETERMINED = "und"


class SliceResult(BaseModel):
    """One slice of the labelled set on one task, against the rest of the set."""

    by: str
    slice: str
    task: str
    n: int
    accuracy: float
    ci_low: float
    ci_high: float
    rest_accuracy: float | None
    gap: float | None
    gap_ci_low: float | None
    gap_ci_high: float | None
    abs_gap_ci_low: float | None
    threshold: float | None
    status: Status

    def sentence(self) -> str:
        """The slice in words, e.g. for a failed build."""
        text = (
            f"labelled {self.by}={self.slice} {self.task} accuracy {self.accuracy:.3f} "
            f"(CI {self.ci_low:.3f} … {self.ci_high:.3f}, n {self.n})"
        )
        if self.gap is not None:
            text += f", {self.gap:+.3f} vs the rest"
        if self.threshold is not None and self.abs_gap_ci_low is not None:
            verb = "exceeds" if self.status == "fail" else "within"
            text += f", |gap| ≥ {self.abs_gap_ci_low:.3f}: {verb} {self.threshold:.3f}"
        return text


def _slicers() -> dict[str, Callable[[LabelledMessage], str]]:
    return {
        "channel": lambda m: m.channel,
        "language": lambda m: detect_language(m.text) or UNDETERMINED,
    }


def _correct(
    messages: Sequence[LabelledMessage], measures: Measures
) -> dict[str, np.ndarray[Any, Any]]:
    """Per task the model has, 1.0 where its label matches the message's label."""
    truth = {
        "sentiment": ([m.sentiment for m in messages], measures.sentiment_label),
        "urgency": ([m.urgency for m in messages], measures.urgency_level),
        "intent": ([m.intent for m in messages], measures.intent),
    }
    # A message left unscored (e.g. a language the model does not read) counts as wrong: the
    # customer got no answer. A task no message was scored on is a head the model lacks.
    return {
        task: np.array([float(t == p) for t, p in zip(labels, predicted, strict=True)])
        for task, (labels, predicted) in truth.items()
        if any(p is not None for p in predicted)
    }


def measure_slices(
    scorer: TextScorer,
    messages: Sequence[LabelledMessage],
    thresholds: Thresholds,
    seed: int,
) -> list[SliceResult]:
    """Every channel and language slice x task, with intervals and verdicts."""
    if not messages:
        return []
    correct = _correct(messages, measure(scorer, [m.text for m in messages]))
    results: list[SliceResult] = []
    for by, slicer in _slicers().items():
        names = np.array([slicer(m) for m in messages])
        for name in sorted(set(names.tolist())):
            inside = names == name
            for task, hits in correct.items():
                results.append(_one(by, name, task, hits[inside], hits[~inside], thresholds, seed))
    return results


def _one(
    by: str,
    name: str,
    task: str,
    inside: np.ndarray[Any, Any],
    rest: np.ndarray[Any, Any],
    thresholds: Thresholds,
    seed: int,
) -> SliceResult:
    key = f"slice:{by}:{name}:{task}"
    resamples, confidence = thresholds.resamples, thresholds.confidence
    accuracy = mean_interval(
        inside, generator(seed, key), resamples=resamples, confidence=confidence
    ).rounded()
    # Judged only when both sides are big enough: "English vs 15 other messages" says little.
    small = min(inside.size, rest.size) < thresholds.min_slice_size
    threshold: float | None = getattr(thresholds.slices, task)
    gap = None
    if rest.size:
        gap = difference_interval(
            inside, rest, generator(seed, f"{key}:gap"), resamples=resamples, confidence=confidence
        ).rounded()
    status: Status = "small" if small else ("info" if gap is None else judge(gap, threshold))
    return SliceResult(
        by=by,
        slice=name,
        task=task,
        n=int(inside.size),
        accuracy=accuracy.estimate,
        ci_low=accuracy.low,
        ci_high=accuracy.high,
        rest_accuracy=round(float(rest.mean()), 4) if rest.size else None,
        gap=None if gap is None else gap.estimate,
        gap_ci_low=None if gap is None else gap.low,
        gap_ci_high=None if gap is None else gap.high,
        abs_gap_ci_low=None if gap is None else gap.magnitude().low,
        threshold=threshold,
        status=status,
    )
