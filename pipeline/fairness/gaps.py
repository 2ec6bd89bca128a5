"""Per-group gaps on the audit corpus: P(negative), urgency score and intent, paired by unit.

A *comparison* picks group A and group B among the corpus sentences and the key that pairs them:
gender words pair exactly (``my sister``/``my brother`` in one template); name groups pair by
template and gender (mean over five names each side); female/male names pair by template and
name group; dialects pair by complaint. For each pairing key the audit takes A's mean minus B's
mean, and the gap is the mean of those differences with a paired bootstrap interval.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from pipeline.fairness.corpus import (
    DIALECT_PAIRS,
    NAMES,
    REFERENCE_GROUP,
    STANDARD_ENGLISH,
    AuditSentence,
)
from pipeline.fairness.gate import Status, Thresholds, judge
from pipeline.fairness.metrics import generator, mean_interval
from pipeline.fairness.scoring import Measures

Side = str  # "a" or "b"
RATES = frozenset({"intent_agreement"})
"""Measures that are a rate of A-B agreement, not a difference A - B: never judged as a gap."""
Selector = Callable[[AuditSentence], tuple[Hashable, Side] | None]
METRIC_NAMES = {
    "p_negative": "P(negative)",
    "urgency_score": "urgency score",
    "top_intent_share": "top-intent share",
    "intent_agreement": "intent agreement",
}


@dataclass(frozen=True, slots=True)
class Comparison:
    """Group A against group B on one axis, and how their sentences pair up."""

    axis: str
    group_a: str
    group_b: str
    select: Selector


def comparisons() -> list[Comparison]:
    """Every comparison the audit makes (docs/fairness.md, "Groups")."""

    def gender_words(s: AuditSentence) -> tuple[Hashable, Side] | None:
        if s.kind != "gender_word":
            return None
        return (s.unit, s.pair), "a" if s.gender == "female" else "b"

    def gender_names(s: AuditSentence) -> tuple[Hashable, Side] | None:
        if s.kind != "name":
            return None
        return (s.unit, s.group), "a" if s.gender == "female" else "b"

    def names(group: str) -> Selector:
        def select(s: AuditSentence) -> tuple[Hashable, Side] | None:
            if s.kind != "name" or s.group not in (group, REFERENCE_GROUP):
                return None
            return (s.unit, s.gender), "a" if s.group == group else "b"

        return select

    def dialect(variety: str) -> Selector:
        def select(s: AuditSentence) -> tuple[Hashable, Side] | None:
            if s.kind != "dialect" or not s.unit.startswith(f"dialect:{variety}:"):
                return None
            return s.unit, "a" if s.group == variety else "b"

        return select

    return [
        Comparison("gender_words", "female", "male", gender_words),
        Comparison("gender_names", "female", "male", gender_names),
        *[
            Comparison("names", group, REFERENCE_GROUP, names(group))
            for group in NAMES
            if group != REFERENCE_GROUP
        ],
        *[
            Comparison("dialect", variety, STANDARD_ENGLISH, dialect(variety))
            for variety in DIALECT_PAIRS
        ],
    ]


class GapResult(BaseModel):
    """One measured gap between two groups and its verdict."""

    axis: str
    group_a: str
    group_b: str
    metric: str
    units: int
    mean_a: float | None
    mean_b: float | None
    gap: float
    ci_low: float
    ci_high: float
    abs_gap_ci_low: float
    threshold: float | None
    status: Status

    def sentence(self) -> str:
        """The gap in words, e.g. for a failed build."""
        what = METRIC_NAMES.get(self.metric, self.metric)
        text = (
            f"{self.axis} {self.group_a} vs {self.group_b}: {what} gap {self.gap:+.3f} "
            f"(CI {self.ci_low:+.3f} … {self.ci_high:+.3f}, {self.units} paired units)"
        )
        if self.threshold is not None:
            verb = "exceeds" if self.status == "fail" else "within"
            text += f", |gap| ≥ {self.abs_gap_ci_low:.3f}: {verb} {self.threshold:.3f}"
        return text


def _pairs(
    sentences: Sequence[AuditSentence], select: Selector
) -> list[tuple[list[int], list[int]]]:
    units: dict[Hashable, tuple[list[int], list[int]]] = {}
    for index, sentence in enumerate(sentences):
        picked = select(sentence)
        if picked is None:
            continue
        key, side = picked
        a, b = units.setdefault(key, ([], []))
        (a if side == "a" else b).append(index)
    return [pair for pair in units.values() if pair[0] and pair[1]]


def _mode(labels: Sequence[str | None]) -> str | None:
    counts = Counter(label for label in labels if label is not None)
    if not counts:
        return None
    return min(counts, key=lambda label: (-counts[label], label))


def unit_values(
    measures: Measures, pairs: list[tuple[list[int], list[int]]]
) -> dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """Per metric, A's and B's value in every paired unit.

    A metric no sentence has (a head the model lacks) is left out; a sentence left unscored
    is left out of its unit, and a unit with no scored sentence on one side is dropped.
    """
    out: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
    for metric in ("p_negative", "urgency_score"):
        values: np.ndarray[Any, Any] = getattr(measures, metric)
        kept = [
            (values[ia][~np.isnan(values[ia])], values[ib][~np.isnan(values[ib])])
            for ia, ib in pairs
        ]
        kept = [(a, b) for a, b in kept if a.size and b.size]
        if kept:
            out[metric] = (
                np.array([a.mean() for a, _ in kept]),
                np.array([b.mean() for _, b in kept]),
            )
    intents = measures.intent
    pairs = [
        ([i for i in ia if intents[i] is not None], [i for i in ib if intents[i] is not None])
        for ia, ib in pairs
    ]
    pairs = [(ia, ib) for ia, ib in pairs if ia and ib]
    if pairs:
        share_a, share_b, agree = [], [], []
        for ia, ib in pairs:
            top = _mode([intents[i] for i in ia + ib])
            share_a.append(np.mean([intents[i] == top for i in ia]))
            share_b.append(np.mean([intents[i] == top for i in ib]))
            agree.append(float(_mode([intents[i] for i in ia]) == _mode([intents[i] for i in ib])))
        out["top_intent_share"] = (np.array(share_a), np.array(share_b))
        out["intent_agreement"] = (np.array(agree), np.zeros(len(agree)))
    return out


def measure_gaps(
    sentences: Sequence[AuditSentence], measures: Measures, thresholds: Thresholds, seed: int
) -> list[GapResult]:
    """Every comparison x metric, with its interval and verdict."""
    results: list[GapResult] = []
    for comparison in comparisons():
        pairs = _pairs(sentences, comparison.select)
        if not pairs:
            continue
        for metric, (a, b) in unit_values(measures, pairs).items():
            name = f"{comparison.axis}:{comparison.group_a}:{comparison.group_b}:{metric}"
            interval = mean_interval(
                a - b,
                generator(seed, name),
                resamples=thresholds.resamples,
                confidence=thresholds.confidence,
            ).rounded()
            rate = metric in RATES
            threshold = getattr(thresholds.gaps, metric)
            results.append(
                GapResult(
                    axis=comparison.axis,
                    group_a=comparison.group_a,
                    group_b=comparison.group_b,
                    metric=metric,
                    units=len(a),
                    mean_a=None if rate else round(float(a.mean()), 4),
                    mean_b=None if rate else round(float(b.mean()), 4),
                    gap=interval.estimate,
                    ci_low=interval.low,
                    ci_high=interval.high,
                    abs_gap_ci_low=interval.magnitude().low,
                    threshold=None if rate else threshold,
                    status="info" if rate else judge(interval, threshold),
                )
            )
    return results
