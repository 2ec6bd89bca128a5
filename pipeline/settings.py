"""All runtime configuration, read from ``CXSTREAM_*`` environment variables (one place).

Every field here is documented in the README's settings table; the CLI flags only override them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.topics import TopicNames

PROJECT_ROOT = Path(__file__).resolve().parent.parent


AGENTS = ("standardise", "resolve", "score", "workflow")


class Settings(BaseSettings):
    """cxstream settings; env prefix ``CXSTREAM_``."""

    model_config = SettingsConfigDict(env_prefix="CXSTREAM_", extra="ignore", frozen=True)

    bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers (comma-separated host:port)."
    )
    topic_prefix: str = Field("cx.", description="Prefix of every topic name.")
    partitions: int = Field(
        6, ge=1, description="Partitions of raw and cx.interactions topics (max parallel workers)."
    )
    replication_factor: int = Field(1, ge=1, description="Replication factor of created topics.")
    app_id: str = Field("cxstream", description="Faust app id (consumer group, changelog names).")
    state_dir: Path = Field(
        PROJECT_ROOT / ".cxstream",
        description="Directory for broker data/logs, worker state and pid files.",
    )
    store: str = Field(
        "rocksdb://",
        description="Faust table store: rocksdb:// (on disk under the state dir) or memory://.",
    )
    store_memory_mib: int = Field(
        64,
        ge=8,
        description="RocksDB memory of all of a worker's tables together: one shared block "
        "cache (index and filter blocks included) that the memtables are charged to.",
    )
    web_port: int = Field(6066, ge=0, le=65535, description="Worker web server port.")
    agents: str = Field(
        "standardise,resolve,score,workflow",
        description="Agents this worker runs (comma-separated): all four, or a role such as "
        "'score' for dedicated scoring workers (give each role its own CXSTREAM_APP_ID).",
    )
    producer_linger_ms: int = Field(
        1,
        ge=0,
        description="How long the worker's producer waits to fill a batch (fewer, larger writes).",
    )
    metrics_port: int = Field(
        9464, ge=0, le=65535, description="Prometheus /metrics port of a worker (0 = off)."
    )
    metrics_host: str = Field(
        "127.0.0.1", description="Address /metrics binds to (0.0.0.0 to scrape from elsewhere)."
    )
    default_region: str = Field(
        "US", description="Region for phone numbers written without a country code."
    )
    max_payload_bytes: int = Field(
        262_144, ge=1024, description="Raw messages larger than this go to the dead-letter topic."
    )
    max_text_chars: int = Field(
        10_000, ge=100, description="Text longer than this is truncated (recorded on the event)."
    )
    dedupe_window_s: float = Field(
        3_600.0, gt=0, description="How long a source message id is remembered (redeliveries)."
    )
    near_duplicate_window_s: float = Field(
        120.0, ge=0, description="Same customer + same text within this many seconds is a dupe."
    )
    sweep_interval_s: float = Field(
        30.0, gt=0, description="How often expired dedupe state is swept from the tables."
    )
    max_future_skew_s: float = Field(
        86_400.0, ge=0, description="Event times further than this in the future are rejected."
    )
    kafka_home: Path = Field(
        PROJECT_ROOT / ".cache" / "kafka",
        description="Cache of the broker jars fetched from Maven Central.",
    )
    broker_port: int = Field(9092, ge=1, le=65535, description="Local broker client port.")
    controller_port: int = Field(9093, ge=1, le=65535, description="Local KRaft controller port.")
    java_home: Path | None = Field(None, description="JDK to run the local broker (default: PATH).")
    log_level: str = Field("info", description="Worker log level.")
    scoring_enabled: bool = Field(True, description="Run the scoring agent in the worker.")
    model_dir: Path = Field(
        PROJECT_ROOT / "models" / "cx-minilm-multihead",
        description="Model directory the worker scores with (model.onnx + tokenizer + card).",
    )
    score_batch_size: int = Field(
        32, ge=1, description="Most interactions taken into one scoring batch."
    )
    score_bucket_size: int = Field(
        16,
        ge=1,
        description="A scoring batch is sorted by length and run in buckets of this many texts.",
    )
    score_batch_wait_s: float = Field(
        0.05, gt=0, description="Longest wait to fill a scoring batch (latency bound)."
    )
    onnx_threads: int = Field(0, ge=0, description="onnxruntime intra-op threads (0 = all cores).")
    emit_embeddings: bool = Field(False, description="Put sentence embeddings on cx.enriched.")
    rules_file: Path | None = Field(
        None,
        description="Workflow rules YAML (alerts, routing, playbook); default: the bundled one.",
    )
    workflow_tick_s: float = Field(
        1.0, gt=0, description="How often the timer looks for SLA breaches and expiries."
    )
    alert_ledger_records: int = Field(
        10_000,
        ge=100,
        description="Alert changes per cx.alerts partition read after a rebalance, so a replayed "
        "input never sends an alert change twice (docs/reliability.md).",
    )
    session_timeout_s: float = Field(
        30.0,
        ge=6,
        le=300,
        description="Consumer group session timeout: how soon the group notices a dead worker "
        "and moves its partitions to the others.",
    )
    stall_timeout_s: float = Field(
        120.0,
        ge=0,
        description="Restart the worker in place when its partitions have lag and nothing was "
        "processed for this long (0 = never; docs/reliability.md).",
    )
    data_dir: Path = Field(
        PROJECT_ROOT.parent / "shared" / "data",
        description="Public labelled datasets (SST-2, GoEmotions, BANKING77, CLINC150).",
    )

    @field_validator("agents")
    @classmethod
    def _known_agents(cls, value: str) -> str:
        names = [n.strip() for n in value.split(",") if n.strip()]
        unknown = sorted(set(names) - set(AGENTS))
        if unknown or not names:
            raise ValueError(
                f"unknown agents {unknown or value!r}: choose from {', '.join(AGENTS)}"
            )
        return ",".join(names)

    @property
    def agent_roles(self) -> frozenset[str]:
        """The agents this worker runs."""
        return frozenset(self.agents.split(","))

    @property
    def topics(self) -> TopicNames:
        """Topic names under the configured prefix."""
        return TopicNames(self.topic_prefix)


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags) applied on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]


def local_settings(name: str, broker_port: int, web_port: int, **overrides: object) -> Settings:
    """Settings for a run on its own local broker (demo, bench, soak): state under
    ``.cxstream/<name>``, the broker on ``broker_port`` and its controller on the next port."""
    return get_settings(
        state_dir=PROJECT_ROOT / ".cxstream" / name,
        broker_port=broker_port,
        controller_port=broker_port + 1,
        bootstrap_servers=f"127.0.0.1:{broker_port}",
        web_port=web_port,
        **overrides,
    )
