"""``cxstream bench --in-process``: spine stage throughput (standardise, resolve), no broker.

The broker-backed suite (transport limit, spine, full pipeline, latency, baselines) is
``pipeline/tools/bench/suite.py`` (``cxstream bench``).
"""

from __future__ import annotations

import hashlib
import platform
import time
from typing import Any

from pipeline.contracts.records import Standardised
from pipeline.resolve.resolver import Resolver
from pipeline.settings import Settings
from pipeline.standardise.standardiser import RawMessage, Standardiser
from pipeline.tools.synthetic import generate


def run_spine_bench(events: int = 5000, seed: int = 3) -> dict[str, Any]:
    """Events per second of each spine stage, measured in one process, one run."""
    settings = Settings()
    records = generate(events, seed)
    raws = [
        RawMessage(settings.topics.raw(r.channel), 0, i, r.key, r.value, None)
        for i, r in enumerate(records)
    ]
    standardiser = Standardiser(settings)
    started = time.perf_counter()
    envelopes = []
    for raw in raws:
        try:
            ix = standardiser.standardise(raw)
        except ValueError:
            continue
        digest = hashlib.sha256(raw.value).hexdigest()[:32]
        envelopes.append(Standardised(interaction=ix, payload_digest=digest))
    standardise_s = time.perf_counter() - started
    wire = [e.model_dump_json().encode() for e in envelopes]
    resolver = Resolver(settings, links={}, members={}, seen_ids={}, recent_texts={})
    started = time.perf_counter()
    now = time.time()
    for body in wire:
        resolver.process(Standardised.model_validate_json(body), now)
    resolve_s = time.perf_counter() - started
    return {
        "events": len(raws),
        "standardise_eps": round(len(raws) / standardise_s, 1),
        "resolve_eps": round(len(wire) / resolve_s, 1),
        "spine_inprocess_eps": round(len(raws) / (standardise_s + resolve_s), 1),
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
