"""``cxstream bench``: every speed the pipeline has, side by side with its limits, in one run.

One local broker (127.0.0.1:19192), fresh topics per measurement, workers as child processes:

1. transport limit — a pass-through Faust agent (raw → out), events/s;
2. spine — standardise + identity + dedupe (``CXSTREAM_AGENTS=standardise,resolve``), events/s;
3. model limit — tokenise + onnxruntime on the same texts in a tight loop, best batch;
4. full pipeline — every agent, all events produced at once (closed loop), events/s until the
   last enriched record; the worker's peak RSS;
5. latency — an open-loop producer at 50 % of (4) for a fixed time; latency of each enriched
   record = its Kafka timestamp - the raw event's Kafka timestamp (``received_at``);
6. two workers in one group vs one (partition scaling), closed loop as (4);
7. naive baseline and DistilBERT-sized anchor — torch-side, in the training venv
   (``pipeline/tools/bench/torch_side.py``); reported as null with the reason when it is absent.

Every number is a rate or a ratio from this run on this machine; results go to
``<state dir>/bench/results/<UTC time>.json`` with the machine's description.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic

from pipeline.machine import describe
from pipeline.resources import STATE_HOME
from pipeline.scoring.onnx_model import OnnxModel
from pipeline.settings import PROJECT_ROOT, Settings, local_settings
from pipeline.streaming.admin import create_topics, end_offsets
from pipeline.streaming.security import client_config
from pipeline.tools.bench.scoring import MODEL_BATCHES, bench_interactions, model_only_rate
from pipeline.tools.bench.transport import out_topic
from pipeline.tools.local_stack import LocalStack, local_stack
from pipeline.tools.output_accounting import newest_timestamp
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.runner import WorkerProcess
from pipeline.tools.synthetic import generate

RESULTS_DIR = STATE_HOME / "bench" / "results"
TRAIN_PYTHON = PROJECT_ROOT / ".venv-train" / "bin" / "python"
ANCHOR_DIR = PROJECT_ROOT / ".cache" / "bench" / "distilbert-anchor"
ALL_AGENTS = "standardise,resolve,score,workflow"
WARMUP_S = 5.0  # latency run: seconds of traffic before measuring (first fetches, ONNX warm-up)


@dataclass(frozen=True)
class Plan:
    """How big each measurement is."""

    events: int
    latency_s: float
    naive_s: float

    @classmethod
    def of(cls, quick: bool) -> Plan:
        return cls(events=1000, latency_s=20, naive_s=30) if quick else cls(4000, 60, 90)


class Bench:
    """One benchmark run: a broker, then one fresh topic set per measurement."""

    def __init__(self, quick: bool, say: Callable[[str], None]) -> None:
        self.plan = Plan.of(quick)
        self.say = say
        self.base = local_settings("bench-suite", 19192, 16266, metrics_port=0)
        self.records = generate(self.plan.events, seed=29)
        self.rss: list[float] = []
        self.stack: LocalStack | None = None  # the broker, while ``run_suite`` holds it

    # -- plumbing ------------------------------------------------------------------------------
    def fresh(self, name: str, **overrides: Any) -> Settings:
        """Settings with their own topics and consumer group, topics created."""
        tag = f"{name}-{uuid.uuid4().hex[:6]}"
        settings = self.base.model_copy(
            update={"topic_prefix": f"b{tag}.", "app_id": f"bench-{tag}", **overrides}
        )
        create_topics(settings)
        return settings

    def workers(
        self, settings: Settings, count: int = 1, module: str = "pipeline.cli"
    ) -> list[WorkerProcess]:
        if self.stack is None:
            raise RuntimeError("the bench's broker is not running")
        procs = []
        for i in range(count):
            own = settings.model_copy(update={"web_port": settings.web_port + i})
            log_path = own.state_dir / f"{own.app_id}-{i}.log"
            procs.append(self.stack.start_worker(own, log_path=log_path, module=module))
        for proc in procs:
            proc.wait_ready(timeout_s=120)
        time.sleep(3 if count == 1 else 8)  # let the group settle (docs/architecture.md §9)
        return procs

    def stop(self, procs: list[WorkerProcess]) -> None:
        for proc in procs:
            rss = proc.peak_rss_mb()
            if rss is not None:
                self.rss.append(rss)
            proc.stop()

    def messages(self, settings: Settings) -> list[Outgoing]:
        return [Outgoing(settings.topics.raw(r.channel), r.key, r.value) for r in self.records]

    def wait_total(
        self, settings: Settings, topics: list[str], count: int, timeout_s: float = 600
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if sum(end_offsets(settings, topics).values()) >= count:
                return
            time.sleep(0.25)
        raise RuntimeError(f"fewer than {count} records on {topics} after {timeout_s:g} s")

    # -- measurements --------------------------------------------------------------------------
    def transport(self) -> float:
        settings = self.fresh("transport")
        admin = KafkaAdminClient(**client_config(settings))
        try:
            admin.create_topics([NewTopic(out_topic(settings), settings.partitions, 1)])
        finally:
            admin.close()
        procs = self.workers(settings, module="pipeline.tools.bench.transport")
        try:
            wall = time.time()
            produce(settings, self.messages(settings))
            self.wait_total(settings, [out_topic(settings)], len(self.records))
            return len(self.records) / (newest_timestamp(settings, [out_topic(settings)]) - wall)
        finally:
            self.stop(procs)

    def spine(self) -> float:
        settings = self.fresh("spine", agents="standardise,resolve")
        procs = self.workers(settings)
        try:
            wall = time.time()
            produce(settings, self.messages(settings))
            t = settings.topics
            outs = [t.interactions, t.duplicates, t.deadletter]
            self.wait_total(settings, outs, len(self.records))
            return len(self.records) / (newest_timestamp(settings, outs) - wall)
        finally:
            self.stop(procs)

    def full(self, workers: int = 1) -> tuple[float, int]:
        """Closed loop: raw events/s until the last enriched record; and how many were enriched."""
        settings = self.fresh(f"full{workers}", agents=ALL_AGENTS)
        procs = self.workers(settings, workers)
        try:
            wall = time.time()
            produce(settings, self.messages(settings))
            t = settings.topics
            self.wait_total(
                settings, [t.interactions, t.duplicates, t.deadletter], len(self.records)
            )
            interactions = sum(end_offsets(settings, [t.interactions]).values())
            self.wait_total(settings, [t.enriched], interactions)
            return len(self.records) / (
                newest_timestamp(settings, [t.enriched]) - wall
            ), interactions
        finally:
            self.stop(procs)

    def latency(self, rate: float) -> dict[str, float]:
        """Open loop at ``rate`` raw events/s for the planned time; latency percentiles in ms.

        A warm-up of ``WARMUP_S`` at the same rate goes first and is not counted: the first
        seconds after a worker starts (first fetches, the ONNX session's first runs, RocksDB
        opening) are a one-time cost, reported by the suite as ``warmup_p99_ms``."""
        settings = self.fresh("latency", agents=ALL_AGENTS)
        procs = self.workers(settings)
        t = settings.topics
        decided = [t.interactions, t.duplicates, t.deadletter]

        def run(count: int, seed: int, done_before: int) -> None:
            records = generate(count, seed=seed)
            produce(
                settings,
                [Outgoing(settings.topics.raw(r.channel), r.key, r.value) for r in records],
                rate=rate,
            )
            self.wait_total(settings, decided, done_before + count)
            expected = sum(end_offsets(settings, [t.interactions]).values())
            self.wait_total(settings, [t.enriched], expected)

        try:
            warmup = max(20, int(rate * WARMUP_S))
            run(warmup, seed=37, done_before=0)
            start = end_offsets(settings, [t.enriched])
            warm = _latencies_ms(settings, t.enriched)
            count = max(50, int(rate * self.plan.latency_s))
            run(count, seed=31, done_before=warmup)
            lat = _latencies_ms(settings, t.enriched, start)
            return {
                "warmup_p99_ms": round(float(np.percentile(warm, 99)), 1),
                "p50_ms": round(float(np.percentile(lat, 50)), 1),
                "p95_ms": round(float(np.percentile(lat, 95)), 1),
                "p99_ms": round(float(np.percentile(lat, 99)), 1),
                "latency_events": len(lat),
                "latency_rate_eps": round(rate, 1),
            }
        finally:
            self.stop(procs)

    def model_limit(self) -> tuple[float, list[str]]:
        texts = [ix.text or "" for ix in bench_interactions(self.plan.events, Settings())]
        model = OnnxModel(Settings().model_dir)
        best = max(model_only_rate(model, texts, batch) for batch in MODEL_BATCHES)
        return best, texts

    def naive(self, texts: list[str]) -> tuple[float | None, str]:
        if not TRAIN_PYTHON.exists():
            return None, "no training venv (.venv-train): run `make train-setup` for this baseline"
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
            handle.write("\n".join(t.replace("\n", " ") for t in texts))
        try:
            out = _torch_side(
                ["naive", "--texts", handle.name, "--max-seconds", str(self.plan.naive_s)]
            )
        finally:
            os.unlink(handle.name)
        return float(out["naive_eps"]), str(out.get("model", ""))

    def distilbert(self, texts: list[str]) -> tuple[float | None, str]:
        if not TRAIN_PYTHON.exists():
            return None, "no training venv (.venv-train): run `make train-setup` for this anchor"
        _torch_side(["distilbert", "--out", str(ANCHOR_DIR)])
        model = OnnxModel(ANCHOR_DIR, verify_sha256=True)
        sample = texts[: min(len(texts), 512)]
        return max(model_only_rate(model, sample, b) for b in MODEL_BATCHES), str(ANCHOR_DIR)


def _torch_side(args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(
        [str(TRAIN_PYTHON), "-m", "pipeline.tools.bench.torch_side", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        check=False,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"torch-side benchmark {args[0]} failed:\n{proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _latencies_ms(
    settings: Settings, topic: str, start: dict[TopicPartition, int] | None = None
) -> list[float]:
    """Received → written latency of every record of ``topic`` (from ``start`` offsets)."""
    consumer = KafkaConsumer(
        **client_config(settings),
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        for tp, offset in (start or {}).items():
            consumer.seek(tp, offset)
        out = []
        for record in consumer:
            received = datetime.fromisoformat(json.loads(record.value)["received_at"])
            out.append(record.timestamp - received.timestamp() * 1000)
        return out
    finally:
        consumer.close()


def run_suite(quick: bool = False, say: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run every measurement; return the result (also saved under <state dir>/bench/results/)."""
    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    bench = Bench(quick, say)
    started = time.monotonic()
    result: dict[str, Any] = {
        "quick": quick,
        "events": bench.plan.events,
        "load_average_1m_before": round(os.getloadavg()[0], 2),
    }
    announce = "[bench] starting the local broker on 127.0.0.1:19192 …"
    with local_stack(bench.base, announce=announce, say=say) as stack:
        bench.stack = stack
        say(f"[bench 1/7] transport limit: pass-through agent, {bench.plan.events} events …")
        result["transport_eps"] = round(bench.transport(), 1)
        say("[bench 2/7] spine: standardise + identity + dedupe …")
        result["spine_eps"] = round(bench.spine(), 1)
        say("[bench 3/7] model limit: tokenise + onnxruntime, tight loop …")
        model_sps, texts = bench.model_limit()
        result["model_limit_sps"] = round(model_sps, 1)
        say("[bench 4/7] full pipeline, closed loop …")
        full_eps, enriched = bench.full(1)
        result["full_eps"] = round(full_eps, 1)
        result["full_enriched"] = enriched
        say(f"[bench 5/7] latency at 50% load ({full_eps / 2:.0f} events/s, open loop) …")
        result.update(bench.latency(full_eps / 2))
        say("[bench 6/7] two workers in one group …")
        two_eps, _ = bench.full(2)
        result["two_workers_eps"] = round(two_eps, 1)
    say("[bench 7/7] torch-side baselines (training venv) …")
    naive, naive_note = bench.naive(texts)
    anchor, anchor_note = bench.distilbert(texts)
    result["naive_eps"] = None if naive is None else round(naive, 1)
    result["naive_model"] = naive_note
    result["distilbert_sps"] = None if anchor is None else round(anchor, 1)
    result["distilbert_note"] = anchor_note
    result["worker_rss_mb"] = max(bench.rss) if bench.rss else None
    result["full_vs_model_limit"] = round(full_eps / model_sps, 3)
    result["spine_vs_transport"] = round(result["spine_eps"] / result["transport_eps"], 3)
    result["full_vs_naive"] = None if not naive else round(full_eps / naive, 2)
    result["two_vs_one_worker"] = round(two_eps / full_eps, 3)
    result["seconds"] = round(time.monotonic() - started, 1)
    result["machine"] = describe()
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{result['measured_at'].replace(':', '')}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    result["saved_to"] = str(path)
    return result


