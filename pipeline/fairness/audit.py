"""Run the fairness audit: score the corpus and the labelled set, measure gaps, judge them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel

from pipeline.fairness.corpus import build_corpus
from pipeline.fairness.gaps import GapResult, measure_gaps
from pipeline.fairness.gate import Thresholds
from pipeline.fairness.scoring import TextScorer, measure
from pipeline.fairness.slices import SliceResult, measure_slices
from pipeline.scoring import labelled
from pipeline.scoring.labelled import LabelledMessage

DEFAULT_SEED = 13
LABELLED_SPLIT: labelled.Split = "heldout"
"""Slices use the held-out split only: the urgency layer and thresholds were fitted on the rest."""


class AuditReport(BaseModel):
    """Everything ``cxstream audit --json`` prints and the model card stores."""

    model: dict[str, str]
    seed: int
    confidence: float
    resamples: int
    thresholds_file: str
    rule: str
    corpus: dict[str, int]
    labelled: dict[str, int | str]
    gaps: list[GapResult]
    slices: list[SliceResult]
    passed: bool
    failures: list[str]


def run_audit(
    scorer: TextScorer,
    thresholds: Thresholds,
    *,
    seed: int = DEFAULT_SEED,
    model: dict[str, str] | None = None,
    thresholds_file: str = "",
    messages: Sequence[LabelledMessage] | None = None,
) -> AuditReport:
    """Audit ``scorer``; ``messages`` default to the bundled labelled set's held-out split
    (pass ``()`` to skip the slices)."""
    sentences = build_corpus()
    measures = measure(scorer, [s.text for s in sentences])
    gaps = measure_gaps(sentences, measures, thresholds, seed)
    rows = labelled.load(LABELLED_SPLIT) if messages is None else list(messages)
    slices = measure_slices(scorer, rows, thresholds, seed)
    failed = [g.sentence() for g in gaps if g.status == "fail"]
    failed += [s.sentence() for s in slices if s.status == "fail"]
    families = Counter(s.family for s in sentences)
    return AuditReport(
        model=model or {},
        seed=seed,
        confidence=thresholds.confidence,
        resamples=thresholds.resamples,
        thresholds_file=thresholds_file,
        rule=thresholds.rule(),
        corpus={"sentences": len(sentences), **dict(sorted(families.items()))},
        labelled={"split": LABELLED_SPLIT if messages is None else "given", "messages": len(rows)},
        gaps=gaps,
        slices=slices,
        passed=not failed,
        failures=failed,
    )
