"""Fit both risk models on the earlier examples, evaluate on the later ones (scikit-learn).

Time split, not a random one: the model is trained on decisions before ``split_at`` and judged
on the decisions after it, as it would be used. Metrics on the later window: ROC AUC, Brier
score, calibration in five equal-count bins (mean predicted vs observed rate) and the lift of
the top decile (positive rate among the 10 % highest scores ÷ base rate). The prior is scored on
the same window, so the fit shows what it adds over the hand-set weights.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from pipeline.risk.features import FEATURE_NAMES
from pipeline.risk.model import PRIOR, Coefficients, RiskModel
from pipeline.tools.risk_fit.examples import Example

RISKS = ("churn", "escalation")
MIN_POSITIVES = 5
CALIBRATION_BINS = 5


class NotEnoughHistory(ValueError):
    """Too few examples or outcomes to fit or to evaluate."""


@dataclass(frozen=True)
class Split:
    """The time split: train on decisions before ``at``, evaluate on those from it."""

    at: datetime
    train: list[Example]
    test: list[Example]


def time_split(examples: Sequence[Example], train_share: float) -> Split:
    """Cut the decisions' time range at ``train_share`` of its length."""
    if not examples:
        raise NotEnoughHistory("no labelled decisions in the history")
    first = min(e.at for e in examples)
    last = max(e.at for e in examples)
    at = first + (last - first) * train_share
    return Split(at, [e for e in examples if e.at < at], [e for e in examples if e.at >= at])


def _matrix(examples: Sequence[Example]) -> np.ndarray:
    return np.array([[e.features[n] for n in FEATURE_NAMES] for e in examples], dtype=float)


def _labels(examples: Sequence[Example], risk: str) -> np.ndarray:
    return np.array([e.churned if risk == "churn" else e.escalated for e in examples], dtype=int)


def _check(y: np.ndarray, what: str) -> None:
    positives = int(y.sum())
    if positives < MIN_POSITIVES or len(y) - positives < MIN_POSITIVES:
        raise NotEnoughHistory(
            f"{what}: {positives} positive and {len(y) - positives} negative decisions; "
            f"need at least {MIN_POSITIVES} of each"
        )


def evaluate(y: np.ndarray, p: np.ndarray) -> dict[str, float | int | list[list[float]]]:
    """AUC, Brier, top-decile lift and calibration bins [mean predicted, observed, count]."""
    order = np.argsort(-p, kind="stable")
    top = order[: max(1, len(p) // 10)]
    base = float(y.mean())
    bins = [
        [round(float(p[b].mean()), 4), round(float(y[b].mean()), 4), len(b)]
        for b in np.array_split(order[::-1], CALIBRATION_BINS)
        if len(b)
    ]
    return {
        "auc": round(float(roc_auc_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "base_rate": round(base, 4),
        "top_decile_lift": round(float(y[top].mean()) / base, 3) if base else 0.0,
        "decisions": len(y),
        "positives": int(y.sum()),
        "calibration": bins,
    }


def _prior_probabilities(examples: Sequence[Example], coefficients: Coefficients) -> np.ndarray:
    return np.array([coefficients.score(e.features).probability for e in examples])


def fit(
    examples: Sequence[Example],
    *,
    churn_horizon_days: float,
    escalation_horizon_h: float,
    train_share: float = 0.7,
    c: float = 1.0,
) -> RiskModel:
    """Both models fitted on the earlier window, with the later window's metrics (and the
    prior's on the same window) in ``evaluation``."""
    split = time_split(examples, train_share)
    fitted: dict[str, Coefficients] = {}
    evaluation: dict[str, dict[str, float | int | list[list[float]]]] = {}
    x_train, x_test = _matrix(split.train), _matrix(split.test)
    for risk in RISKS:
        y_train, y_test = _labels(split.train, risk), _labels(split.test, risk)
        _check(y_train, f"{risk}, training window (before {split.at:%Y-%m-%d %H:%M})")
        _check(y_test, f"{risk}, evaluation window (from {split.at:%Y-%m-%d %H:%M})")
        model = LogisticRegression(C=c, max_iter=2000)
        model.fit(x_train, y_train)
        prior: Coefficients = getattr(PRIOR, risk)
        fitted[risk] = Coefficients(
            intercept=round(float(model.intercept_[0]), 4),
            weights={
                n: round(float(w), 4) for n, w in zip(FEATURE_NAMES, model.coef_[0], strict=True)
            },
            medium_at=prior.medium_at,
            high_at=prior.high_at,
        )
        evaluation[risk] = evaluate(y_test, model.predict_proba(x_test)[:, 1])
        evaluation[f"{risk}_prior"] = evaluate(y_test, _prior_probabilities(split.test, prior))
    digest = hashlib.sha256(
        json.dumps({k: v.model_dump() for k, v in fitted.items()}, sort_keys=True).encode()
    ).hexdigest()[:8]
    now = datetime.now(UTC)
    return RiskModel(
        version=f"fitted-{now:%Y%m%d%H%M}-{digest}",
        kind="fitted",
        churn_horizon_days=churn_horizon_days,
        escalation_horizon_h=escalation_horizon_h,
        churn=fitted["churn"],
        escalation=fitted["escalation"],
        fitted_at=now,
        evaluated_from=split.at,
        evaluation={
            "split": {"train": len(split.train), "test": len(split.test)},
            **evaluation,
        },
    )