TARGETS = {
    "full_vs_model_limit": (">=", 0.8),
    "spine_vs_transport": (">=", 0.5),
    "full_vs_naive": (">=", 5.0),
    "p99_ms": ("<=", 500.0),
    "worker_rss_mb": ("<=", 1500.0),
}


def render(result: dict[str, Any]) -> str:
    """The result as a table with the targets."""
    rows = [
        ("transport limit (pass-through agent)", "transport_eps", "events/s"),
        ("spine (standardise + identity + dedupe)", "spine_eps", "events/s"),
        ("model limit (tokenise + onnxruntime)", "model_limit_sps", "texts/s"),
        ("full pipeline, closed loop", "full_eps", "events/s"),
        ("latency p50 at 50% load", "p50_ms", "ms"),
        ("latency p95 at 50% load", "p95_ms", "ms"),
        ("latency p99 at 50% load", "p99_ms", "ms"),
        ("warm-up p99 (first 5 s, not counted)", "warmup_p99_ms", "ms"),
        ("two workers, closed loop", "two_workers_eps", "events/s"),
        ("naive: transformers, batch 1", "naive_eps", "texts/s"),
        ("DistilBERT-base anchor (ONNX int8)", "distilbert_sps", "texts/s"),
        ("worker peak RSS", "worker_rss_mb", "MiB"),
        ("full / model limit", "full_vs_model_limit", "x"),
        ("spine / transport", "spine_vs_transport", "x"),
        ("full / naive", "full_vs_naive", "x"),
        ("two workers / one", "two_vs_one_worker", "x"),
    ]
    lines = [f"{'measure':<42} {'value':>10}  unit      target"]
    for label, key, unit in rows:
        value = result.get(key)
        shown = "n/a" if value is None else f"{value:,}"
        target = ""
        if key in TARGETS:
            op, limit = TARGETS[key]
            ok = value is not None and (value >= limit if op == ">=" else value <= limit)
            target = f"{op} {limit:g}  {'met' if ok else 'NOT met'}"
        lines.append(f"{label:<42} {shown:>10}  {unit:<8}  {target}")
    m = result.get("machine", {})
    lines.append(
        f"\nmachine: {m.get('cpu')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB; "
        f"load {result.get('load_average_1m_before')} before / {m.get('load_average_1m')} after; "
        f"{result.get('events')} events per run; {result.get('seconds')} s; "
        f"saved to {result.get('saved_to')}"
    )
    for key in ("naive_model", "distilbert_note"):
        if result.get(key):
            lines.append(f"{key}: {result[key]}")
    return "\n".join(lines)
