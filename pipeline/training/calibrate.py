"""Calibration of the built int8 model on held-out rows, and its int8-vs-fp32 accuracy drops.

Temperatures for the intent, banking77 and urgency heads, the emotion threshold and the
weak-label urgency levels. The sentiment head's rule is fitted separately
(``pipeline.training.sentiment_rule``), the urgency layer too (``pipeline.training.urgency_layer``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline.scoring import datasets as D
from pipeline.scoring import quality as M
from pipeline.scoring import taxonomy
from pipeline.scoring.card import HeadSpec
from pipeline.training.data_mix import Splits
from pipeline.training.progress import log
from pipeline.training.train import HEAD_NAMES, output_name
from pipeline.training.urgency_levels import tune_urgency_levels

Array = np.ndarray[Any, Any]


def run_onnx(model: Any, texts: Sequence[str], batch_size: int = 64) -> dict[str, Array]:
    """Outputs of an ``OnnxModel`` for ``texts`` (runtime truncation), in input order."""
    limit = model.card.max_length
    ids = [seq if len(seq) <= limit else seq[: limit - 1] + seq[-1:] for seq in model.encode(texts)]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    parts: dict[str, list[Array]] = {}
    for start in range(0, len(order), batch_size):
        outputs = model.run_ids([ids[i] for i in order[start : start + batch_size]])
        for name, values in outputs.items():
            parts.setdefault(name, []).append(values)
    inverse = np.argsort(np.array(order))
    return {name: np.concatenate(values)[inverse] for name, values in parts.items()}


def label_ids(values: Sequence[str | None], labels: Sequence[str]) -> Array:
    """Integer ids of labels (-1 for None)."""
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index[v] if v is not None else -1 for v in values], dtype=np.int64)


def emotion_matrix(rows: Sequence[D.Example]) -> Array:
    """0/1 matrix [rows, 28] of GoEmotions labels."""
    index = {label: i for i, label in enumerate(taxonomy.EMOTION_LABELS)}
    out = np.zeros((len(rows), len(index)), dtype=np.int64)
    for r, example in enumerate(rows):
        for name in example.emotions or ():
            out[r, index[name]] = 1
    return out


def calibrate(
    out: dict[str, dict[str, Array]],
    splits: Splits,
    labels: dict[str, list[str]],
    activations: dict[str, str],
) -> tuple[dict[str, Any], list[HeadSpec], dict[str, float]]:
    """Temperatures (intent, banking77, urgency), emotion threshold, weak-label urgency levels."""

    held_out = {
        "bank_holdout": splits.bank_holdout,
        "go_dev": splits.go_dev,
        "clinc_val": splits.clinc_val,
    }

    def stack(head: str, keys: Sequence[str], field: str) -> tuple[Array, Array]:
        logits, targets = [], []
        for key in keys:
            rows = held_out[key]
            y = label_ids([getattr(e, field) for e in rows], labels[head])
            logits.append(out[key][output_name(head)][y >= 0])
            targets.append(y[y >= 0])
        return np.concatenate(logits), np.concatenate(targets)

    # The sentiment head's temperature comes with its decision rule (sentiment_rule, fitted on
    # TweetEval val after the build).
    fit_sets = {
        "intent": (
            ["bank_holdout", "clinc_val", "go_dev"],
            "intent",
            "BANKING77 held-out train rows + CLINC150 val/oos_val + GoEmotions dev",
        ),
        "banking77": (["bank_holdout"], "banking77", "BANKING77 held-out train rows"),
        "urgency": (
            ["bank_holdout", "clinc_val", "go_dev"],
            "urgency",
            "BANKING77 held-out + CLINC150 val/oos_val + GoEmotions dev (rule labels)",
        ),
    }
    temperatures: dict[str, float] = {}
    report: dict[str, Any] = {}
    for head, (keys, field, described) in fit_sets.items():
        logits, y = stack(head, keys, field)
        t = M.fit_temperature(logits, y)
        temperatures[head] = t
        report[head] = {
            "temperature": t,
            "fitted_on": f"{described} ({len(y)} rows)",
            "nll_before": round(M.negative_log_likelihood(logits, y), 4),
            "nll_after": round(M.negative_log_likelihood(logits, y, t), 4),
        }
        log(f"   {head}: T={t:.3f} NLL {report[head]['nll_before']} → {report[head]['nll_after']}")

    probabilities = M.sigmoid(out["go_dev"][output_name("emotion")])
    threshold, dev_f1 = M.best_global_threshold(probabilities, emotion_matrix(splits.go_dev))
    log(f"   emotion threshold {threshold:.2f} (dev macro-F1 {dev_f1:.4f})")

    logits, y = stack("urgency", fit_sets["urgency"][0], "urgency")
    weights = np.array([taxonomy.URGENCY_WEIGHTS[k] for k in taxonomy.URGENCY_LABELS])
    scores = M.softmax(logits, temperatures["urgency"]) @ weights
    levels, default_f1, tuned_f1 = tune_urgency_levels(scores, y)
    log(f"   urgency levels {levels} (weak-label macro-F1 {default_f1:.4f} → {tuned_f1:.4f})")

    heads = [
        HeadSpec(
            name=h,
            output=output_name(h),
            activation=activations[h],
            labels=labels[h],
            temperature=temperatures.get(h, 1.0),
            threshold=threshold if h == "emotion" else None,
        )
        for h in HEAD_NAMES
    ]
    calibration = {
        "method": "temperature scaling (one T per softmax head, NLL on held-out int8 logits)",
        "temperatures": report,
        "emotion_threshold": {
            "threshold": threshold,
            "dev_macro_f1": round(dev_f1, 4),
            "fitted_on": f"GoEmotions dev ({len(splits.go_dev)} rows), grid 0.05..0.95 step 0.01",
        },
        "urgency_levels": {
            "levels": levels,
            "default": dict(taxonomy.DEFAULT_URGENCY_LEVELS),
            "weak_label_macro_f1_default": round(default_f1, 4),
            "weak_label_macro_f1_tuned": round(tuned_f1, 4),
            "note": "thresholds grid-searched (step 0.05) on the urgency calibration rows to "
            "maximise macro-F1 of the thresholded score against the rule-table labels",
        },
        "banking77_label_order": "banking77/categories.json",
    }
    return calibration, heads, levels


def int8_fp32_drops(
    int8: Any, fp32: Any, splits: Splits, labels: dict[str, list[str]]
) -> dict[str, float]:
    """How much SST-2 dev and BANKING77 test accuracy the int8 graph loses against fp32 (raw
    logits, so calibration plays no part)."""
    sentiment = labels["sentiment"]
    negative, positive = sentiment.index("negative"), sentiment.index("positive")
    y_sst2 = label_ids([e.sentiment for e in splits.sst2_dev], sentiment)
    y_bank = label_ids([e.banking77 for e in splits.bank_test], labels["banking77"])
    drops: dict[str, float] = {}
    accuracies: dict[str, tuple[float, float]] = {}
    for name, model in (("int8", int8), ("fp32", fp32)):
        logits = run_onnx(model, [e.text for e in splits.sst2_dev])[output_name("sentiment")]
        predicted = np.where(logits[:, positive] > logits[:, negative], positive, negative)
        sst2 = M.accuracy(y_sst2, predicted)
        bank_logits = run_onnx(model, [e.text for e in splits.bank_test])[output_name("banking77")]
        accuracies[name] = (sst2, M.accuracy(y_bank, bank_logits.argmax(axis=1)))
    drops["int8_fp32_sst2_dev_accuracy_drop"] = round(
        accuracies["fp32"][0] - accuracies["int8"][0], 4
    )
    drops["int8_fp32_banking77_test_accuracy_drop"] = round(
        accuracies["fp32"][1] - accuracies["int8"][1], 4
    )
    return drops
