"""The score agent: cx.interactions → micro-batches → onnxruntime → cx.internal.scored.

Thin: batches of interactions go to the :class:`~pipeline.scoring.scorer.Scorer` in a worker
thread (off the event loop) and out in the same order; a batch is committed only after its
outputs are on the broker (pipeline/streaming/delivery.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import faust

from pipeline.contracts.records import Enriched, Interaction, ReasonCode, SourceRef
from pipeline.metrics import Metrics
from pipeline.scoring.enrich import enrich
from pipeline.scoring.scorer import Scorer
from pipeline.settings import Settings
from pipeline.streaming.delivery import Output, Pending, Source, Writer, hold, release
from pipeline.streaming.offset_watch import OffsetWatches

log = logging.getLogger("cxstream")


def _package_version() -> str:
    try:
        return version("cxstream")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def add_scoring(
    app: faust.App,
    settings: Settings,
    metrics: Metrics,
    topics: tuple[Any, Any],
    score_writer: Writer,
    watches: OffsetWatches,
    rules_label: str,
) -> None:
    """The score agent: cx.interactions → micro-batches → onnxruntime → cx.internal.scored.

    With ``CXSTREAM_SCORING_ENABLED=false`` interactions pass through unscored (the workflow
    stage still routes what it can and keeps profiles).
    """
    interactions, scored = topics

    scorer = (
        Scorer(
            settings.model_dir,
            threads=settings.onnx_threads,
            bucket_size=settings.score_bucket_size,
        )
        if settings.scoring_enabled
        else None
    )
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onnx")
    if scorer is not None:
        card = scorer.card
        log.info("scoring with %s %s (%s)", card.name, card.version, settings.model_dir)
        intent_head = card.head("intent")
        if intent_head is not None:
            metrics.bound_intents(list(intent_head.labels))
    metrics.describe_build(
        package=_package_version(),
        model=scorer.card.name if scorer else "none",
        model_version=scorer.card.version if scorer else "none",
        model_sha256=scorer.card.sha256 if scorer else "none",
        rules=rules_label,
    )
    if scorer is None:
        log.warning("scoring disabled (CXSTREAM_SCORING_ENABLED=false): interactions pass unscored")

    def score_batch(
        sources: list[Source],
    ) -> tuple[list[tuple[bytes, bytes, str, SourceRef]], list[Exception | None]]:
        """Parse, score and serialise in the worker thread: (key, body, channel, raw source)
        per parsed interaction, and the parse error (or None) of each input."""
        started = time.perf_counter()
        parsed: list[Interaction] = []
        errors: list[Exception | None] = []
        for source in sources:
            try:
                parsed.append(Interaction.model_validate_json(source.value))
                errors.append(None)
            except ValueError as exc:
                errors.append(exc)
        out = (
            enrich(parsed, scorer, emit_embeddings=settings.emit_embeddings)
            if scorer is not None
            else [
                Enriched(**ix.model_dump(), scored=False, unscored_reason="scoring disabled")
                for ix in parsed
            ]
        )
        keyed: list[tuple[bytes, bytes, str, SourceRef]] = [
            (
                (e.customer_key or e.interaction_id).encode(),
                e.model_dump_json().encode(),
                e.channel,
                e.source,
            )
            for e in out
        ]
        texts = sum(1 for ix in parsed if ix.text)
        if texts and scorer is not None:
            metrics.batch_size.observe(texts)
            metrics.inference.observe(time.perf_counter() - started)
        for ix in parsed:
            metrics.events_in.labels(stage="score", channel=ix.channel).inc()
        return keyed, errors

    watch = watches.stage("score")

    @app.agent(interactions, name="score")
    async def score(stream: faust.StreamT[bytes]) -> None:
        """Micro-batches of interactions, scored off the event loop, out in the same order;
        a batch is committed only after its outputs are on the broker
        (pipeline/streaming/delivery.py)."""
        loop = asyncio.get_running_loop()
        async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.score_batch_size, within=settings.score_batch_wait_s
        ):
            hold(events)
            sources = [Source.of(event) for event in events]
            for source in sources:
                watch.saw(source.topic, source.partition, source.offset)
            bodies, errors = await loop.run_in_executor(executor, score_batch, sources)
            scored_bodies = iter(bodies)
            decided: list[tuple[Source, list[Pending]]] = []
            for source, error in zip(sources, errors, strict=True):
                if error is not None:
                    code, why = ReasonCode.SCHEMA_VIOLATION, str(error)
                    pending = await score_writer.reject(source, code, why, type(error).__name__)
                else:
                    key, body, channel, origin = next(scored_bodies)
                    source = source.from_raw(origin)
                    out = metrics.events_out.labels(stage="score", channel=channel)
                    pending = await score_writer.send(Output(scored, key, body, None, out.inc))
                decided.append((source, [pending]))
            for source, pendings in decided:
                await score_writer.settle(source, pendings)
            release(events)
