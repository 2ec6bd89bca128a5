"""Every Prometheus metric of a worker, in one place, against an injectable registry.

Names are ``cxstream_<what>_<unit>``; labels are low-cardinality and bounded: stage, channel,
topic, partition, reason code, duplicate kind, alert type/severity/status, sentiment label,
urgency level, the intent taxonomy's labels, routing queue and priority (from the rules file),
ISO 639-1 language codes (at most 184, anything else counted as ``other``).
Never a customer key, an interaction id or free text.
"""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from pipeline.contracts.languages import language_label

STAGES = ("standardise", "resolve", "score", "workflow")
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
INFERENCE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
OTHER_INTENT = "other"


class Metrics:
    """The worker's metric families. Pass a fresh ``CollectorRegistry`` in tests."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        # -- pipeline health -------------------------------------------------------------------
        self._stage_flow(r)
        self._model(r)
        self._state(r)
        self._reliability(r)
        # -- alerts and the customer pulse -----------------------------------------------------
        self._alerts(r)
        self._pulse(r)
        self._risk(r)
        # -- the lake sink (cxstream sink) -------------------------------------------------------
        self._lake(r)
        self._intents: frozenset[str] = frozenset()

    def _stage_flow(self, r: CollectorRegistry) -> None:
        """Messages in and out of each stage, duplicates, dead letters, end-to-end latency."""
        self.events_in = Counter(
            "cxstream_stage_events_in_total",
            "Messages a stage consumed.",
            ["stage", "channel"],
            registry=r,
        )
        self.events_out = Counter(
            "cxstream_stage_events_out_total",
            "Records a stage emitted downstream (not counting dead letters and duplicates).",
            ["stage", "channel"],
            registry=r,
        )
        self.duplicates = Counter(
            "cxstream_duplicates_total", "Duplicates dropped, by kind.", ["kind"], registry=r
        )
        self.deadletters = Counter(
            "cxstream_deadletters_total",
            "Messages sent to the dead-letter topic, by stage and reason code.",
            ["stage", "reason"],
            registry=r,
        )
        self.latency = Histogram(
            "cxstream_end_to_end_latency_seconds",
            "Time from the event (clock=occurred) or its arrival on the raw topic "
            "(clock=received) to its enriched record being emitted.",
            ["clock", "channel"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def _model(self, r: CollectorRegistry) -> None:
        """The scoring model's batches, inference time and the texts it cannot read."""
        self.unsupported_languages = Counter(
            "cxstream_unsupported_language_total",
            "Texts left unscored because the model card does not list their language, by "
            "ISO 639-1 code (other: not a code).",
            ["language"],
            registry=r,
        )
        self.batch_size = Histogram(
            "cxstream_model_batch_texts",
            "Texts per onnxruntime scoring batch.",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.inference = Histogram(
            "cxstream_model_inference_seconds",
            "Seconds to score one batch (tokenise + onnxruntime + calibration).",
            buckets=INFERENCE_BUCKETS,
            registry=r,
        )

    def _state(self, r: CollectorRegistry) -> None:
        """Consumer lag, state table sizes and RocksDB memory."""
        self.lag = Gauge(
            "cxstream_consumer_lag_messages",
            "End offset minus the worker group's committed offset.",
            ["topic", "partition"],
            registry=r,
        )
        self.table_keys = Gauge(
            "cxstream_table_keys", "Keys held in a state table.", ["table"], registry=r
        )
        self.trends_active = Gauge(
            "cxstream_trends_active", "Emerging issues open now (trends agent).", registry=r
        )
        self.trend_clusters = Gauge(
            "cxstream_trend_clusters", "Message clusters the trend detector holds.", registry=r
        )
        self.store_memory = Gauge(
            "cxstream_store_memory_bytes",
            "RocksDB memory of this worker's tables, by part: cache (blocks and the memtables "
            "charged to it, bounded by CXSTREAM_STORE_MEMORY_MIB), memtables, pinned.",
            ["part"],
            registry=r,
        )

    def _reliability(self, r: CollectorRegistry) -> None:
        """Errors survived, offsets re-read or skipped, retries, blocked inputs, evictions and
        the build info."""
        self.processing_errors = Counter(
            "cxstream_processing_errors_total",
            "Internal errors a stage survived (the event went on, or to dead letters).",
            ["stage"],
            registry=r,
        )
        self.offsets_reread = Counter(
            "cxstream_offsets_reread_total",
            "Records a stage read again after a restart or rebalance (at-least-once replays).",
            ["stage"],
            registry=r,
        )
        self.offsets_skipped = Counter(
            "cxstream_offsets_skipped_total",
            "Offsets a stage jumped over without reading them (lost records; see "
            "docs/reliability.md).",
            ["stage"],
            registry=r,
        )
        self.commits_held = Counter(
            "cxstream_commits_held_total",
            "Offset commits held back because they would pass a record still being processed.",
            ["topic"],
            registry=r,
        )
        self.output_retries = Counter(
            "cxstream_output_retries_total",
            "Records a stage sent again after a transient write error (broker away, timeout).",
            ["stage", "topic"],
            registry=r,
        )
        self.blocked_inputs = Gauge(
            "cxstream_blocked_inputs",
            "Inputs a stage is stopped at because not even their dead letter can be written "
            "(the input stays unread; see docs/reliability.md).",
            ["stage"],
            registry=r,
        )
        self.identity_evictions = Counter(
            "cxstream_identity_evictions_total",
            "Identifiers dropped from a customer's identity record at its cap (they still "
            "resolve to the customer; README, Identity).",
            registry=r,
        )
        self.build = Info(
            "cxstream_build", "Package and model versions of this worker.", registry=r
        )

    def _alerts(self, r: CollectorRegistry) -> None:
        """Alert changes: sent, suppressed, replayed."""
        self.alerts = Counter(
            "cxstream_alerts_total",
            "Alert changes on cx.alerts: status opened / updated / resolved / expired.",
            ["type", "severity", "status"],
            registry=r,
        )
        self.alerts_suppressed = Counter(
            "cxstream_alerts_suppressed_total",
            "New alerts withheld by cooldown or the per-customer rate limit.",
            registry=r,
        )
        self.alerts_replayed = Counter(
            "cxstream_alerts_replayed_total",
            "Alert changes a replayed input recomputed that were already on cx.alerts (not sent).",
            registry=r,
        )

    def _pulse(self, r: CollectorRegistry) -> None:
        """The customer pulse: sentiment, urgency, intent, routing, repeat contacts."""
        self.sentiment = Counter(
            "cxstream_sentiment_total",
            "Scored customer messages by sentiment label and channel.",
            ["channel", "sentiment"],
            registry=r,
        )
        self.urgency = Counter(
            "cxstream_urgency_total",
            "Scored customer messages by urgency level and channel.",
            ["channel", "level"],
            registry=r,
        )
        self.intents = Counter(
            "cxstream_intent_total",
            "Scored customer messages by CX intent (the model's bounded taxonomy).",
            ["intent"],
            registry=r,
        )
        self.routed = Counter(
            "cxstream_routed_total",
            "Customer messages routed, by queue and priority.",
            ["queue", "priority"],
            registry=r,
        )
        self.repeat_contacts = Counter(
            "cxstream_repeat_contacts_total",
            "Customer contacts (new conversation, call, thread) from a customer who already "
            "contacted within 24 h, by channel.",
            ["channel"],
            registry=r,
        )

    def _risk(self, r: CollectorRegistry) -> None:
        """Risk bands of assessed customer messages; retention offers against the budget."""
        self.risk_bands = Counter(
            "cxstream_risk_band_total",
            "Assessed customer messages by risk (churn, escalation) and band (low/medium/high).",
            ["risk", "band"],
            registry=r,
        )
        self.offers = Counter(
            "cxstream_offers_total",
            "Retention offers suggested on churn alerts, by offer (names from the policy file).",
            ["offer"],
            registry=r,
        )
        self.offer_cost = Counter(
            "cxstream_offer_cost_total",
            "Cost of the offers suggested (the daily budget's currency).",
            registry=r,
        )
        self.offer_daily_budget = Gauge(
            "cxstream_offer_daily_budget",
            "The offer policy's daily budget (0 without a policy).",
            registry=r,
        )

    def _lake(self, r: CollectorRegistry) -> None:
        """What the lake sink wrote (served by ``cxstream sink --metrics-port``)."""
        self.lake_rows = Counter(
            "cxstream_lake_rows_total",
            "Rows the lake sink wrote, by table (rejected: records not their topic's contract).",
            ["table"],
            registry=r,
        )
        self.lake_files = Counter(
            "cxstream_lake_files_total",
            "Parquet files the lake sink published, by table and kind (batch or compacted).",
            ["table", "kind"],
            registry=r,
        )

    def describe_build(
        self, *, package: str, model: str, model_version: str, model_sha256: str, rules: str
    ) -> None:
        """Set ``cxstream_build_info``; also fixes the intent label set to the model's."""
        self.build.info(
            {
                "version": package,
                "model": model,
                "model_version": model_version,
                "model_sha256": model_sha256[:12],
                "rules": rules,
            }
        )

    def bound_intents(self, labels: list[str]) -> None:
        """The only intent label values allowed (anything else counts as ``other``)."""
        self._intents = frozenset(labels)

    def intent(self, label: str) -> None:
        """Count one intent, folding labels outside the model's taxonomy into ``other``."""
        name = label if not self._intents or label in self._intents else OTHER_INTENT
        self.intents.labels(intent=name).inc()

    def unsupported_language(self, language: str | None) -> None:
        """Count one text the model cannot read, under a bounded language label."""
        self.unsupported_languages.labels(language=language_label(language)).inc()

    def observe_latency(self, channel: str, occurred_at: datetime, received_at: datetime) -> None:
        """Both end-to-end clocks for one emitted record, measured now."""
        now = datetime.now(UTC)
        self.latency.labels(clock="occurred", channel=channel).observe(
            max(0.0, (now - occurred_at).total_seconds())
        )
        self.latency.labels(clock="received", channel=channel).observe(
            max(0.0, (now - received_at).total_seconds())
        )
