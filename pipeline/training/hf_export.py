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
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
import shutil
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.scoring.card import HeadSpec, ModelCard, file_sha256, load_card

MODEL_FILES = ("model.onnx", "tokenizer.json", "model_card.json", "MODEL_CARD.md")
KNOWN_HEADS = ("sentiment", "emotion", "intent", "banking77", "urgency")
URGENCY_LABELS = {"low", "normal", "high", "critical"}
CONTEXT_CAP = 512
SENTINEL_MAX_LENGTH = 1_000_000  # tokenizers without a limit report ~1e30
WARN_DIFF = 1e-3
FAIL_DIFF = 1e-2
WARN_AGREEMENT = 0.9
SAMPLE_TEXTS = (
    "My card was charged twice for the same order and nobody answers the phone.",
    "Thanks a lot, the refund arrived this morning. Great service!",
    "I would like to change the delivery address of my parcel, please.",
    "The app keeps crashing every time I try to log in. This is ridiculous.",
    "Can you tell me when the new branch opens?",
    "Absolutely terrible experience, I am closing my account today.",
    "The agent was friendly and solved my problem in five minutes.",
    "Where is my package? It was supposed to arrive last week.",
    "ok",
    "I lost my card, please block it immediately!",
    "Your prices went up again without any notice.",
    "Just wanted to say the new website looks nice.",
    "Why was my transfer declined? I have enough money on the account.",
    "I have been waiting on hold for an hour.",
    "Please cancel my subscription.",
    "The product is fine but shipping took forever.",
    "How do I reset my password?",
    "Love it! Best purchase this year.",
    "Someone used my card in another country, I did not make these payments.",
    "Hello, I have a question about my last invoice and the fees on it, "
    "because the amount does not match what the sales person promised me on the phone.",
)

