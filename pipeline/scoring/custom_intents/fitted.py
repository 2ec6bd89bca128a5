"""A fitted intent pack: the JSON file ``cxstream intents fit`` writes and the worker loads.

It holds everything the worker needs (labels, weights, threshold, queue and priority of each
intent, the examples and their vectors for the reasons) and the identity of the model whose
embeddings it was fitted on. Embeddings differ from one model to the next, so a fitted file
only serves the model it names: loading it for another model is an error that says to re-fit.
Matrices are stored as base64 (little-endian float32 weights, float16 example vectors) to
keep the file small; everything else is plain JSON.
"""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.scoring.card import ModelCard
from pipeline.scoring.custom_intents.classifier import LinearSoftmax, Method
from pipeline.scoring.custom_intents.pack import PackError, Priority, describe_errors
from pipeline.scoring.custom_intents.threshold import Thresholds


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelRef(_Record):
    """The model a pack was fitted with."""

    name: str
    version: str
    sha256: str

    @classmethod
    def of(cls, card: ModelCard) -> ModelRef:
        return cls(name=card.name, version=card.version, sha256=card.sha256)

    def describe(self) -> str:
        return f"{self.name} {self.version} (sha256 {self.sha256[:12]}…)"


class PackedMatrix(_Record):
    """A numpy matrix as base64 of its little-endian bytes."""

    shape: list[int]
    dtype: Literal["float32", "float16"]
    data: str

    @classmethod
    def of(cls, array: Any, dtype: Literal["float32", "float16"] = "float32") -> PackedMatrix:
        values = np.ascontiguousarray(np.asarray(array), dtype=np.dtype(dtype).newbyteorder("<"))
        return cls(
            shape=list(values.shape), dtype=dtype, data=base64.b64encode(values.tobytes()).decode()
        )

    def array(self) -> np.ndarray[Any, Any]:
        raw = base64.b64decode(self.data)
        values = np.frombuffer(raw, dtype=np.dtype(self.dtype).newbyteorder("<"))
        return values.reshape(self.shape).astype(np.float64)


class FittedIntent(_Record):
    name: str
    description: str
    queue: str | None = None
    priority: Priority | None = None


class CalibrationRecord(_Record):
    """How the out-of-scope threshold was chosen (``threshold.py``) and what k-fold said."""

    rule: str
    folds: int
    heldout_accuracy: float
    in_scope_kept: float
    oos_rejected: float | None
    oos_examples: int


class FittedPack(_Record):
    """One pack fitted on one model's embeddings."""

    format: Literal["cxstream-intent-pack/1"] = "cxstream-intent-pack/1"
    pack: str
    version: str
    description: str
    source: str = Field(description="The pack file it was fitted from.")
    model: ModelRef
    method: Method
    intents: list[FittedIntent]
    weights: PackedMatrix
    bias: list[float]
    confidence_threshold: float = Field(
        ge=0, le=1, description="Out of scope below this best-intent probability…"
    )
    similarity_threshold: float = Field(
        ge=-1, le=1, description="…and below this similarity to the closest example."
    )
    calibration: CalibrationRecord
    examples: list[str]
    example_labels: list[int]
    example_vectors: PackedMatrix
    fitted_at: datetime
    fit_seconds: float

    @property
    def label(self) -> str:
        """``name@version`` of the pack."""
        return f"{self.pack}@{self.version}"

    def classifier(self) -> LinearSoftmax:
        return LinearSoftmax(weights=self.weights.array(), bias=np.asarray(self.bias))

    def thresholds(self) -> Thresholds:
        return Thresholds(self.confidence_threshold, self.similarity_threshold)


def save_fitted(fitted: FittedPack, path: Path) -> Path:
    """Write the fitted pack (creating the directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(fitted.model_dump_json(indent=1) + "\n", encoding="utf-8")
    return path


def load_fitted(path: Path, model: ModelRef | None = None) -> FittedPack:
    """Read a fitted pack; with ``model``, refuse one fitted with another model."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PackError(f"{path}: cannot read the fitted pack ({exc.strerror or exc})") from exc
    try:
        fitted = FittedPack.model_validate_json(text)
    except ValidationError as exc:
        raise PackError(
            describe_errors(str(path), exc) + " (not a fitted pack: run `cxstream intents fit`)"
        ) from exc
    if model is not None and fitted.model.sha256 != model.sha256:
        raise PackError(
            f"{path} was fitted with model {fitted.model.describe()}, not with "
            f"{model.describe()}: re-run `cxstream intents fit {fitted.source}` with this model"
        )
    return fitted
