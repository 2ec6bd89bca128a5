"""How well a pack labels messages it was not fitted on: ``cxstream intents eval`` and
``models eval``.

For 5, 10 and all examples per intent (the first n of each intent's list, so the numbers show
what writing more examples buys), the pack is fitted exactly as ``intents fit`` does and run
on held-out messages of its intents and on out-of-scope messages:

- ``accuracy``: held-out messages labelled with their intent *and* above the threshold (an
  in-scope message called ``out_of_scope`` counts as wrong);
- ``closed_accuracy``: the best intent, threshold ignored (what the examples alone give);
- ``oos_precision``: of the messages called ``out_of_scope``, the share that were;
- ``oos_recall``: of the out-of-scope messages, the share called ``out_of_scope``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.contracts.scores import OUT_OF_SCOPE
from pipeline.scoring.custom_intents.classifier import Method
from pipeline.scoring.custom_intents.embedding import Embedder
from pipeline.scoring.custom_intents.fit import (
    DEFAULT_METHOD,
    PackVectors,
    examples_of,
    fit_vectors,
)
from pipeline.scoring.custom_intents.pack import IntentPack, bundled_packs, load_pack
from pipeline.scoring.custom_intents.sources import HeldOut, heldout_for, oos_test
from pipeline.scoring.custom_intents.threshold import Scored

SHOTS: tuple[int | None, ...] = (5, 10, None)
"""Examples per intent to measure with (None: all of them)."""
HEADLINE_SHOTS = 10
"""The count ``custom_intent_accuracy_<pack>`` reports (issue 15)."""


@dataclass(frozen=True)
class ShotResult:
    """One fit of the pack with ``shots`` examples per intent, measured."""

    shots: str  # "5", "10" or "all"
    examples: int
    accuracy: float
    closed_accuracy: float
    in_scope_rejected: float
    oos_precision: float | None
    oos_recall: float | None
    confidence_threshold: float
    similarity_threshold: float
    cv_accuracy: float


@dataclass(frozen=True)
class PackMeasurement:
    """A pack measured at several example counts."""

    pack: str
    name: str
    method: str
    intents: int
    heldout: int
    oos: int
    results: tuple[ShotResult, ...]

    def metrics(self) -> dict[str, float]:
        """Flat numbers for ``models eval``: ``custom_intent_accuracy_<pack>`` (at 10
        examples per intent), per example count, and out-of-scope precision/recall with all."""
        out: dict[str, float] = {}
        for r in self.results:
            out[f"custom_intent_accuracy_{self.name}_{r.shots}"] = r.accuracy
            out[f"custom_intent_closed_accuracy_{self.name}_{r.shots}"] = r.closed_accuracy
            if r.shots == str(HEADLINE_SHOTS):
                out[f"custom_intent_accuracy_{self.name}"] = r.accuracy
            if r.shots == "all" and r.oos_precision is not None and r.oos_recall is not None:
                out[f"custom_intent_oos_precision_{self.name}"] = r.oos_precision
                out[f"custom_intent_oos_recall_{self.name}"] = r.oos_recall
        return out


def measure_pack(
    pack: IntentPack,
    embed: Embedder,
    heldout: HeldOut,
    oos_texts: Sequence[str] = (),
    *,
    shots: Iterable[int | None] = SHOTS,
    method: Method = DEFAULT_METHOD,
    progress: Callable[[str], None] | None = None,
) -> PackMeasurement:
    """Fit ``pack`` with each example count and measure it on ``heldout`` and ``oos_texts``.

    ``heldout`` maps intent names to messages; messages under ``out_of_scope`` join
    ``oos_texts``. Any other label the pack lacks is an error (a typo would skew the numbers).
    """
    say = progress or (lambda _: None)
    index = {intent.name: k for k, intent in enumerate(pack.intents)}
    unknown = sorted(set(heldout) - set(index) - {OUT_OF_SCOPE})
    if unknown:
        raise ValueError(f"held-out labels not in pack {pack.label}: {', '.join(unknown)}")
    in_texts = [t for label in index for t in heldout.get(label, [])]
    in_labels = np.array([index[label] for label in index for _ in heldout.get(label, [])])
    oos_all = [*oos_texts, *heldout.get(OUT_OF_SCOPE, [])]
    if not in_texts:
        raise ValueError(f"no held-out messages for any intent of pack {pack.label}")
    texts, _ = examples_of(pack, None)
    wanted = list(dict.fromkeys([*texts, *pack.out_of_scope_examples, *in_texts, *oos_all]))
    say(f"{pack.label}: embedding {len(wanted)} texts")
    vectors = embed(wanted)
    row = {text: i for i, text in enumerate(wanted)}

    def rows(items: Sequence[str]) -> Any:
        return vectors[[row[t] for t in items]] if items else np.zeros((0, vectors.shape[1]))

    held, oos, oos_examples = rows(in_texts), rows(oos_all), rows(pack.out_of_scope_examples)
    results = []
    for n in shots:
        sub_texts, sub_labels = examples_of(pack, n)
        data = PackVectors(rows(sub_texts), np.asarray(sub_labels), oos_examples)
        classifier, calibration = fit_vectors(data, len(index), method)
        held_scores = Scored.of(classifier, held, data.vectors)
        oos_scores = Scored.of(classifier, oos, data.vectors)
        right = held_scores.predicted == in_labels
        accepted = calibration.thresholds.accepts(held_scores.confidence, held_scores.similarity)
        rejected_oos = ~calibration.thresholds.accepts(oos_scores.confidence, oos_scores.similarity)
        called_oos = int(rejected_oos.sum() + (~accepted).sum())
        results.append(
            ShotResult(
                shots="all" if n is None else str(n),
                examples=len(sub_texts),
                accuracy=round(float((right & accepted).mean()), 4),
                closed_accuracy=round(float(right.mean()), 4),
                in_scope_rejected=round(float((~accepted).mean()), 4),
                oos_precision=round(float(rejected_oos.sum()) / called_oos, 4)
                if len(oos) and called_oos
                else None,
                oos_recall=round(float(rejected_oos.mean()), 4) if len(oos) else None,
                confidence_threshold=calibration.thresholds.confidence,
                similarity_threshold=calibration.thresholds.similarity,
                cv_accuracy=calibration.heldout_accuracy,
            )
        )
        say(f"{pack.label}: {results[-1].shots} examples per intent: accuracy {right.mean():.3f}")
    return PackMeasurement(
        pack=pack.label,
        name=pack.name,
        method=method,
        intents=len(index),
        heldout=len(in_texts),
        oos=len(oos_all),
        results=tuple(results),
    )


def measure_bundled(
    embed: Embedder,
    data_dir: Path,
    *,
    method: Method = DEFAULT_METHOD,
    progress: Callable[[str], None] | None = None,
) -> dict[str, PackMeasurement]:
    """Every bundled pack measured on its source dataset and CLINC150 ``oos_test``."""
    oos = oos_test(data_dir)
    out = {}
    for name, path in bundled_packs().items():
        pack = load_pack(path)
        out[name] = measure_pack(
            pack, embed, heldout_for(pack, data_dir), oos, method=method, progress=progress
        )
    return out


def render(measurement: PackMeasurement) -> str:
    """A small table: one row per example count."""
    lines = [
        f"{measurement.pack} ({measurement.method}): {measurement.intents} intents, "
        f"{measurement.heldout} held-out messages, {measurement.oos} out-of-scope messages",
        f"{'examples/intent':>15} {'accuracy':>9} {'closed':>7} {'in→oos':>7} "
        f"{'oos P':>6} {'oos R':>6} {'thresholds':>11} {'k-fold':>7}",
    ]

    def num(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    for r in measurement.results:
        lines.append(
            f"{r.shots:>15} {r.accuracy:>9.3f} {r.closed_accuracy:>7.3f} "
            f"{r.in_scope_rejected:>7.3f} {num(r.oos_precision):>6} {num(r.oos_recall):>6} "
            f"{r.confidence_threshold:>5.2f}/{r.similarity_threshold:<5.2f} {r.cv_accuracy:>7.3f}"
        )
    return "\n".join(lines)
