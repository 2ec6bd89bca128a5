"""Bring your own model: export a Hugging Face sequence-classification checkpoint for cxstream.

``export_checkpoint`` is the single entry point. It turns any checkpoint that
``AutoModelForSequenceClassification`` can load (BERT, DistilBERT, RoBERTa, DeBERTa, …) and
that has a *fast* tokenizer into a cxstream model directory — ``model.onnx``, ``tokenizer.json``,
``model_card.json`` and ``MODEL_CARD.md`` — which ``pipeline.scoring.Scorer`` serves with
onnxruntime alone::

    from pathlib import Path
    from pipeline.training.hf_export import export_checkpoint

    card = export_checkpoint("path/to/checkpoint", Path("models/my-sentiment"), head="sentiment")
    print(card.metrics)  # onnx_vs_torch_max_abs_diff, int8_argmax_agreement, …

(the CLI equivalent is ``cxstream models export --from SRC --out DIR``). The checkpoint's single
classification output becomes one head named ``head``: ``sentiment`` and ``intent`` heads are
read as argmax labels, ``emotion`` (multi-label, sigmoid) as top emotions; other names are kept in
the card but ignored by the scores. Labels are the config's ``id2label`` names, lowercased.

It runs offline: ``source`` is a local checkpoint directory, or a hub id that is already in the
local Hugging Face cache. Exporting needs torch and transformers (the training environment);
serving the result does not. The model is exported as-is (one fp32 graph through the TorchScript
exporter, so under 2 GB), checked against torch on sample texts and, by default, quantised to
dynamic int8; cxstream does not evaluate or calibrate it.

Reading the checkpoint is :mod:`pipeline.training.hf_checkpoint`; where the model directory may
go, the atomic install and the card files are :mod:`pipeline.training.hf_install`.
"""

from __future__ import annotations

import inspect
import logging
import os
import shutil
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.scoring.card import HeadSpec, ModelCard, file_sha256
from pipeline.training.hf_checkpoint import (
    SAMPLE_TEXTS,
    Progress,
    accepts_argument,
    check_tokenizer,
    checkpoint_labels,
    default_name,
    fast_tokenizer_json,
    import_training_stack,
    load_checkpoint,
    model_max_length,
)
from pipeline.training.hf_install import (
    card_markdown,
    check_not_inside,
    check_out_dir,
    install,
    sibling_dir,
    write_card_json,
)

MODEL_FILES = ("model.onnx", "tokenizer.json", "model_card.json", "MODEL_CARD.md")
WARN_DIFF = 1e-3
FAIL_DIFF = 1e-2
WARN_AGREEMENT = 0.9


