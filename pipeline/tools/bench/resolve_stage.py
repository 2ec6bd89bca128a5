"""The single-partition resolve stage alone, through the broker: events/s and events per core.

``python -m pipeline.tools.bench.resolve_stage [--events N]`` (docs/deploy.md reports it): a
standardise-only worker fills ``cx.internal.resolve`` from synthetic raw traffic and stops; then
a resolve-only worker (``CXSTREAM_AGENTS=resolve``, its own consumer group) drains that backlog.
Its ``/metrics`` and its ``/proc`` CPU time are sampled every 0.2 s, from the first input it
counts to the last, so start-up is not in the numbers. Rate = inputs / seconds; per core =
inputs / CPU seconds of the worker process (the broker's CPU is not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
import urllib.request
import uuid
from pathlib import Path

from pipeline.settings import Settings, local_settings
from pipeline.streaming.admin import create_topics, end_offsets
from pipeline.tools.local_stack import LocalStack, local_stack
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.synthetic import generate

SAMPLE_S = 0.2
RESOLVED = re.compile(r'^cxstream_stage_events_in_total\{[^}]*stage="resolve"[^}]*\} (\S+)$', re.M)


def resolve_inputs(settings: Settings) -> float:
    """Inputs the worker's resolve stage has counted (``cxstream_stage_events_in_total``)."""
    url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:  # our own worker
        text = response.read().decode()
    return sum(float(v) for v in RESOLVED.findall(text))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fill(stack: LocalStack, settings: Settings, events: int) -> int:
    """Standardise ``events`` raw messages onto the resolve topic; the backlog it left."""
    own = settings.model_copy(update={"agents": "standardise"})
    worker = stack.start_worker(own, log_path=own.state_dir / "standardise.log")
    worker.wait_ready(timeout_s=120)
    records = generate(events, seed=31)
    produce(settings, [Outgoing(settings.topics.raw(r.channel), r.key, r.value) for r in records])
    names = [settings.topics.resolve, settings.topics.deadletter]
    deadline = time.monotonic() + 600
    while sum(end_offsets(settings, names).values()) < events:
        if time.monotonic() > deadline:
            raise RuntimeError("standardise did not finish within 600 s")
        time.sleep(0.5)
    worker.stop()
    return sum(end_offsets(settings, [settings.topics.resolve]).values())


def drain(stack: LocalStack, settings: Settings, backlog: int) -> dict[str, float]:
    """Start a resolve-only worker on the backlog; its rate and CPU between first and last input."""
    own = settings.model_copy(update={"agents": "resolve", "app_id": f"{settings.app_id}-r"})
    worker = stack.start_worker(own, log_path=own.state_dir / "resolve.log")
    worker.wait_ready(timeout_s=120)
    pid = worker.worker_pid()
    if pid is None:
        raise RuntimeError("the resolve worker has no process")
    first: tuple[float, float, float] | None = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        now, done, cpu = time.monotonic(), resolve_inputs(own), cpu_seconds(pid)
        if first is None and done > 0:
            first = (now, done, cpu)
        if first is not None and done >= backlog:
            wall, inputs, used = now - first[0], done - first[1], cpu - first[2]
            worker.stop()
            if wall <= 0 or used <= 0:
                raise RuntimeError("drained before a second sample: run with more --events")
            return {
                "inputs": inputs,
                "seconds": round(wall, 2),
                "events_per_s": round(inputs / wall, 1),
                "cpu_cores_used": round(used / wall, 2),
                "events_per_cpu_s": round(inputs / used, 1),
            }
        time.sleep(SAMPLE_S)
    raise RuntimeError(f"resolve did not drain {backlog} records within 600 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    base = local_settings("bench-resolve", 19392, 16466, metrics_port=19664)
    tag = uuid.uuid4().hex[:6]
    settings = base.model_copy(update={"topic_prefix": f"r{tag}.", "app_id": f"bench-r{tag}"})
    with local_stack(base, say=lambda _: None) as stack:
        create_topics(settings)
        backlog = fill(stack, settings, args.events)
        result = {"raw_events": args.events, "backlog": backlog, **drain(stack, settings, backlog)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
