"""A transparent logistic model per risk: intercept + Σ weight * feature, every term shown.

The coefficients file (JSON, :class:`RiskModel`) is what ``cxstream risk fit`` writes and what
the worker loads (``CXSTREAM_RISK_MODEL``); without one the worker uses :data:`PRIOR`, weights
set by hand from what a support team would expect (documented in docs/risk.md), so a new
deployment has a ranked, explained score from its first message and replaces it with fitted
weights once outcomes have been collected.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, model_validator

from pipeline.contracts.risk import RiskAssessment, RiskBand, RiskDriver, RiskScore
from pipeline.risk.features import FEATURE_NAMES, describe


class Coefficients(BaseModel):
    """One logistic model: log-odds = intercept + Σ weights[f] * features[f]."""

    intercept: float
    weights: dict[str, float]
    medium_at: float = Field(0.3, gt=0, lt=1, description="Band 'medium' from this probability.")
    high_at: float = Field(0.6, gt=0, lt=1, description="Band 'high' from this probability.")

    @model_validator(mode="after")
    def _known_features(self) -> Coefficients:
        unknown = sorted(set(self.weights) - set(FEATURE_NAMES))
        if unknown:
            raise ValueError(f"unknown features {unknown}; known: {list(FEATURE_NAMES)}")
        if self.medium_at >= self.high_at:
            raise ValueError("medium_at must be below high_at")
        return self

    def score(self, features: dict[str, float]) -> RiskScore:
        """The probability, its band and the non-zero drivers, largest |contribution| first."""
        drivers = [
            RiskDriver(
                feature=name,
                value=features[name],
                contribution=round(weight * features[name], 4),
                text=f"{describe(name, features[name])} ({weight * features[name]:+.2f})",
            )
            for name, weight in self.weights.items()
            if weight * features[name] != 0
        ]
        drivers.sort(key=lambda d: (-abs(d.contribution), d.feature))
        logit = self.intercept + sum(d.contribution for d in drivers)
        probability = round(1 / (1 + math.exp(-max(-30.0, min(30.0, logit)))), 4)
        band: RiskBand = (
            "high"
            if probability >= self.high_at
            else "medium"
            if probability >= self.medium_at
            else "low"
        )
        return RiskScore(probability=probability, band=band, drivers=drivers)


class RiskModel(BaseModel):
    """Both risk models and where they came from (the coefficients file)."""

    version: str = Field(max_length=64)
    kind: str = Field(description="'prior' (hand-set weights) or 'fitted' (cxstream risk fit).")
    churn_horizon_days: float = Field(gt=0)
    escalation_horizon_h: float = Field(gt=0)
    churn: Coefficients
    escalation: Coefficients
    fitted_at: datetime | None = None
    evaluated_from: datetime | None = Field(
        None,
        description="Time split: fitted on decisions before it, evaluated from it.",
    )
    evaluation: dict[str, dict[str, float | int | list[list[float]]]] = Field(
        default_factory=dict, description="Held-out metrics per risk, from the fit."
    )

    def assess(
        self, features: dict[str, float], at: datetime, interaction_id: str
    ) -> RiskAssessment:
        """Both scores for one message's features."""
        return RiskAssessment(
            churn_risk=self.churn.score(features),
            escalation_risk=self.escalation.score(features),
            model_version=self.version,
            assessed_at=at,
            interaction_id=interaction_id,
        )


PRIOR = RiskModel(
    version="prior-1",
    kind="prior",
    churn_horizon_days=30,
    escalation_horizon_h=24,
    churn=Coefficients(
        intercept=-3.0,
        weights={
            "intent_cancellation": 2.2,
            "negative_share": 1.2,
            "intent_complaint": 0.7,
            "sentiment_drop": 0.6,
            "repeat_contact": 0.5,
            "open_alerts": 0.3,
            "contacts_7d": 0.1,
            "waiting_h": 0.02,
            "sentiment_now": -0.5,
            "recent_purchase": -0.8,
            "tenure_log_days": -0.15,
            "vip": -0.2,
        },
    ),
    escalation=Coefficients(
        intercept=-2.5,
        weights={
            "urgency": 2.0,
            "intent_complaint": 1.0,
            "negative_share": 1.0,
            "intent_cancellation": 0.5,
            "repeat_contact": 0.6,
            "open_alerts": 0.4,
            "waiting_h": 0.03,
            "sentiment_now": -1.0,
        },
    ),
)
"""Cold-start weights (docs/risk.md explains each); replaced by ``cxstream risk fit``."""


def load_model(path: Path | None) -> RiskModel:
    """The coefficients file at ``path``, or :data:`PRIOR`; errors name the file."""
    if path is None:
        return PRIOR
    try:
        return RiskModel.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"risk model {path}: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ValueError(f"risk model {path}: {where}: {first['msg']}") from exc
