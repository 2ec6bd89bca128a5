"""``make models`` is seeded: two smoke builds with the same seed give byte-identical graphs.

A smoke build (one epoch over 48 rows per dataset, 48 evaluation rows) exercises the same code
as the full build (data loading, multi-head fine-tuning, ONNX export, int8 quantisation,
calibration, card), so byte equality here is the evidence that the full build is reproducible.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.scoring.card import file_sha256
from pipeline.scoring.datasets import resolve_data_dir
from pipeline.training import build


def _smoke(out: Path, seed: int) -> dict[str, object]:
    args = ["--epochs", "1", "--max-train", "48", "--max-eval", "48", "--seed", str(seed)]
    build.main([*args, "--out", str(out)])
    card: dict[str, object] = json.loads((out / "model_card.json").read_text())
    return card


def _metrics(card: dict[str, object]) -> dict[str, object]:
    values = card["metrics"]
    assert isinstance(values, dict)
    return {k: v for k, v in values.items() if k != "sequences_per_second"}  # timing differs


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    resolve_data_dir(None)  # a clear error (not a skip) when ../shared/data is missing
    first = _smoke(tmp_path / "a", seed=13)
    second = _smoke(tmp_path / "b", seed=13)
    other = _smoke(tmp_path / "c", seed=14)
    fp32 = [file_sha256(tmp_path / d / "model.fp32.onnx") for d in ("a", "b", "c")]
    assert fp32[0] == fp32[1] != fp32[2]
    assert first["sha256"] == second["sha256"] == file_sha256(tmp_path / "a" / "model.onnx")
    assert other["sha256"] != first["sha256"]
    assert _metrics(first) == _metrics(second)
