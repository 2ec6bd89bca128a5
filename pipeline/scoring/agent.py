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
from faust.types import EventT

from pipeline.contracts.languages import UNSUPPORTED_LANGUAGE
from pipeline.contracts.records import Enriched, Interaction, ReasonCode, SourceRef
from pipeline.metrics import Metrics
from pipeline.replies.library import load_templates
from pipeline.scoring.custom_intents.embedding import scorer_embedder
from pipeline.scoring.custom_intents.predict import CustomIntents
from pipeline.scoring.custom_intents.runtime import load_custom_intents
from pipeline.scoring.enrich import enrich
from pipeline.scoring.reply_templates import TemplateMatcher
from pipeline.scoring.scorer import Scorer
from pipeline.settings import Settings
from pipeline.streaming.delivery import Output, Pending, Source, Writer, hold, release
from pipeline.streaming.offset_watch import OffsetWatch, OffsetWatches

log = logging.getLogger("cxstream")


def _package_version() -> str:
    try:
        return version("cxstream")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


Scored = tuple[bytes, bytes, str, SourceRef]  # key, body, channel, raw source of one record


def _load_scorer(settings: Settings, metrics: Metrics, rules_label: str) -> Scorer | None:
    """The model this worker serves (None with scoring disabled), described in
    ``cxstream_build_info``; the intent metric is bounded to the model's intent labels."""
    scorer = (
        Scorer(
            settings.model_dir,
            threads=settings.onnx_threads,
            bucket_size=settings.score_bucket_size,
        )
        if settings.scoring_enabled
        else None
    )
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
    return scorer


def load_reply_templates(settings: Settings, scorer: Scorer) -> TemplateMatcher | None:
    """The reply templates (``CXSTREAM_REPLY_TEMPLATES``) embedded with the scoring model, so
    each scored message carries the closest template of its intent; None when the model has
    no embedding output (the workflow then suggests by intent alone)."""
    if not scorer.card.embedding_output:
        log.warning("reply templates: the model has no embedding output; chosen by intent only")
        return None
    started = time.perf_counter()
    library = load_templates(settings.reply_templates)
    matcher = TemplateMatcher.embedded(library, scorer_embedder(scorer))
    log.info(
        "reply templates %s: %d templates, %d phrases embedded in %.1f s",
        library.version,
        len(library.templates),
        matcher.phrases,
        time.perf_counter() - started,
    )
    return matcher


class BatchScorer:
    """One micro-batch parsed, scored and serialised; runs in the onnx worker thread."""

    def __init__(
        self,
        scorer: Scorer | None,
        settings: Settings,
        metrics: Metrics,
        custom_intents: CustomIntents | None,
        reply_templates: TemplateMatcher | None = None,
    ) -> None:
        self.scorer = scorer
        self.emit_embeddings = settings.emit_embeddings
        self.metrics = metrics
        self.custom_intents = custom_intents
        self.reply_templates = reply_templates

    def __call__(self, sources: list[Source]) -> tuple[list[Scored], list[Exception | None]]:
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
        enriched = self._enrich(parsed)
        keyed: list[Scored] = [
            (
                (e.customer_key or e.interaction_id).encode(),
                e.model_dump_json().encode(),
                e.channel,
                e.source,
            )
            for e in enriched
        ]
        for e in enriched:
            if e.unscored_reason == UNSUPPORTED_LANGUAGE:
                self.metrics.unsupported_language(e.language)
        texts = sum(1 for ix in parsed if ix.text)
        if texts and self.scorer is not None:
            self.metrics.batch_size.observe(texts)
            self.metrics.inference.observe(time.perf_counter() - started)
        for ix in parsed:
            self.metrics.events_in.labels(stage="score", channel=ix.channel).inc()
        return keyed, errors

    def _enrich(self, parsed: list[Interaction]) -> list[Enriched]:
        """Scored records, or unscored ones with scoring disabled."""
        if self.scorer is not None:
            return enrich(
                parsed,
                self.scorer,
                emit_embeddings=self.emit_embeddings,
                custom_intents=self.custom_intents,
                reply_templates=self.reply_templates,
            )
        return [
            Enriched(**ix.model_dump(), scored=False, unscored_reason="scoring disabled")
            for ix in parsed
        ]


class ScoreStage:
    """Moves micro-batches between the topics and the :class:`BatchScorer` (off the loop)."""

    def __init__(
        self,
        score_batch: BatchScorer,
        scored: Any,
        writer: Writer,
        metrics: Metrics,
        watch: OffsetWatch,
    ) -> None:
        self.score_batch = score_batch
        self.scored = scored
        self.writer = writer
        self.metrics = metrics
        self.watch = watch
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onnx")

    async def handle(self, events: list[EventT[Any]]) -> None:
        """Score one micro-batch and send it out in input order; return once every output
        (or its dead letter) is on the broker."""
        loop = asyncio.get_running_loop()
        hold(events)
        sources = [Source.of(event) for event in events]
        for source in sources:
            self.watch.saw(source.topic, source.partition, source.offset)
        bodies, errors = await loop.run_in_executor(self.executor, self.score_batch, sources)
        decided = await self._send(sources, bodies, errors)
        for source, pendings in decided:
            await self.writer.settle(source, pendings)
        release(events)

    async def _send(
        self, sources: list[Source], bodies: list[Scored], errors: list[Exception | None]
    ) -> list[tuple[Source, list[Pending]]]:
        """Start writing each input's scored record, or its dead letter if it did not parse."""
        scored_bodies = iter(bodies)
        decided: list[tuple[Source, list[Pending]]] = []
        for source, error in zip(sources, errors, strict=True):
            if error is not None:
                code, why = ReasonCode.SCHEMA_VIOLATION, str(error)
                pending = await self.writer.reject(source, code, why, type(error).__name__)
                decided.append((source, [pending]))
                continue
            key, body, channel, origin = next(scored_bodies)
            out = self.metrics.events_out.labels(stage="score", channel=channel)
            pending = await self.writer.send(Output(self.scored, key, body, None, out.inc))
            decided.append((source.from_raw(origin), [pending]))
        return decided


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
    scorer = _load_scorer(settings, metrics, rules_label)
    custom_intents = (
        load_custom_intents(settings.intent_pack, scorer)
        if scorer is not None and settings.intent_pack is not None
        else None
    )
    reply_templates = load_reply_templates(settings, scorer) if scorer is not None else None
    score_batch = BatchScorer(scorer, settings, metrics, custom_intents, reply_templates)
    stage = ScoreStage(score_batch, scored, score_writer, metrics, watches.stage("score"))

    @app.agent(interactions, name="score")
    async def score(stream: faust.StreamT[bytes]) -> None:
        """Micro-batches of interactions, scored off the event loop, out in the same order;
        a batch is committed only after its outputs are on the broker
        (pipeline/streaming/delivery.py)."""
        async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.score_batch_size, within=settings.score_batch_wait_s
        ):
            await stage.handle(events)
