"""pipeline.tools.bench.torch_side: the naive transformers baseline and the DistilBERT anchor."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.scoring.card import file_sha256, load_card
from pipeline.scoring.onnx_model import OnnxModel
from pipeline.tools.bench import torch_side
from tests.train.conftest import TEXTS

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the module as `cxstream bench` does: a child process of the training venv."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.tools.bench.torch_side", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
        timeout=300,
    )


def result_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The single JSON object on stdout of a successful run."""
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout  # progress must go to stderr
    result: dict[str, Any] = json.loads(lines[0])
    return result


@pytest.fixture(scope="module")
def anchor(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The DistilBERT anchor built once for this module: (directory, first run's JSON)."""
    out = tmp_path_factory.mktemp("anchor") / "distilbert"
    return out, result_of(cli("distilbert", "--out", str(out)))


def test_naive_reports_a_run_over_the_first_limit_texts(tmp_path: Path) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    assert len(TEXTS) == 20

    result = result_of(cli("naive", "--texts", str(texts), "--limit", "10"))

    assert result["texts"] == 10
    assert result["naive_eps"] > 0
    assert result["seconds"] > 0
    assert result["torch_threads"] >= 1
    assert result["model"] == torch_side.NAIVE_MODEL


def test_distilbert_anchor_is_a_servable_model_dir(anchor: tuple[Path, dict[str, Any]]) -> None:
    import onnxruntime as ort

    out, result = anchor
    assert result["built"] is True
    assert result["out"] == str(out)
    card = load_card(out)
    assert card.name == torch_side.ANCHOR_NAME
    assert card.created_with["generator"] == torch_side.ANCHOR_GENERATOR
    assert card.sha256 == result["sha256"] == file_sha256(out / "model.onnx")
    assert "per-channel" in card.quantization
    assert card.heads[0].name == "sentiment"
    assert card.heads[0].labels == ["negative", "neutral", "positive"]
    assert card.max_length == torch_side.ANCHOR_MAX_LENGTH
    assert "cx-anchor-" not in (out / "MODEL_CARD.md").read_text(encoding="utf-8")

    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    runtime = OnnxModel(out)
    ids = runtime.encode(TEXTS[:2])
    width = max(len(seq) for seq in ids)
    input_ids = np.zeros((2, width), dtype=np.int64)
    mask = np.zeros_like(input_ids)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)], mask[row, : len(seq)] = seq, 1
    (logits,) = session.run(["logits"], {"input_ids": input_ids, "attention_mask": mask})
    assert logits.shape == (2, 3)
    assert np.isfinite(logits).all()
    np.testing.assert_allclose(runtime.run(TEXTS[:2])["logits"], logits, atol=1e-5)


def test_distilbert_rerun_is_a_no_op(anchor: tuple[Path, dict[str, Any]]) -> None:
    out, first = anchor
    written = (out / "model.onnx").stat().st_mtime_ns
    again = result_of(cli("distilbert", "--out", str(out)))

    # nothing exported again: the same model, the file untouched
    assert again["built"] is False
    assert again["sha256"] == first["sha256"]
    assert (out / "model.onnx").stat().st_mtime_ns == written


def test_distilbert_refuses_to_replace_another_model(
    anchor: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    other = tmp_path / "other"
    shutil.copytree(anchor[0], other)
    card = load_card(other).model_copy(update={"name": "cx-minilm-multihead"})
    (other / "model_card.json").write_text(card.model_dump_json(), encoding="utf-8")

    proc = cli("distilbert", "--out", str(other))

    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "refusing to replace" in proc.stderr
    assert load_card(other).name == "cx-minilm-multihead"


@pytest.mark.parametrize("content", [None, "\n  \n"], ids=["missing", "empty"])
def test_naive_rejects_missing_or_empty_texts(
    tmp_path: Path, content: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = tmp_path / "texts.txt"
    if content is not None:
        texts.write_text(content, encoding="utf-8")

    assert torch_side.main(["naive", "--texts", str(texts)]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert str(texts) in captured.err


def test_missing_training_stack_says_run_train_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("hello\n", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError

    assert torch_side.main(["naive", "--texts", str(texts)]) == 2
    assert torch_side.main(["distilbert", "--out", str(tmp_path / "anchor")]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("make train-setup") == 2


def test_help_lists_both_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        torch_side.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "naive" in out
    assert "distilbert" in out


def test_minilm_pair_exports_the_same_encoder_fp32_and_int8(tmp_path: Path) -> None:
    first = torch_side.minilm_pair(tmp_path / "pair")
    assert first["built"] is True
    fp32, int8 = OnnxModel(Path(first["fp32"])), OnnxModel(Path(first["int8"]))
    assert (Path(first["int8"]) / "model.onnx").stat().st_size < (
        Path(first["fp32"]) / "model.onnx"
    ).stat().st_size / 2  # int8 weights
    logits = {
        name: model.run(TEXTS[:4])["logits"] for name, model in (("fp32", fp32), ("int8", int8))
    }
    assert logits["fp32"].shape == logits["int8"].shape == (4, 3)
    assert np.abs(logits["fp32"] - logits["int8"]).max() < 0.5  # same model, quantised
    again = torch_side.minilm_pair(tmp_path / "pair")
    assert again["built"] is False
