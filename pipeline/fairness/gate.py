"""The thresholds file and the one rule that turns a measured gap into pass or fail.

**Rule.** A gap *exceeds* its threshold when the lower end of the confidence interval of
``|gap|`` is above the threshold: the audit fails a model only when the data show, at the
chosen confidence, that the gap is larger than allowed. A gap whose interval merely reaches past
the threshold (too few sentences to tell) passes and shows its interval, so the reader sees the
uncertainty. Gaps with no threshold are reported as ``info``; labelled-set slices smaller than
``min_slice_size`` as ``small`` (not judged: their intervals are too wide to mean anything).

The file (default: the bundled ``data/audit/thresholds.yaml``) is validated strictly; an error
names the file and the path of the wrong field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.fairness.metrics import Interval
from pipeline.resources import SOURCE_ROOT, bundled

Status = Literal["pass", "fail", "info", "small"]
RULE = (
    "a gap exceeds its threshold when the lower end of the {confidence:.0%} confidence interval "
    "of |gap| is above the threshold"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GapThresholds(_Strict):
    """Largest allowed |gap| between two groups, per measure (None: report only)."""

    p_negative: float | None = Field(0.05, gt=0, le=1)
    urgency_score: float | None = Field(0.05, gt=0, le=1)
    top_intent_share: float | None = Field(0.10, gt=0, le=1)
    intent_agreement: float | None = Field(None, gt=0, le=1)


class SliceThresholds(_Strict):
    """Largest allowed |accuracy gap| between a slice of the labelled set and the rest."""

    sentiment: float | None = Field(0.10, gt=0, le=1)
    urgency: float | None = Field(0.10, gt=0, le=1)
    intent: float | None = Field(0.10, gt=0, le=1)


class Thresholds(_Strict):
    """The audit's settings and limits (one YAML file)."""

    confidence: float = Field(0.95, ge=0.5, lt=1)
    resamples: int = Field(2000, ge=200, le=100_000)
    min_slice_size: int = Field(30, ge=1)
    gaps: GapThresholds = GapThresholds()
    slices: SliceThresholds = SliceThresholds()

    def rule(self) -> str:
        """The pass/fail rule in words, with this file's confidence."""
        return RULE.format(confidence=self.confidence)


class ThresholdsFileError(ValueError):
    """The thresholds file is missing, not YAML, or has a wrong field (named in the message)."""


def default_thresholds_file() -> Path:
    """The bundled thresholds file (``data/audit/thresholds.yaml``)."""
    return bundled("audit") / "thresholds.yaml"


def shown_path(path: Path) -> str:
    """``path`` as reports show it: relative to the checkout when inside it."""
    resolved = path.resolve()
    return (
        str(resolved.relative_to(SOURCE_ROOT))
        if resolved.is_relative_to(SOURCE_ROOT)
        else str(path)
    )


def load_thresholds(path: Path | None = None) -> Thresholds:
    """Read and validate a thresholds file (default: the bundled one)."""
    path = path if path is not None else default_thresholds_file()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThresholdsFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ThresholdsFileError(f"{path}: not YAML: {exc}") from exc
    try:
        return Thresholds.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(top level)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ThresholdsFileError(f"{path}: {problems}") from exc


def judge(interval: Interval, threshold: float | None) -> Status:
    """``fail`` when the interval's lower end of |gap| is above ``threshold`` (module rule)."""
    if threshold is None:
        return "info"
    return "fail" if interval.magnitude().low > threshold else "pass"
