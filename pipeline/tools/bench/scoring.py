"""``cxstream bench --scoring``: model-only speed vs the scorer vs the scoring agent, one run.

* model limit: tokenise + onnxruntime on the same texts in a tight loop, best of batch 16/32/64;
* scorer: the same texts through ``Scorer.score`` (windows, calibration, reasons);
* score agent: a worker running only the score agent (``CXSTREAM_AGENTS=score``, as a dedicated
  scoring worker would); interactions written to ``cx.interactions`` on a local broker, timed
  until the last scored record lands on ``cx.internal.scored`` (its Kafka timestamp);
* agent (full path): a worker running every agent, timed until every interaction is read back
  from ``cx.enriched`` after the workflow stage (routing, alerts, profiles);
* int8 vs fp32: speed and SST-2 dev agreement/accuracy of the bundled model when its fp32
  graph is at hand (``make models`` leaves ``model.fp32.onnx``, git-ignored); otherwise the
  speed of the same encoder exported both ways in the training venv and the accuracy drop
  from the model card.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.contracts.records import Interaction
from pipeline.scoring import datasets
from pipeline.scoring.onnx_model import OnnxModel
from pipeline.scoring.scorer import Scorer
from pipeline.settings import PROJECT_ROOT, Settings, local_settings
from pipeline.standardise.standardiser import RawMessage, Standardiser
from pipeline.streaming.admin import create_topics, end_offsets
from pipeline.tools.local_stack import local_stack
from pipeline.tools.output_accounting import collect, newest_timestamp, output_topics
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.synthetic import generate

BATCH = 32
PAIR_DIR = PROJECT_ROOT / ".cache" / "bench" / "minilm-pair"
MODEL_BATCHES = (16, 32, 64)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def bench_interactions(count: int, settings: Settings) -> list[Interaction]:
    """``count`` standardised synthetic interactions with text (seed 21), on 97 customers."""
    std = Standardiser(settings)
    out: list[Interaction] = []
    for i, rec in enumerate(generate(count * 2, seed=21)):
        raw = RawMessage(settings.topics.raw(rec.channel), 0, i, rec.key, rec.value, None)
        try:
            ix = std.standardise(raw)
        except ValueError:
            continue
        if ix.text:
            out.append(ix.model_copy(update={"customer_key": f"cus_bench{i % 97}"}))
        if len(out) == count:
            break
    return out


def model_only_rate(model: OnnxModel, texts: list[str], batch: int) -> float:
    """Texts/s of tokenise + onnxruntime alone in a tight loop (after one warm-up batch)."""
    limit = model.card.max_length
    model.run(texts[:batch])
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        ids = [
            s if len(s) <= limit else s[: limit - 1] + s[-1:]
            for s in model.encode(texts[start : start + batch])
        ]
        model.run_ids(ids)
    return len(texts) / (time.perf_counter() - started)


def _scorer(scorer: Scorer, texts: list[str], batch: int) -> float:
    scorer.score(texts[:batch], embeddings=False)
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        scorer.score(texts[start : start + batch], embeddings=False)
    return len(texts) / (time.perf_counter() - started)


def _wait_for_records(settings: Settings, topic: str, count: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if sum(end_offsets(settings, [topic]).values()) >= count:
            return
        time.sleep(0.2)
    raise RuntimeError(f"fewer than {count} records on {topic} after {timeout_s:g} s")


def _agent(interactions: list[Interaction], timeout_s: float, agents: str) -> float:
    """Events/s through a worker running ``agents`` on a local broker, produced all at once.

    ``agents="score"``: until the last scored record lands on ``cx.internal.scored`` (its Kafka
    timestamp); otherwise until every interaction is read back from ``cx.enriched``.
    """
    settings = local_settings(
        "bench",
        19192,
        16166,
        metrics_port=0,
        app_id="cxstream-bench",
        agents=agents,
    )
    with local_stack(settings) as stack:
        create_topics(settings)
        stack.start_worker().wait_ready(timeout_s=90)
        start = end_offsets(settings, output_topics(settings))
        messages = [
            Outgoing(
                settings.topics.interactions,
                str(ix.customer_key).encode(),
                ix.model_dump_json().encode(),
            )
            for ix in interactions
        ]
        began, wall = time.perf_counter(), time.time()
        produce(settings, messages)
        if "workflow" not in settings.agent_roles:
            _wait_for_records(settings, settings.topics.scored, len(messages), timeout_s)
            return len(messages) / (newest_timestamp(settings, [settings.topics.scored]) - wall)
        # The produced interactions count as accounted; wait until each has its enriched copy.
        out = collect(
            settings,
            len(messages),
            start=start,
            timeout_s=timeout_s,
            settle_s=0.0,
            wait_enriched=True,
        )
        elapsed = time.perf_counter() - began
        if len(out.enriched) < len(messages):
            raise RuntimeError(f"only {len(out.enriched)}/{len(messages)} enriched in time")
        return len(messages) / elapsed


def _fp32_vs_int8(model_dir: Path, fp32: Path, limit: int) -> dict[str, Any]:
    root = datasets.resolve_data_dir()
    sst = datasets.load_sst2(root, "dev")[:limit]
    texts = [e.text for e in sst]
    truth = np.array([e.sentiment == "positive" for e in sst])
    int8 = OnnxModel(model_dir)
    staged = model_dir.parent / f".{model_dir.name}-fp32"
    staged.mkdir(exist_ok=True)
    for name in ("tokenizer.json", "model_card.json"):
        shutil.copy(model_dir / name, staged / name)
    shutil.copy(fp32, staged / "model.onnx")
    full = OnnxModel(staged, verify_sha256=False)
    result: dict[str, Any] = {}
    predictions = {}
    for label, model in (("int8", int8), ("fp32", full)):
        result[f"{label}_sps"] = round(model_only_rate(model, texts, BATCH), 1)
        head = model.card.head("sentiment")
        assert head is not None
        logits = np.concatenate(
            [model.run(texts[i : i + BATCH])[head.output] for i in range(0, len(texts), BATCH)]
        )
        pos, neg = head.labels.index("positive"), head.labels.index("negative")
        predictions[label] = logits[:, pos] > logits[:, neg]
        result[f"{label}_sst2_dev_accuracy"] = round(float(np.mean(predictions[label] == truth)), 4)
    result["int8_fp32_agreement"] = round(
        float(np.mean(predictions["int8"] == predictions["fp32"])), 4
    )
    result["int8_speedup"] = round(result["int8_sps"] / result["fp32_sps"], 2)
    shutil.rmtree(staged)
    return result


def run_scoring_bench(events: int = 1000, *, timeout_s: float = 300.0) -> dict[str, Any]:
    """Every number of the scoring benchmark, measured now on this machine."""
    settings = Settings()
    interactions = bench_interactions(events, settings)
    texts = [ix.text or "" for ix in interactions]
    scorer = Scorer(
        settings.model_dir, threads=settings.onnx_threads, bucket_size=settings.score_bucket_size
    )
    by_batch: dict[int, float] = {}
    for batch in MODEL_BATCHES:
        _say(f"model-only on {len(texts)} texts, batch {batch} …")
        by_batch[batch] = round(model_only_rate(scorer.model, texts, batch), 1)
    best_batch = max(by_batch, key=by_batch.__getitem__)
    model_sps = by_batch[best_batch]
    _say("scorer …")
    scorer_sps = _scorer(scorer, texts, settings.score_batch_size)
    _say("score agent alone (CXSTREAM_AGENTS=score) through a local broker …")
    score_agent_eps = _agent(interactions, timeout_s, agents="score")
    _say("full path (score + workflow) through a local broker …")
    agent_eps = _agent(interactions, timeout_s, agents="standardise,resolve,score,workflow")
    result: dict[str, Any] = {
        "texts": len(texts),
        "model_limit_sps": model_sps,
        "model_limit_batch": best_batch,
        "model_sps_by_batch": by_batch,
        "agent_batch": settings.score_batch_size,
        "scorer_sps": round(scorer_sps, 1),
        "score_agent_eps": round(score_agent_eps, 1),
        "score_agent_vs_model_limit": round(score_agent_eps / model_sps, 3),
        "agent_eps": round(agent_eps, 1),
        "agent_vs_model_limit": round(agent_eps / model_sps, 3),
        "scorer_vs_model_limit": round(scorer_sps / model_sps, 3),
        "agent_vs_scorer": round(agent_eps / scorer_sps, 3),
    }
    fp32 = settings.model_dir / "model.fp32.onnx"
    if fp32.exists():
        _say("int8 vs fp32 on SST-2 dev …")
        result.update(_fp32_vs_int8(settings.model_dir, fp32, limit=872))
    else:
        result.update(_pair_speed(texts, scorer.card.metrics))
    return result


def _pair_speed(texts: list[str], card_metrics: dict[str, float]) -> dict[str, Any]:
    """int8 vs fp32 speed on the bundled model's architecture, accuracy from its card.

    Without the build's fp32 graph, the training venv exports the same encoder (random head)
    both ways (``torch_side minilm-pair``, cached under .cache/bench); the accuracy side is the
    build's own fp32 vs int8 evaluation recorded in the model card.
    """
    accuracy = {
        "int8_fp32_sst2_dev_accuracy_drop": card_metrics.get("int8_fp32_sst2_dev_accuracy_drop"),
        "int8_fp32_banking77_test_accuracy_drop": card_metrics.get(
            "int8_fp32_banking77_test_accuracy_drop"
        ),
        "int8_fp32_accuracy_source": "model card (build-time evaluation, fp32 vs int8)",
    }
    train_python = PROJECT_ROOT / ".venv-train" / "bin" / "python"
    if not train_python.exists():
        return {
            **accuracy,
            "fp32": "speed not measured: no model.fp32.onnx and no training venv "
            "(make models, or make train-setup)",
        }
    _say("int8 vs fp32 speed: the same encoder exported both ways (training venv) …")
    proc = subprocess.run(
        [
            str(train_python),
            "-m",
            "pipeline.tools.bench.torch_side",
            "minilm-pair",
            "--out",
            str(PAIR_DIR),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
        check=False,
        timeout=1200,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"exporting the fp32/int8 pair failed:\n{proc.stderr[-2000:]}")
    sample = texts[:512]
    speeds = {
        kind: round(model_only_rate(OnnxModel(PAIR_DIR / kind), sample, BATCH), 1)
        for kind in ("int8", "fp32")
    }
    return {
        **accuracy,
        "int8_sps": speeds["int8"],
        "fp32_sps": speeds["fp32"],
        "int8_speedup": round(speeds["int8"] / speeds["fp32"], 2),
        "int8_fp32_speed_source": "all-MiniLM-L6-v2 (random head) exported fp32 and int8, "
        f"batch {BATCH}, {len(sample)} texts",
    }
