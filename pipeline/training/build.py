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
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch

from pipeline.machine import cpu_summary
from pipeline.scoring import datasets as D
from pipeline.scoring import taxonomy
from pipeline.scoring.card import HeadSpec, ModelCard, file_sha256, load_card
from pipeline.settings import PROJECT_ROOT
from pipeline.training import (
    audit_gate,
    card_refresh,
    sentiment_layer,
    sentiment_rule,
    urgency_layer,
)
from pipeline.training.calibrate import calibrate, int8_fp32_drops, run_onnx
from pipeline.training.card_text import write_card
from pipeline.training.data_mix import Splits, load_splits, training_data
from pipeline.training.export import (
    DEFAULT_OPSET,
    export_onnx,
    fidelity,
    quantize_int8,
)
from pipeline.training.progress import STARTED, log, step
from pipeline.training.train import (
    BASE_MODEL,
    EMBEDDING_OUTPUT,
    HEAD_NAMES,
    MultiHeadModel,
    TrainConfig,
    base_model_dir,
    build_model,
    head_labels,
    output_name,
    seed_everything,
    tokenize,
    train,
)

if TYPE_CHECKING:
    from pipeline.scoring.onnx_model import OnnxModel

NAME = "cx-minilm-multihead"
VERSION = "2.0.0"
"""1.x: the graph trained on SST-2, GoEmotions, BANKING77, CLINC150 (1.1.0 adds the sentiment
rule and the urgency layer to it, 1.2.0 the sentiment layer); 2.x: trained with the SemEval
tweets."""
DEFAULT_OUT = PROJECT_ROOT / "models" / NAME
RUNTIME_MAX_LENGTH = 128
QUANTIZATION = "dynamic int8 (onnxruntime, per-channel weights)"
FIDELITY_TEXTS = 512
THROUGHPUT_TEXTS = 1024
THROUGHPUT_BATCH = 32
Array = np.ndarray[Any, Any]


# -- card -----------------------------------------------------------------------------------------
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
        f"to their rows x passes (BANKING77 x {config.source_repeats.get(D.BANKING77, 1)}, tweets "
        f"x {config.source_repeats.get(D.SEMEVAL, 1)}); each "
        "batch supervises only the heads its source labels: SemEval tweets → 3-class sentiment; "
        "SST-2 → sentiment (neutral logit masked) + urgency; GoEmotions → sentiment (negative/"
        "positive rows only, neutral logit masked), emotion (BCE), intent, urgency; BANKING77 → "
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
        labels = head_labels(D.banking77_labels(data_dir))
        _log_training_rows(splits)

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
            _export_int8(model, pad_id, sample, fp32_dir=work, int8_dir=staging)

        activations = {h: ("sigmoid" if h == "emotion" else "softmax") for h in HEAD_NAMES}
        plain_heads = [
            HeadSpec(name=h, output=output_name(h), activation=activations[h], labels=labels[h])
            for h in HEAD_NAMES
        ]
        for directory in (staging, work):
            (directory / "model_card.json").write_text(
                card_for(directory, plain_heads).model_dump_json(indent=2), "utf-8"
            )
        int8 = OnnxModel(staging)

        with step("run int8 ONNX on calibration + evaluation sets", timings):
            out = _run_calibration_sets(int8, splits)

        with step("calibrate", timings):
            calibration, heads, levels = calibrate(out, splits, labels, activations)

        with step("int8 vs fp32 fidelity + throughput", timings):
            rng = random.Random(seed)
            thresholds = {h.name: h.threshold for h in heads if h.threshold is not None}
            fp32 = OnnxModel(work)
            metrics, fidelity_texts = _fidelity(
                int8, fp32, splits, labels, activations, thresholds, rng
            )
            calibration["fidelity_texts"] = fidelity_texts
            metrics["sequences_per_second"], bench_texts = _throughput(int8, splits, rng)
            calibration["throughput"] = {
                "texts": bench_texts,
                "batch": THROUGHPUT_BATCH,
                "machine": cpu_summary(),
                "note": "OnnxModel.run (tokenise + pad + onnxruntime), evaluation texts in "
                "random order, default onnxruntime threads",
            }
            log(f"   {metrics['sequences_per_second']:.1f} sequences/s (int8, batch 32)")

        created = _created_with(config, summary, timings, seed=seed, threads=threads)
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
    _fit_after_export(out_dir, data_dir, timings, max_eval=max_eval, seed=seed)
    log(f"wrote {out_dir} in {(time.perf_counter() - STARTED) / 60:.1f} min: {timings}")
    return load_card(out_dir)


