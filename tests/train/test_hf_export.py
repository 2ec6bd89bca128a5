"""export_checkpoint: Hugging Face checkpoint → servable cxstream model directory."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from pipeline.scoring.card import ModelCard, file_sha256
from pipeline.scoring.onnx_model import OnnxModel
from pipeline.scoring.scorer import Scorer
from pipeline.training.hf_export import MODEL_FILES, export_checkpoint
from tests.train.conftest import TEXTS

SENTIMENT = ["negative", "neutral", "positive"]


class Export:
    """One export's directory, returned card and progress messages."""

    def __init__(self, out: Path, card: ModelCard, messages: list[str]) -> None:
        self.out, self.card, self.messages = out, card, messages


def run_export(source: Path | str, out: Path, **kwargs: Any) -> Export:
    messages: list[str] = []
    card = export_checkpoint(str(source), out, progress=messages.append, **kwargs)
    return Export(out, card, messages)


def compare(checkpoint: Path, out: Path) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(runtime logits of TEXTS as one padded batch, torch logits of each text alone)."""
    from transformers import AutoModelForSequenceClassification

    runtime = OnnxModel(out)
    ids = runtime.encode(TEXTS)
    assert max(len(seq) for seq in ids) <= runtime.card.max_length
    onnx_logits = runtime.run_ids(ids)["logits"]
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint).eval()
    rows = []
    with torch.no_grad():
        for seq in ids:
            input_ids = torch.tensor([seq])
            rows.append(
                model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids))
                .logits[0]
                .numpy()
            )
    return onnx_logits, np.stack(rows)


@pytest.fixture(scope="module")
def fp32(sentiment_ckpt: Path, tmp_path_factory: pytest.TempPathFactory) -> Export:
    return run_export(sentiment_ckpt, tmp_path_factory.mktemp("x") / "fp32", quantize=False)


@pytest.fixture(scope="module")
def int8(sentiment_ckpt: Path, tmp_path_factory: pytest.TempPathFactory) -> Export:
    return run_export(sentiment_ckpt, tmp_path_factory.mktemp("x") / "int8", version="2.0.0")


@pytest.fixture(scope="module")
def emotion(emotion_ckpt: Path, tmp_path_factory: pytest.TempPathFactory) -> Export:
    return run_export(emotion_ckpt, tmp_path_factory.mktemp("x") / "emo", head="emotion")


def test_directory_has_the_four_files_and_a_valid_card(fp32: Export, sentiment_ckpt: Path) -> None:
    assert sorted(p.name for p in fp32.out.iterdir()) == sorted(MODEL_FILES)
    card = ModelCard.model_validate(json.loads((fp32.out / "model_card.json").read_text()))
    assert card == fp32.card
    assert card.sha256 == file_sha256(fp32.out / "model.onnx")
    assert card.name == "tiny-sentiment"
    assert card.base_model == str(sentiment_ckpt)
    assert card.max_length == 64  # min(sentinel model_max_length, 64 positions, 512)
    assert card.inputs == ["input_ids", "attention_mask", "token_type_ids"]
    assert card.embedding_output is None
    assert card.quantization == "none"
    assert card.calibration == {}
    [head] = card.heads
    assert (head.name, head.output, head.activation) == ("sentiment", "logits", "softmax")
    assert head.labels == SENTIMENT
    assert head.temperature == 1.0
    assert set(card.metrics) == {"onnx_vs_torch_max_abs_diff"}
    assert card.metrics["onnx_vs_torch_max_abs_diff"] < 1e-4
    assert {"torch", "transformers", "onnxruntime"} <= set(card.created_with)
    assert card.created_with["onnx_opset"] == "17"
    assert "as-is" in card.intended_use
    assert any("not evaluated by cxstream" in item for item in card.limitations)
    markdown = (fp32.out / "MODEL_CARD.md").read_text()
    assert card.sha256 in markdown and "negative" in markdown
    assert not [p for p in fp32.out.parent.iterdir() if p.name.startswith(".")]  # no leftovers


def test_fp32_logits_match_torch(fp32: Export, sentiment_ckpt: Path) -> None:
    onnx_logits, torch_logits = compare(sentiment_ckpt, fp32.out)
    np.testing.assert_allclose(onnx_logits, torch_logits, atol=1e-4)
    assert any("max abs diff" in m for m in fp32.messages)


def test_int8_card_records_the_quantization_and_its_argmax_agreement(
    int8: Export, sentiment_ckpt: Path
) -> None:
    card = int8.card
    assert card.version == "2.0.0"
    assert card.quantization.startswith("dynamic int8")
    assert card.sha256 == file_sha256(int8.out / "model.onnx")
    assert {"onnx_vs_torch_max_abs_diff", "int8_argmax_agreement"} <= set(card.metrics)
    onnx_logits, torch_logits = compare(sentiment_ckpt, int8.out)
    agreement = float((onnx_logits.argmax(-1) == torch_logits.argmax(-1)).mean())
    assert agreement >= 0.9 or card.metrics["int8_vs_fp32_max_abs_diff"] < 0.05
    assert card.metrics["int8_argmax_agreement"] >= 0.9
    assert any("argmax agreement" in m for m in int8.messages)


def test_scorer_loads_the_export_with_its_labels_and_provenance(int8: Export) -> None:
    [scored] = Scorer(int8.out).score(["the refund was late and the agent was awful"])
    assert scored.scores.sentiment is not None
    assert scored.scores.sentiment.label in SENTIMENT
    assert set(scored.scores.sentiment.probabilities) == set(SENTIMENT)
    assert scored.ai.sha256 == int8.card.sha256
    assert (scored.ai.model, scored.ai.version) == ("tiny-sentiment", "2.0.0")


def test_long_texts_are_windowed(int8: Export) -> None:
    long_text = " ".join(TEXTS * 3)
    [scored] = Scorer(int8.out).score([long_text])
    assert scored.ai.windows == 2
    assert scored.scores.sentiment is not None


def test_multi_label_checkpoint_gets_a_sigmoid_emotion_head(
    emotion: Export, emotion_ckpt: Path
) -> None:
    [head] = emotion.card.heads
    assert head.name == "emotion"
    assert head.activation == "sigmoid"
    assert head.labels == ["anger", "joy", "sadness", "fear", "neutral"]
    assert "int8_decision_agreement" in emotion.card.metrics
    [scored] = Scorer(emotion.out).score(["i hate this awful service"])
    assert scored.scores.sentiment is None
    assert {e.label for e in scored.scores.emotions} <= {"anger", "joy", "sadness", "fear"}


@pytest.mark.parametrize(
    ("arch", "inputs"),
    [
        ("distilbert", ["input_ids", "attention_mask"]),  # forward takes no token_type_ids
        ("roberta", ["input_ids", "attention_mask"]),  # tokenizer makes no token_type_ids
    ],
)
def test_other_architectures(
    arch: str, inputs: list[str], checkpoints: Callable[..., Path], tmp_path: Path
) -> None:
    source = checkpoints(f"tiny-{arch}", arch=arch, id2label={0: "Negative", 1: "Positive"})
    result = run_export(source, tmp_path / "out", quantize=False)
    assert result.card.inputs == inputs
    assert result.card.max_length == 64  # RoBERTa: 66 position embeddings, 2 reserved
    assert result.card.heads[0].labels == ["negative", "positive"]
    onnx_logits, torch_logits = compare(source, result.out)
    np.testing.assert_allclose(onnx_logits, torch_logits, atol=1e-4)
    [scored] = Scorer(result.out).score([" ".join(TEXTS)])  # longer than the window
    assert scored.ai.windows == 2
    assert scored.scores.sentiment is not None


def test_generic_labels_are_kept_and_warned(
    checkpoints: Callable[..., Path], tmp_path: Path
) -> None:
    source = checkpoints("tiny-generic", num_labels=2)
    result = run_export(source, tmp_path / "out", quantize=False, name="generic", max_length=32)
    assert result.card.heads[0].labels == ["label_0", "label_1"]
    assert result.card.name == "generic"
    assert result.card.max_length == 32
    assert any(m.startswith("warning") and "label_0" in m for m in result.messages)


def test_unknown_hub_id_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not available offline"):
        export_checkpoint("cxstream-tests/no-such-model", tmp_path / "out", progress=lambda m: None)
    assert not (tmp_path / "out").exists()


def test_refuses_a_non_empty_directory_that_is_not_a_model(
    sentiment_ckpt: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="refusing to overwrite"):
        export_checkpoint(str(sentiment_ckpt), out, progress=lambda m: None)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_replaces_an_existing_model_directory(fp32: Export, tmp_path: Path) -> None:
    out = tmp_path / "model"
    (tmp_path / "model").mkdir()
    for name in MODEL_FILES:
        (out / name).write_bytes((fp32.out / name).read_bytes())
    result = run_export(fp32.card.base_model, out, version="9.9.9")
    assert result.card.quantization.startswith("dynamic int8")
    assert json.loads((out / "model_card.json").read_text())["version"] == "9.9.9"
    assert file_sha256(out / "model.onnx") == result.card.sha256 != fp32.card.sha256
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_rejects_a_slow_tokenizer(
    sentiment_ckpt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transformers

    real = transformers.AutoTokenizer.from_pretrained

    def slow(*args: Any, **kwargs: Any) -> Any:
        tokenizer = real(*args, **kwargs)
        monkeypatch.setattr(type(tokenizer), "is_fast", property(lambda self: False))
        return tokenizer

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", slow)
    with pytest.raises(ValueError, match="fast"):
        export_checkpoint(str(sentiment_ckpt), tmp_path / "out", progress=lambda m: None)
    assert not (tmp_path / "out").exists()


def test_max_length_beyond_the_positions_is_refused(sentiment_ckpt: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positions"):
        export_checkpoint(
            str(sentiment_ckpt), tmp_path / "out", max_length=128, progress=lambda m: None
        )
