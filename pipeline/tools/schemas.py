"""JSON Schemas in ``schemas/``, generated from the pydantic models (``cxstream schemas``)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from pipeline.contracts.privacy import ErasureAudit, ErasureRequest
from pipeline.contracts.raw import RAW_MODELS
from pipeline.contracts.records import (
    DeadLetter,
    DuplicateDrop,
    Enriched,
    IdentityLink,
    Interaction,
)
from pipeline.contracts.trends import Trend, TrendSample
from pipeline.contracts.workflow import Alert, Profile
from pipeline.resources import bundled
from pipeline.risk.model import RiskModel

SCHEMA_DIR = bundled("schemas")


def _models() -> dict[str, type[BaseModel]]:
    models: dict[str, type[BaseModel]] = {f"raw-{c}": m for c, m in RAW_MODELS.items()}
    models.update(
        {
            "interaction": Interaction,
            "enriched": Enriched,
            "deadletter": DeadLetter,
            "duplicate": DuplicateDrop,
            "identity-link": IdentityLink,
            "alert": Alert,
            "profile": Profile,
            "erasure-request": ErasureRequest,
            "erasure-audit": ErasureAudit,
            "risk-model": RiskModel,
            "trend": Trend,
            "trend-sample": TrendSample,
        }
    )
    return models


def render() -> dict[str, str]:
    """File name → schema text for every model."""
    files = {}
    for name, model in _models().items():
        schema = model.model_json_schema(by_alias=True)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://cxstream.dev/schemas/{name}.json"
        files[f"{name}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def stale_schemas(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that are missing or differ from the models."""
    stale = []
    for name, text in render().items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            stale.append(name)
    return stale