def _log_training_rows(splits: Splits) -> None:
    for source, note in splits.train_notes.items():
        log(f"   {source}: {note}")
    urgency = D.label_counts(splits.train, "urgency")
    log(f"   training rows {len(splits.train)}; urgency {urgency}")
    log(f"   intent {D.label_counts(splits.train, 'intent')}")


def _export_int8(
    model: MultiHeadModel, pad_id: int, sample: list[list[int]], *, fp32_dir: Path, int8_dir: Path
) -> None:
    """Export ``model`` to fp32 ONNX (checked against torch on ``sample``), quantise it to int8,
    and write the runtime tokenizer (truncating at ``RUNTIME_MAX_LENGTH``) beside both."""
    from tokenizers import Tokenizer

    diff = export_onnx(model, fp32_dir / "model.onnx", pad_id=pad_id, check_ids=sample)
    log(f"   fp32 ONNX vs torch max |diff| {diff:.2e}")
    if diff > 1e-3:
        raise RuntimeError(f"ONNX export disagrees with torch (max |diff| {diff:.3g})")
    quantize_int8(fp32_dir / "model.onnx", int8_dir / "model.onnx")
    runtime_tokenizer = Tokenizer.from_file(str(base_model_dir() / "tokenizer.json"))
    runtime_tokenizer.no_padding()
    runtime_tokenizer.enable_truncation(max_length=RUNTIME_MAX_LENGTH)
    runtime_tokenizer.save(str(int8_dir / "tokenizer.json"), pretty=False)
    shutil.copy(int8_dir / "tokenizer.json", fp32_dir / "tokenizer.json")
    for path in (fp32_dir / "model.onnx", int8_dir / "model.onnx"):
        log(f"   {path.name} {path.stat().st_size / 2**20:.1f} MiB ({path.parent.name})")


def card_for(directory: Path, heads: list[HeadSpec], **extra: Any) -> ModelCard:
    """The card of the model in ``directory`` (its sha256) with these heads."""
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


def _run_calibration_sets(int8: OnnxModel, splits: Splits) -> dict[str, dict[str, Array]]:
    """Raw int8 outputs of every calibration and evaluation set, by set name."""
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
    return out


def _evaluation_pool(splits: Splits) -> list[str]:
    return [
        e.text for e in splits.sst2_dev + splits.go_test + splits.bank_test + splits.cx_intent_test
    ]


def _fidelity(
    int8: OnnxModel,
    fp32: OnnxModel,
    splits: Splits,
    labels: dict[str, list[str]],
    activations: dict[str, str],
    thresholds: dict[str, float],
    rng: random.Random,
) -> tuple[dict[str, float], int]:
    """int8 vs fp32 agreement on up to ``FIDELITY_TEXTS`` evaluation texts and metric drops,
    and how many texts were compared."""
    pool = _evaluation_pool(splits)
    texts = rng.sample(pool, min(FIDELITY_TEXTS, len(pool)))
    fid = fidelity(run_onnx(int8, texts), run_onnx(fp32, texts), activations, thresholds)
    fid.update(int8_fp32_drops(int8, fp32, splits, labels))
    log("   " + ", ".join(f"{k} {v:.4f}" for k, v in fid.items()))
    return fid, len(texts)


def _throughput(int8: OnnxModel, splits: Splits, rng: random.Random) -> tuple[float, int]:
    """int8 sequences per second over up to ``THROUGHPUT_TEXTS`` evaluation texts (batch 32),
    and how many texts were run."""
    pool = _evaluation_pool(splits)
    bench = rng.sample(pool, min(THROUGHPUT_TEXTS, len(pool)))
    int8.run(bench[:THROUGHPUT_BATCH])  # warm-up
    began = time.perf_counter()
    for start in range(0, len(bench), THROUGHPUT_BATCH):
        int8.run(bench[start : start + THROUGHPUT_BATCH])
    return round(len(bench) / (time.perf_counter() - began), 1), len(bench)


