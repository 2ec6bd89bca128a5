"""Reading a Hugging Face sequence-classification checkpoint for export (training venv only).

Loading it offline, its fast tokenizer (and a check that the saved ``tokenizer.json`` gives the
same ids), its labels and activation, and the longest input it can take. Used by
:func:`pipeline.training.hf_export.export_checkpoint`; warnings go through ``progress``,
anything the caller can fix is a ValueError.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

KNOWN_HEADS = ("sentiment", "emotion", "intent", "banking77", "urgency")
URGENCY_LABELS = {"low", "normal", "high", "critical"}
CONTEXT_CAP = 512
SENTINEL_MAX_LENGTH = 1_000_000  # tokenizers without a limit report ~1e30
# The texts every export is checked on: the tokenizer ids, ONNX against torch, int8 against fp32.
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


def import_training_stack() -> tuple[Any, Any]:
    """``(torch, transformers)``; ValueError naming the missing one outside the training venv."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ValueError(
            f"exporting a checkpoint needs torch and transformers ({exc.name} is missing): "
            "run it in the training environment"
        ) from exc
    return torch, transformers


def load_checkpoint(source: str, progress: Progress) -> tuple[Path | None, Any, Any]:
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


def fast_tokenizer_json(tokenizer: Any, source: str) -> str:
    """The checkpoint's fast (Rust) tokenizer as ``tokenizer.json`` text; ValueError without one."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if not getattr(tokenizer, "is_fast", False) or backend is None:
        raise ValueError(
            f"{source} has no fast (Rust) tokenizer ({type(tokenizer).__name__}): cxstream "
            "serves tokenizer.json through the tokenizers library, so a fast tokenizer is needed"
        )
    text: str = backend.to_str()
    return text


def check_tokenizer(tokenizer: Any, path: Path) -> None:
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


def accepts_argument(model: Any, argument: str) -> bool:
    """True if the model's ``forward`` takes ``argument`` (e.g. ``token_type_ids``)."""
    return argument in inspect.signature(model.forward).parameters


def default_name(source: str, local_dir: Path | None) -> str:
    """The model's name when none is given: the checkpoint directory's or the hub id's last part."""
    if local_dir is not None:
        return local_dir.resolve().name
    return source.rstrip("/").split("/")[-1]


def checkpoint_labels(config: Any, head: str, progress: Progress) -> tuple[list[str], str]:
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


def usable_positions(model: Any) -> int | None:
    """Usable positions: max_position_embeddings, less the offset of RoBERTa-style embeddings."""
    positions = getattr(model.config, "max_position_embeddings", None)
    if not isinstance(positions, int) or positions <= 0:
        return None
    for module_name, module in model.named_modules():
        padding_idx = getattr(module, "padding_idx", None)
        if module_name.endswith("position_embeddings") and isinstance(padding_idx, int):
            return min(positions, int(module.num_embeddings) - padding_idx - 1)
    return positions


def model_max_length(tokenizer: Any, model: Any, requested: int | None, progress: Progress) -> int:
    """min(tokenizer limit, usable positions, 512) unless requested (then checked)."""
    positions = usable_positions(model)
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
