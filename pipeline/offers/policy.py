"""The offer policy file: which offers exist, who may get them, the budget and the cooldown."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.contracts.risk import RiskBand

DEFAULT_POLICY_FILE = Path(__file__).with_name("policy.yaml")
BANDS: tuple[RiskBand, ...] = ("low", "medium", "high")


class Offer(BaseModel):
    """One offer and its eligibility (empty lists: any tier, any intent)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=200)
    cost: float = Field(ge=0)
    min_churn_band: Literal["low", "medium", "high"]
    tiers: list[str] = Field(default_factory=list)
    intents: list[str] = Field(default_factory=list)
    requires_recent_purchase: bool = False
    requires_human: bool = False


class OfferPolicy(BaseModel):
    """The whole file; offers are tried in the order written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, max_length=32)
    daily_budget: float = Field(ge=0, description="Per UTC day of event time, all partitions.")
    cooldown_days: float = Field(gt=0, description="At most one offer per customer per window.")
    offers: list[Offer] = Field(min_length=1)
    fingerprint: str = ""

    @property
    def label(self) -> str:
        """``version@fingerprint``, as alerts name it."""
        return f"{self.version}@{self.fingerprint}"


class OfferPolicyError(ValueError):
    """The policy file is missing, not YAML, or does not validate (the message says where)."""


def load_policy(path: Path | None = None) -> OfferPolicy:
    """Read and validate a policy file (default: the bundled one)."""
    path = path or DEFAULT_POLICY_FILE
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise OfferPolicyError(f"offer policy {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise OfferPolicyError(f"offer policy {path}: the top level must be a mapping")
    data["fingerprint"] = hashlib.sha256(text.encode()).hexdigest()[:16]
    try:
        return OfferPolicy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise OfferPolicyError(f"offer policy {path}: {problems}") from exc