def _created_with(
    config: TrainConfig,
    summary: dict[str, Any],
    timings: dict[str, float],
    *,
    seed: int,
    threads: int,
) -> dict[str, str]:
    """The card's ``created_with``: versions, seed, timings, machine, command and recipe."""
    return {
        **_versions(),
        "seed": str(seed),
        "epochs": str(config.epochs),
        "train_max_length": str(config.max_length),
        "train_steps": str(summary["steps"]),
        "train_precision": summary["precision"],
        "train_seconds": f"{summary['seconds']:.0f}",
        "wall_seconds": f"{time.perf_counter() - STARTED:.0f}",
        "step_seconds": json.dumps(timings),
        "machine": cpu_summary(),
        "torch_threads": str(threads),
        "onnx_opset": str(DEFAULT_OPSET),
        "command": "python -m pipeline.training.build " + " ".join(sys.argv[1:]),
        "recipe": recipe_text(config, summary),
    }


def _fit_after_export(
    out_dir: Path, data_dir: Path, timings: dict[str, float], *, max_eval: int | None, seed: int
) -> None:
    """The pieces fitted on the installed int8 model, its evaluation and its fairness gate."""
    with step("sentiment decision rule (TweetEval val)", timings):
        sentiment_rule.fit(out_dir, data_dir, progress=log, limit=max_eval)
    with step("sentiment layer (SemEval tweets + labelled fit split)", timings):
        sentiment_layer.fit(out_dir, data_dir, progress=log, limit=max_eval)
    with step("urgency layer (labelled fit split)", timings):
        urgency_layer.fit(out_dir, progress=log)
    with step("evaluate (cxstream models eval) into the card", timings):
        card_refresh.refresh(out_dir, data_dir=data_dir, limit=max_eval)
    with step("fairness audit (cxstream audit) into the card", timings):
        try:
            audit_gate.gate(out_dir, seed=seed, enforce=max_eval is None)
        except audit_gate.FairnessGateFailed as exc:
            raise SystemExit(f"make models: {exc}") from exc


INTENDED_USE = (
    "Default scoring model of the cxstream pipeline: 3-class sentiment tuned to notice unhappy "
    "customers, emotions, a 10-way customer-experience intent (with BANKING77 detail), an urgency "
    "level fitted on labelled customer messages, and a sentence embedding (which also feeds "
    "business-defined intent packs) for short English customer messages (chat, email, social, "
    "reviews, transcripts), to route, prioritise and aggregate interactions. Scores assist "
    "people; they are not decisions about customers."
)
LIMITATIONS = [
    "English only (all training data is English); other languages are not scored "
    "(unsupported_language) and are routed to a person by language.",
    "The sentiment decision rule favours negative recall (class offsets chosen on TweetEval val "
    "for macro recall): some neutral messages are called negative. Read the probabilities, not "
    "only the label, where that matters.",
    "Urgency levels come from a linear layer fitted on about 770 written (not collected) "
    "customer messages labelled with docs/labelling.md; they judge the message alone, without "
    "account history, and should order a queue, not trigger irreversible actions on their own.",
    "Sarcasm and irony are often missed; mixed verdicts ('great prices, awful delivery') get one "
    "label.",
    "The 10 CX intents come from banking queries (BANKING77), assistant commands (CLINC150) and "
    "GoEmotions tone (complaint/praise); other industries' reasons for contact need an intent "
    "pack (docs/intents.md).",
    "BANKING77 detail is only meaningful for banking messages; it always outputs one of the 77 "
    "categories.",
    "Rare emotions (grief, pride, relief, nervousness) have low F1 as in the GoEmotions paper.",
    "Texts longer than 128 tokens are scored by the runtime as head + tail windows; training "
    "used at most 64 tokens.",
    "The embedding is fine-tuned with the heads, so it is no longer identical to "
    "all-MiniLM-L6-v2's similarity space.",
    "int8 quantisation changes a small share of decisions (see the fidelity measures).",
    "Inherits biases of the base model and of Twitter, Reddit and movie-review text.",
]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.training.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--data-dir", type=Path, default=D.DEFAULT_DATA_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--epochs", type=int, default=1, help="passes over the mix (default 1, ~65 min on 2 cores)"
    )
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