Progress = Callable[[str], None]


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
    _check_out_dir(out_dir)
    torch, transformers = _import_training_stack()

    progress(f"loading {source}")
    local_dir, tokenizer, model = _load(source, progress)
    if local_dir is not None:
        _check_not_inside(local_dir, out_dir)
    config = model.config
    tokenizer_json = _fast_tokenizer_json(tokenizer, source)

    labels, activation = _labels(config, head, progress)
    limit = _max_length(tokenizer, model, max_length, progress)
    inputs = ["input_ids", "attention_mask"]
    if _accepts(model, "token_type_ids") and "token_type_ids" in tokenizer.model_input_names:
        inputs.append("token_type_ids")

    import onnxruntime

    card = ModelCard(
        name=name or _default_name(source, local_dir),
        version=version,
        sha256="",
        base_model=source,
        max_length=limit,
        inputs=inputs,
        embedding_output=None,
        heads=[HeadSpec(name=head, output="logits", activation=activation, labels=labels)],
        quantization="none",
        calibration={},
        intended_use=(
            f"Scores the '{head}' head of {source}, exported as-is from Hugging Face; "
            "use it only where that checkpoint's own documentation says it fits."
        ),
        limitations=[
            "Exported as-is and not evaluated by cxstream (nor trained or calibrated: "
            "temperature 1.0); validate it on your own data before relying on it.",
            "Labels are the checkpoint's id2label names, lowercased.",
            f"Texts longer than {limit} tokens are scored as head + tail windows.",
            "Inherits the biases and domain of the base model and its training data.",
        ],
        created_with={
            "exporter": "cxstream hf_export",
            "torch": str(torch.__version__),
            "transformers": str(transformers.__version__),
            "onnxruntime": str(onnxruntime.__version__),
            "onnx_opset": str(opset),
        },
    )

    staging = _sibling(out_dir, "partial")
    staging.mkdir()
    try:
        (staging / "tokenizer.json").write_text(tokenizer_json, encoding="utf-8")
        _check_tokenizer(tokenizer, staging / "tokenizer.json")
        progress(f"exporting ONNX graph (opset {opset}, inputs {', '.join(inputs)})")
        sample_ids = [list(tokenizer(text)["input_ids"]) for text in SAMPLE_TEXTS[:2]]
        sample_ids = [
            seq if len(seq) <= limit else seq[: limit - 1] + seq[-1:] for seq in sample_ids
        ]
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        _export_onnx(torch, model, inputs, staging / "model.onnx", opset, sample_ids, pad_id)
        sigmoid = activation == "sigmoid"
        card = _finish(card, staging, model, torch, quantize, sigmoid, progress)
        _write_json(staging / "model_card.json", card)
        (staging / "MODEL_CARD.md").write_text(_markdown(card), encoding="utf-8")
        _smoke_test(staging, len(labels))
        _install(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    size = (out_dir / "model.onnx").stat().st_size / 2**20
    progress(f"wrote {out_dir} (model.onnx {size:.1f} MiB, sha256 {card.sha256[:12]}…)")
    return card


# -- loading -------------------------------------------------------------------------------------
def _import_training_stack() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ValueError(
            f"exporting a checkpoint needs torch and transformers ({exc.name} is missing): "
            "run it in the training environment"
        ) from exc
    return torch, transformers


def _load(source: str, progress: Progress) -> tuple[Path | None, Any, Any]:
    """(local dir or None, tokenizer, fp32 eval model) — offline only."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = Path(source).expanduser()
    local = path if path.is_dir() else None
    if local is None and path.exists():
        raise ValueError(f"{source} is a file: pass a checkpoint directory or a hub id")
    ref = str(local) if local is not None else source
    try:
        tokenizer = AutoTokenizer.from_pretrained(ref, local_files_only=True)
        model, info = AutoModelForSequenceClassification.from_pretrained(
            ref, local_files_only=True, attn_implementation="eager", output_loading_info=True
        )
    except (OSError, ValueError) as exc:
        if local is not None:
            raise ValueError(
                f"cannot load {source} as a sequence-classification checkpoint with a tokenizer: "
                f"{exc}"
            ) from exc
        raise ValueError(
            f"{source!r} is not a local directory and is not available offline in the Hugging "
            "Face cache (exports never download): pass a local checkpoint directory, e.g. one "
            f"made with `hf download {source} --local-dir DIR` on a machine with internet"
        ) from exc
    missing = list(info.get("missing_keys", []))
    if missing:
        progress(
            f"warning: {len(missing)} weights were not in the checkpoint and are random "
            f"({', '.join(missing[:4])}…): is this a fine-tuned classifier?"
        )
    return local, tokenizer, model.float().eval()


def _fast_tokenizer_json(tokenizer: Any, source: str) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if not getattr(tokenizer, "is_fast", False) or backend is None:
        raise ValueError(
            f"{source} has no fast (Rust) tokenizer ({type(tokenizer).__name__}): cxstream "
            "serves tokenizer.json through the tokenizers library, so a fast tokenizer is needed"
        )
    text: str = backend.to_str()
    return text


def _check_tokenizer(tokenizer: Any, path: Path) -> None:
    """The saved tokenizer.json must give the ids the Hugging Face tokenizer gives."""
    from tokenizers import Tokenizer

    saved = Tokenizer.from_file(str(path))
    saved.no_padding()
    saved.no_truncation()
    for text in SAMPLE_TEXTS:
        expected = list(tokenizer(text, truncation=False)["input_ids"])
        actual = saved.encode(text).ids
        if actual != expected:
            raise ValueError(
                f"tokenizer.json encodes {text!r} as {actual[:12]}… but the checkpoint's "
                f"tokenizer gives {expected[:12]}…: this tokenizer cannot be served as-is"
            )


def _accepts(model: Any, argument: str) -> bool:
    return argument in inspect.signature(model.forward).parameters


def _default_name(source: str, local_dir: Path | None) -> str:
    if local_dir is not None:
        return local_dir.resolve().name
    return source.rstrip("/").split("/")[-1]


def _labels(config: Any, head: str, progress: Progress) -> tuple[list[str], str]:
    """Lowercased id2label names and the activation for the head; warnings via progress."""
    count = int(config.num_labels)
    id2label = {int(k): str(v) for k, v in (config.id2label or {}).items()}
    labels = [id2label.get(i, f"LABEL_{i}").lower() for i in range(count)]
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels {labels} are not unique once lowercased: fix id2label")
    multi = getattr(config, "problem_type", None) == "multi_label_classification"
    activation = "sigmoid" if multi else "softmax"
    if any(re.fullmatch(r"label_\d+", label) for label in labels):
        progress(
            f"warning: the checkpoint has generic labels ({', '.join(labels[:4])}): they are kept "
            "as given; set id2label in config.json and re-export for meaningful names"
        )
    if head not in KNOWN_HEADS:
        progress(
            f"warning: head {head!r} goes into the card but scores only read "
            f"{', '.join(KNOWN_HEADS)}"
        )
    elif head == "emotion" and not multi:
        progress("warning: emotion heads are multi-label; this checkpoint is single-label softmax")
    elif head in ("sentiment", "intent") and multi:
        progress(f"warning: {head} is read as one argmax label; this checkpoint is multi-label")
    elif head == "urgency" and not set(labels) <= URGENCY_LABELS:
        progress(f"warning: urgency scores only weigh the labels {sorted(URGENCY_LABELS)}")
    return labels, activation


def _positions(model: Any) -> int | None:
    """Usable positions: max_position_embeddings, less the offset of RoBERTa-style embeddings."""
    positions = getattr(model.config, "max_position_embeddings", None)
    if not isinstance(positions, int) or positions <= 0:
        return None
    for module_name, module in model.named_modules():
        padding_idx = getattr(module, "padding_idx", None)
        if module_name.endswith("position_embeddings") and isinstance(padding_idx, int):
            return min(positions, int(module.num_embeddings) - padding_idx - 1)
    return positions


def _max_length(tokenizer: Any, model: Any, requested: int | None, progress: Progress) -> int:
    """min(tokenizer limit, usable positions, 512) unless requested (then checked)."""
    positions = _positions(model)
    candidates = [CONTEXT_CAP]
    tokenizer_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < SENTINEL_MAX_LENGTH:
        candidates.append(tokenizer_limit)
    if positions is not None:
        candidates.append(positions)
    default = min(candidates)
    if requested is None:
        return default
    if requested < 8:
        raise ValueError(f"max_length {requested} is too small (at least 8 tokens)")
    if positions is not None and requested > positions:
        raise ValueError(f"max_length {requested} exceeds the model's {positions} positions")
    if requested > default:
        progress(f"warning: max_length {requested} is above the checkpoint's limit {default}")
    return requested


# -- export and verification ---------------------------------------------------------------------
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
    _write_json(staging / "model_card.json", card)
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


# -- files ---------------------------------------------------------------------------------------
def _is_model_dir(path: Path) -> bool:
    try:
        load_card(path)
    except ValueError:
        return False
    return True


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not _is_model_dir(out_dir):
        raise ValueError(
            f"{out_dir} is not empty and is not a cxstream model directory: refusing to overwrite "
            "it; choose a new or empty directory"
        )


def _check_not_inside(source: Path, out_dir: Path) -> None:
    src, out = source.resolve(), out_dir.resolve()
    if src == out or out in src.parents:
        raise ValueError(f"{out_dir} contains the checkpoint {source}: choose another directory")


def _sibling(out_dir: Path, kind: str) -> Path:
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return out_dir.parent / f".{out_dir.name}.{kind}-{uuid.uuid4().hex[:8]}"


def _install(staging: Path, out_dir: Path) -> None:
    """Swap the finished staging directory in; an existing model directory is replaced."""
    _check_out_dir(out_dir)
    backup: Path | None = None
    if out_dir.is_dir():
        if any(out_dir.iterdir()):
            backup = _sibling(out_dir, "old")
            os.replace(out_dir, backup)
        else:
            out_dir.rmdir()
    try:
        os.replace(staging, out_dir)
    except BaseException:
        if backup is not None:
            os.replace(backup, out_dir)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def _write_json(path: Path, card: ModelCard) -> None:
    path.write_text(json.dumps(card.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")


def _markdown(card: ModelCard) -> str:
    head = card.heads[0]
    lines = [
        f"# {card.name} {card.version}",
        "",
        f"Exported by cxstream from the Hugging Face checkpoint `{card.base_model}`, as-is: it "
        "was not trained, evaluated or calibrated by cxstream.",
        "",
        f"- Head `{head.name}` ({head.activation}) on output `{head.output}`: "
        + ", ".join(f"`{label}`" for label in head.labels),
        f"- Context: {card.max_length} tokens (longer texts: head + tail windows)",
        f"- Inputs: {', '.join(card.inputs)}",
        f"- Quantisation: {card.quantization}",
        f"- model.onnx sha256: `{card.sha256}`",
        "",
        "## Export checks (sample texts)",
        "",
        *[f"- {key}: {value:.4g}" for key, value in card.metrics.items()],
        "",
        "## Intended use",
        "",
        card.intended_use,
        "",
        "## Limitations",
        "",
        *[f"- {item}" for item in card.limitations],
        "",
        "## Created with",
        "",
        *[f"- {key}: {value}" for key, value in card.created_with.items()],
        "",
    ]
    return "\n".join(lines)
