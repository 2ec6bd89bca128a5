"""Writing an exported model directory: where it may go, the atomic swap, and its card files.

The export is built in a hidden staging directory next to ``out_dir`` and swapped in whole, so
a failed export never leaves half a model behind and a replaced model directory is restored if
the swap fails.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

from pipeline.scoring.card import ModelCard, load_card
from pipeline.training.card_text import usage_sections


def is_model_dir(path: Path) -> bool:
    """True if ``path`` holds a readable cxstream model card."""
    try:
        load_card(path)
    except ValueError:
        return False
    return True


def check_out_dir(out_dir: Path) -> None:
    """``out_dir`` may be written: absent, empty, or a cxstream model directory (replaced)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not is_model_dir(out_dir):
        raise ValueError(
            f"{out_dir} is not empty and is not a cxstream model directory: refusing to overwrite "
            "it; choose a new or empty directory"
        )


def check_not_inside(source: Path, out_dir: Path) -> None:
    """Writing ``out_dir`` must not replace or nest the checkpoint being exported."""
    src, out = source.resolve(), out_dir.resolve()
    if src == out or out in src.parents:
        raise ValueError(f"{out_dir} contains the checkpoint {source}: choose another directory")


def sibling_dir(out_dir: Path, kind: str) -> Path:
    """A fresh hidden path next to ``out_dir`` (staging or backup): same filesystem, atomic swap."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return out_dir.parent / f".{out_dir.name}.{kind}-{uuid.uuid4().hex[:8]}"


def install(staging: Path, out_dir: Path) -> None:
    """Swap the finished staging directory in; an existing model directory is replaced."""
    check_out_dir(out_dir)
    backup: Path | None = None
    if out_dir.is_dir():
        if any(out_dir.iterdir()):
            backup = sibling_dir(out_dir, "old")
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


def write_card_json(path: Path, card: ModelCard) -> None:
    """Write the card as indented JSON (``model_card.json``)."""
    path.write_text(json.dumps(card.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")


def card_markdown(card: ModelCard) -> str:
    """``MODEL_CARD.md`` of an exported checkpoint: what it is, its checks, use and limits."""
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
        *usage_sections(card),
    ]
    return "\n".join(lines)
