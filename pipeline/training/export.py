"""ONNX export (dynamic batch and sequence axes), dynamic int8 quantisation, int8-vs-fp32 fidelity.

The graph takes ``input_ids`` and ``attention_mask`` (int64 [batch, seq]) and returns
``embedding`` (L2-normalised [batch, 384]) and one ``<head>_logits`` output per head.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipeline.training.train import EMBEDDING_OUTPUT, HEAD_NAMES, MultiHeadModel, output_name

DEFAULT_OPSET = 17
Array = np.ndarray[Any, Any]


def output_names() -> list[str]:
    """ONNX output names in graph order."""
    return [EMBEDDING_OUTPUT, *(output_name(head) for head in HEAD_NAMES)]


def export_onnx(
    model: MultiHeadModel,
    path: Path,
    *,
    opset: int = DEFAULT_OPSET,
    pad_id: int = 0,
    check_ids: Sequence[Sequence[int]] = (),
) -> float:
    """Export ``model`` (fp32, eager attention) to ``path``; returns the max |onnx - torch|.

    ``check_ids`` (token-id sequences of different lengths) are run through both to check the
    graph, padded as the runtime pads them.
    """
    import onnxruntime as ort

    from pipeline.training.train import pad

    model = model.float().eval()
    model.encoder.set_attn_implementation("eager")  # plain ops: traces cleanly for any shape
    sample_ids, sample_mask = pad([[101, 7592, 2088, 999, 102], [101, 7592, 102]], pad_id)
    dynamic = {
        "input_ids": {0: "batch", 1: "sequence"},
        "attention_mask": {0: "batch", 1: "sequence"},
    }
    dynamic.update({name: {0: "batch"} for name in output_names()})
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (sample_ids, sample_mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=output_names(),
            dynamic_axes=dynamic,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    if not check_ids:
        return 0.0
    input_ids, mask = pad(check_ids, pad_id)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": input_ids.numpy(), "attention_mask": mask.numpy()})
    with torch.no_grad():
        want = [t.numpy() for t in model(input_ids, mask)]
    return max(float(np.abs(g - w).max()) for g, w in zip(got, want, strict=True))


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation (onnxruntime, QInt8 per-channel weights)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)  # "consider pre-processing" hint
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        logger.setLevel(level)


def cosine_rows(a: Array, b: Array) -> Array:
    """Cosine similarity of matching rows."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    out: Array = np.sum(a * b, axis=1) / np.maximum(norms, 1e-12)
    return out


def fidelity(
    int8: dict[str, Array],
    fp32: dict[str, Array],
    activations: dict[str, str],
    thresholds: dict[str, float],
) -> dict[str, float]:
    """int8 vs fp32 outputs on the same texts: embedding cosine, per-head decision agreement.

    Softmax heads: share of rows with the same argmax. Sigmoid heads: share of (row, label)
    decisions that agree at the head's threshold, and share of rows with the same top label.
    """
    cosine = cosine_rows(int8[EMBEDDING_OUTPUT], fp32[EMBEDDING_OUTPUT])
    out = {
        "int8_fp32_embedding_cosine_mean": float(np.mean(cosine)),
        "int8_fp32_embedding_cosine_min": float(np.min(cosine)),
        "int8_fp32_embedding_cosine_p01": float(np.quantile(cosine, 0.01)),
    }
    for head in HEAD_NAMES:
        name = output_name(head)
        a, b = int8[name], fp32[name]
        top = float(np.mean(a.argmax(axis=1) == b.argmax(axis=1)))
        if activations[head] == "sigmoid":
            logit = float(np.log(thresholds[head] / (1.0 - thresholds[head])))
            out[f"int8_fp32_agreement_{head}_labels"] = float(np.mean((a >= logit) == (b >= logit)))
            out[f"int8_fp32_agreement_{head}_top1"] = top
        else:
            out[f"int8_fp32_agreement_{head}"] = top
        out[f"int8_fp32_max_abs_logit_diff_{head}"] = float(np.abs(a - b).max())
    return {key: round(value, 5) for key, value in out.items()}
