"""Fit the urgency layer on the fit split of the project's labelled customer messages.

Steps (no torch, seconds): score the fit messages with the model's heads (the layer, if the
card already has one, is ignored), build the layer's inputs, choose the L2 penalty by 5-fold
cross-validation (macro-F1 of the level the runtime reports: the higher of the layer's most
probable level and the weak-label head's thresholded level), then fit on every fit message and
store the layer and the cross-validated numbers in the model card. The held-out split is never
read here. ``python -m pipeline.training.urgency_layer MODEL_DIR`` refits a model directory.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.scoring import labelled, taxonomy
from pipeline.scoring.card import load_card
from pipeline.scoring.custom_intents.classifier import fit_logistic
from pipeline.scoring.custom_intents.threshold import fold_of
from pipeline.scoring.evaluate import EVAL_BUCKET
from pipeline.scoring.layers import LinearLayer, layer_inputs
from pipeline.scoring.quality import macro_f1_multilabel
from pipeline.scoring.scorer import Scorer
from pipeline.training.card_text import write_card
from pipeline.training.urgency_levels import urgency_levels_from

Array = np.ndarray[Any, Any]
FEATURES = ["embedding", "sentiment", "emotion", "intent", "urgency"]
L2_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
FOLDS = 5
ITERATIONS = 600


def macro_f1(y_true: Array, y_pred: Array) -> float:
    """Macro-F1 over the four urgency levels."""
    onehot = np.eye(len(taxonomy.URGENCY_LABELS), dtype=bool)
    return macro_f1_multilabel(onehot[y_true], onehot[y_pred])


def inputs_for(model_dir: Path, texts: Sequence[str]) -> tuple[Array, Array]:
    """The layer's input rows for ``texts`` under ``model_dir``'s heads (no existing layer),
    and the urgency head's own probabilities."""
    scorer = Scorer(model_dir, threads=1, bucket_size=EVAL_BUCKET)
    scorer.card = scorer.card.model_copy(update={"urgency_layer": None, "sentiment_layer": None})
    assert scorer.card.embedding_output is not None
    rows, heads = [], []
    for start in range(0, len(texts), 64):
        pooled, _ = scorer.pooled(texts[start : start + 64])
        probs = scorer.head_probabilities(pooled)
        rows.append(layer_inputs(pooled[scorer.card.embedding_output], probs, FEATURES))
        heads.append(probs["urgency"])
    return np.vstack(rows), np.vstack(heads)


def out_of_fold(inputs: Array, y_true: Array, l2: float) -> Array:
    """Level probabilities of each message from a layer fitted without its fold."""
    n_levels = len(taxonomy.URGENCY_LABELS)
    fold = fold_of(y_true, FOLDS)
    probs = np.zeros((len(y_true), n_levels))
    for k in range(FOLDS):
        train = fold != k
        model = fit_logistic(inputs[train], y_true[train], n_levels, l2=l2, iterations=ITERATIONS)
        probs[~train] = model.probabilities(inputs[~train])
    return probs


def fit(model_dir: Path, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Fit the layer for ``model_dir`` on the labelled fit split and store it in the card."""
    say = progress or (lambda _: None)
    card = load_card(model_dir)
    if card.embedding_output is None or card.head("urgency") is None:
        raise LookupError(f"{model_dir}: the model needs an embedding output and an urgency head")
    messages = labelled.load("fit")
    say(f"labelled fit split: {len(messages)} messages; scoring …")
    inputs, head_probs = inputs_for(model_dir, [m.text for m in messages])
    levels = list(taxonomy.URGENCY_LABELS)
    y_true = np.array([levels.index(m.urgency) for m in messages])
    weights = np.array([taxonomy.URGENCY_WEIGHTS[k] for k in levels])
    head_levels = urgency_levels_from(head_probs @ weights, card.urgency_levels)
    cv = {l2: out_of_fold(inputs, y_true, l2) for l2 in L2_GRID}
    # The runtime reports the higher of the layer's level and the head's (see scorer.py).
    combined = {l2: np.maximum(p.argmax(axis=1), head_levels) for l2, p in cv.items()}
    scores = {l2: macro_f1(y_true, c) for l2, c in combined.items()}
    best = max(L2_GRID, key=lambda l2: (scores[l2], l2))
    say("cross-validated macro-F1 by L2: " + ", ".join(f"{k:g} {v:.4f}" for k, v in scores.items()))
    model = fit_logistic(inputs, y_true, len(levels), l2=best, iterations=ITERATIONS)
    quality = {
        "cv_macro_f1_reported_level": round(scores[best], 4),
        "cv_macro_f1_layer_alone": round(macro_f1(y_true, cv[best].argmax(axis=1)), 4),
        "cv_macro_f1_weak_head_alone": round(macro_f1(y_true, head_levels), 4),
        "l2": best,
        "fit_messages": float(len(messages)),
    }
    layer = LinearLayer(
        labels=levels,
        features=FEATURES,
        weights=model.weights.round(6).tolist(),
        bias=model.bias.round(6).tolist(),
        fitted_on=f"fit split of the project's labelled set ({len(messages)} messages, "
        "data/labelled, docs/labelling.md); held-out split never used",
        quality=quality,
    )
    entry = {
        "method": f"multinomial logistic regression on {', '.join(FEATURES)}; L2 by {FOLDS}-fold "
        "CV; reported level = the higher of the layer's most probable level and the weak-label "
        "head's thresholded level (under-calling urgency costs more than over-calling)",
        **quality,
    }
    calibration = {**card.calibration, "urgency_layer": entry}
    updated = card.model_copy(update={"urgency_layer": layer, "calibration": calibration})
    write_card(updated, model_dir)
    say(
        f"urgency layer: L2 {best:g}, CV macro-F1 {scores[best]:.4f} for the reported level "
        f"(layer alone {quality['cv_macro_f1_layer_alone']:.4f}, weak head alone "
        f"{quality['cv_macro_f1_weak_head_alone']:.4f})"
    )
    return entry


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m pipeline.training.urgency_layer``."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.training.urgency_layer", description=__doc__.splitlines()[0]
    )
    parser.add_argument("model_dir", type=Path)
    args = parser.parse_args(argv)
    fit(args.model_dir, progress=lambda line: print(line, file=sys.stderr))
    return 0


if __name__ == "__main__":
    sys.exit(main())