def export_checkpoint(
    source: str,
    out_dir: Path,
    *,
    head: str = "sentiment",
    quantize: bool = True,
    max_length: int | None = None,
    opset: int = 17,
    name: str | None = None,
    version: str = "1.0.0",
    progress: Progress = print,
) -> ModelCard:
    """Export ``source`` (checkpoint dir or cached hub id) to the cxstream model dir ``out_dir``.

    ``out_dir`` is created; an existing one must be empty or a cxstream model directory (which is
    replaced as a whole). Raises ValueError for anything the caller can fix (source not available
    offline, slow tokenizer, unusable labels, ONNX output that disagrees with torch, …).
    """
    head = head.strip()
    if not head:
        raise ValueError("head must be a non-empty name such as 'sentiment'")
    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    torch, transformers = import_training_stack()

    progress(f"loading {source}")
    local_dir, tokenizer, model = load_checkpoint(source, progress)
    if local_dir is not None:
        check_not_inside(local_dir, out_dir)
    config = model.config
    tokenizer_json = fast_tokenizer_json(tokenizer, source)

    labels, activation = checkpoint_labels(config, head, progress)
    limit = model_max_length(tokenizer, model, max_length, progress)
    inputs = ["input_ids", "attention_mask"]
    if (
        accepts_argument(model, "token_type_ids")
        and "token_type_ids" in tokenizer.model_input_names
    ):
        inputs.append("token_type_ids")

    import onnxruntime

    card = _draft_card(
        source,
        name or default_name(source, local_dir),
        version,
        HeadSpec(name=head, output="logits", activation=activation, labels=labels),
        limit,
        inputs,
        {
            "exporter": "cxstream hf_export",
            "torch": str(torch.__version__),
            "transformers": str(transformers.__version__),
            "onnxruntime": str(onnxruntime.__version__),
            "onnx_opset": str(opset),
        },
    )

    staging = sibling_dir(out_dir, "partial")
    staging.mkdir()
    try:
        (staging / "tokenizer.json").write_text(tokenizer_json, encoding="utf-8")
        check_tokenizer(tokenizer, staging / "tokenizer.json")
        progress(f"exporting ONNX graph (opset {opset}, inputs {', '.join(inputs)})")
        sample_ids = _sample_ids(tokenizer, limit)
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        _export_onnx(torch, model, inputs, staging / "model.onnx", opset, sample_ids, pad_id)
        sigmoid = activation == "sigmoid"
        card = _finish(card, staging, model, torch, quantize, sigmoid, progress)
        write_card_json(staging / "model_card.json", card)
        (staging / "MODEL_CARD.md").write_text(card_markdown(card), encoding="utf-8")
        _smoke_test(staging, len(labels))
        install(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    size = (out_dir / "model.onnx").stat().st_size / 2**20
    progress(f"wrote {out_dir} (model.onnx {size:.1f} MiB, sha256 {card.sha256[:12]}…)")
    return card


def _sample_ids(tokenizer: Any, limit: int) -> list[list[int]]:
    """Ids of the first two sample texts, cut to the window as the runtime cuts them."""
    sample_ids = [list(tokenizer(text)["input_ids"]) for text in SAMPLE_TEXTS[:2]]
    return [seq if len(seq) <= limit else seq[: limit - 1] + seq[-1:] for seq in sample_ids]


def _draft_card(
    source: str,
    name: str,
    version: str,
    head: HeadSpec,
    limit: int,
    inputs: list[str],
    created_with: dict[str, str],
) -> ModelCard:
    """The card before the export: no sha256, metrics or quantisation yet (``_finish``)."""
    return ModelCard(
        name=name,
        version=version,
        sha256="",
        base_model=source,
        max_length=limit,
        inputs=inputs,
        embedding_output=None,
        heads=[head],
        quantization="none",
        calibration={},
        intended_use=(
            f"Scores the '{head.name}' head of {source}, exported as-is from Hugging Face; "
            "use it only where that checkpoint's own documentation says it fits."
        ),
        limitations=[
            "Exported as-is and not evaluated by cxstream (nor trained or calibrated: "
            "temperature 1.0); validate it on your own data before relying on it.",
            "Labels are the checkpoint's id2label names, lowercased.",
            f"Texts longer than {limit} tokens are scored as head + tail windows.",
            "Inherits the biases and domain of the base model and its training data.",
        ],
        created_with=created_with,
    )


def _export_onnx(
    torch: Any,
    model: Any,
    inputs: list[str],
    path: Path,
    opset: int,
    sample_ids: list[list[int]],
    pad_id: int,
) -> None:
    """TorchScript export of a logits-only wrapper, dynamic batch and sequence axes."""

    class Logits(torch.nn.Module):  # type: ignore[misc]
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            return self.inner(**kwargs, return_dict=True).logits

    wrapper = Logits(model).eval()
    width = max(len(seq) for seq in sample_ids)
    ids = torch.full((len(sample_ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, seq in enumerate(sample_ids):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    example = (ids, mask, torch.zeros_like(ids))[: len(inputs)]
    axes = {name: {0: "batch", 1: "sequence"} for name in inputs}
    axes["logits"] = {0: "batch"}
    options: dict[str, Any] = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        options["dynamo"] = False
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TorchScript exporter deprecation and tracer notes
        torch.onnx.export(
            wrapper,
            example,
            str(path),
            input_names=inputs,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            **options,
        )
    model.eval()  # the exporter restores modes; keep dropout off for the torch reference


def _finish(
    card: ModelCard,
    staging: Path,
    model: Any,
    torch: Any,
    quantize: bool,
    sigmoid: bool,
    progress: Progress,
) -> ModelCard:
    """Compare the fp32 graph with torch, quantise if asked; the card with sha256 and metrics."""
    write_card_json(staging / "model_card.json", card)
    ids, fp32 = _run_runtime(staging)
    reference = _torch_logits(torch, model, ids, "token_type_ids" in card.inputs)
    diff = float(np.abs(fp32 - reference).max())
    progress(f"onnx vs torch: max abs diff {diff:.2e} on {len(ids)} texts")
    if diff > FAIL_DIFF:
        raise ValueError(f"the ONNX graph disagrees with torch (max abs diff {diff:.3g})")
    if diff > WARN_DIFF:
        progress(f"warning: onnx vs torch max abs diff {diff:.2e} is above {WARN_DIFF:g}")
    metrics = {"onnx_vs_torch_max_abs_diff": diff}
    quantization = "none"
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        progress("quantising to dynamic int8 (per-channel weights)")
        fp32_path, int8_path = staging / "model.onnx", staging / "model.int8.onnx"
        with _quiet_preprocessing_hint():
            quantize_dynamic(fp32_path, int8_path, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(int8_path, fp32_path)
        _, int8 = _run_runtime(staging)
        agreement = float((int8.argmax(-1) == fp32.argmax(-1)).mean())
        metrics["int8_argmax_agreement"] = agreement
        metrics["int8_vs_fp32_max_abs_diff"] = float(np.abs(int8 - fp32).max())
        line = f"int8 vs fp32: argmax agreement {agreement:.1%} on {len(ids)} texts"
        if sigmoid:
            same = ((int8 >= 0) == (fp32 >= 0)).mean()  # sigmoid ≥ 0.5 ⇔ logit ≥ 0
            metrics["int8_decision_agreement"] = float(same)
            line += f", per-label decisions {same:.1%}"
        progress(line + f", max abs diff {metrics['int8_vs_fp32_max_abs_diff']:.2e}")
        if agreement < WARN_AGREEMENT:
            progress("warning: int8 changes many predictions; consider quantize=False")
        quantization = "dynamic int8 (onnxruntime quantize_dynamic, QInt8 weights, per-channel)"
    sha = file_sha256(staging / "model.onnx")
    return card.model_copy(update={"sha256": sha, "metrics": metrics, "quantization": quantization})


@contextmanager
def _quiet_preprocessing_hint() -> Iterator[None]:
    """Drop onnxruntime's generic 'consider pre-processing' root-logger warning."""

    def keep(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Please consider to run pre-processing")

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def _runtime_ids(runtime: Any, texts: Sequence[str], limit: int) -> list[list[int]]:
    """Token ids as the runtime builds them (tokenizer.json, truncated to the window)."""
    ids: list[list[int]] = runtime.encode(texts)
    return [seq if len(seq) <= limit else seq[: limit - 1] + seq[-1:] for seq in ids]


def _run_runtime(model_dir: Path) -> tuple[list[list[int]], np.ndarray[Any, Any]]:
    """Logits through OnnxModel, as served: the sample texts as one padded batch, then one
    text that fills the whole window (max_length tokens)."""
    from pipeline.scoring.onnx_model import OnnxModel

    runtime = OnnxModel(model_dir, verify_sha256=False)
    limit = runtime.card.max_length
    ids = _runtime_ids(runtime, SAMPLE_TEXTS, limit)
    full = _runtime_ids(runtime, [" ".join(SAMPLE_TEXTS * (limit // 100 + 1))], limit)
    try:
        logits = [runtime.run_ids(ids)["logits"], runtime.run_ids(full)["logits"]]
    except Exception as exc:  # onnxruntime raises its own error types
        raise ValueError(
            f"the exported graph fails on the sample texts or on a {len(full[0])}-token text "
            f"(max_length {limit}): {exc}"
        ) from exc
    return ids + full, np.concatenate(logits)


def _torch_logits(
    torch: Any, model: Any, ids: list[list[int]], token_types: bool
) -> np.ndarray[Any, Any]:
    """Reference logits: each text alone, unpadded."""
    rows = []
    with torch.no_grad():
        for seq in ids:
            input_ids = torch.tensor([seq], dtype=torch.long)
            kwargs = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
            if token_types:
                kwargs["token_type_ids"] = torch.zeros_like(input_ids)
            rows.append(model(**kwargs, return_dict=True).logits[0].float().numpy())
    return np.stack(rows)


def _smoke_test(model_dir: Path, labels: int) -> None:
    """The finished directory loads with sha256 verification and yields one row per text."""
    from pipeline.scoring.onnx_model import OnnxModel

    logits = OnnxModel(model_dir).run(SAMPLE_TEXTS[:2])["logits"]
    if logits.shape != (2, labels):
        raise ValueError(f"model.onnx gives logits of shape {logits.shape}, expected (2, {labels})")
