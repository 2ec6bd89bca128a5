"""All runtime configuration, read from ``CXSTREAM_*`` environment variables (one place).

Every field here is documented in the README's settings table; the CLI flags only override them.

Why this module is long: it is the one settings object the style asks for. Most of its lines
are field declarations, each with its default, bounds and the description the README table is
checked against (tests/unit/test_settings_docs.py); the rest turns a validation error into one
line naming the variable (``SettingsError``). Splitting the fields across modules would break
the "every knob documented once, in one place" rule for no gain in readability.
"""

from __future__ import annotations

import ipaddress
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.resources import CACHE_HOME, DATA_HOME, SOURCE_ROOT, STATE_HOME, bundled
from pipeline.topics import TopicNames, topic_specs

PROJECT_ROOT = SOURCE_ROOT
"""The source checkout (tests, benchmarks and training read files there)."""


AGENTS = ("standardise", "resolve", "score", "workflow", "trends")
PLACEHOLDER_IDS = (
    "undefined",
    "null",
    "none",
    "nil",
    "0",
    "-1",
    "anonymous",
    "guest",
    "unknown",
    "n/a",
    "na",
    "test",
    "user",
    "customer",
    "default",
    "(null)",
    "[object object]",
)
"""What trackers and forms send when they have no id: used as an id, they merge strangers."""
STORES = ("rocksdb://", "memory://")
# Kafka's own rule for topic names (org.apache.kafka.common.internals.Topic).
TOPIC_CHARS = r"[a-zA-Z0-9._-]"
MAX_TOPIC_NAME = 249
MIN_PSEUDONYMISE_KEY_CHARS = 16
MIN_WEB_TOKEN_CHARS = 16


class Settings(BaseSettings):
    """cxstream settings; env prefix ``CXSTREAM_``."""

    model_config = SettingsConfigDict(env_prefix="CXSTREAM_", extra="ignore", frozen=True)

    bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers (comma-separated host:port)."
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT",
        description="How every Kafka client connects: PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or "
        "SASL_SSL (TLS + username/password; what managed Kafka services use); docs/security.md.",
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism of the SASL_* protocols."
    )
    kafka_username: str | None = Field(None, description="SASL username (the ACLs' principal).")
    kafka_password: SecretStr | None = Field(None, description="SASL password.")
    kafka_password_file: Path | None = Field(
        None,
        description="File holding the SASL password (a mounted secret), read when "
        "CXSTREAM_KAFKA_PASSWORD is not set.",
    )
    kafka_ssl_cafile: Path | None = Field(
        None,
        description="PEM file of the CAs that sign the brokers' certificates (default: the "
        "system's CAs).",
    )
    kafka_ssl_certfile: Path | None = Field(
        None, description="PEM client certificate for mutual TLS (its key inside or in the next)."
    )
    kafka_ssl_keyfile: Path | None = Field(
        None, description="PEM private key of the client certificate."
    )
    kafka_ssl_check_hostname: bool = Field(
        True, description="Check that the broker's certificate names the host connected to."
    )
    topic_prefix: str = Field("cx.", description="Prefix of every topic name.")
    partitions: int = Field(
        6, ge=1, description="Partitions of raw and cx.interactions topics (max parallel workers)."
    )
    replication_factor: int = Field(1, ge=1, description="Replication factor of created topics.")
    app_id: str = Field("cxstream", description="Faust app id (consumer group, changelog names).")
    state_dir: Path = Field(
        STATE_HOME,
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
    web_host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Address the worker's web server binds to: beyond loopback (0.0.0.0 in a "
        "container) it requires CXSTREAM_WEB_TOKEN or CXSTREAM_WEB_TOKEN_FILE.",
    )
    web_advertised_host: str | None = Field(
        None,
        description="Host other workers forward profile requests to this worker at (default: "
        "CXSTREAM_WEB_HOST, or this machine's name when that is 0.0.0.0 or ::).",
    )
    web_token: SecretStr | None = Field(
        None,
        description="Bearer token GET /customers/{key} requires (16+ characters); required "
        "when the web server binds beyond loopback.",
    )
    web_token_file: Path | None = Field(
        None,
        description="File holding the web token (a mounted secret), instead of CXSTREAM_WEB_TOKEN.",
    )
    agents: str = Field(
        "standardise,resolve,score,workflow",
        description="Agents this worker runs (comma-separated): all four, or a role such as "
        "'score' for dedicated scoring workers (give each role its own CXSTREAM_APP_ID); add "
        "'trends' for emerging-issue detection (needs CXSTREAM_EMIT_EMBEDDINGS).",
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
        262_144,
        ge=1024,
        le=524_288,
        description="Raw messages larger than this go to the dead-letter topic, which keeps "
        "their first this-many bytes (the whole stays on the raw topic for its retention).",
    )
    max_record_bytes: int = Field(
        1_048_576,
        ge=1_000_000,
        description="Largest record the worker writes (its producer's request size) and the "
        "max.message.bytes of the topics cxstream creates: raw topics refuse anything larger "
        "at produce time.",
    )
    stage_batch_size: int = Field(
        64,
        ge=1,
        description="Most inputs a stage decides before it waits for the broker to acknowledge "
        "their outputs (one round trip per batch; an input is committed only after that).",
    )
    record_budget_s: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="Longest a stage may spend on one input: the supervisor then restarts the "
        "worker and the input becomes a processing_timeout dead letter (docs/reliability.md).",
    )
    loop_stall_timeout_s: float = Field(
        60.0,
        ge=5,
        le=3600,
        description="The supervisor restarts a worker whose event loop made no progress for "
        "this long (a blocked interpreter cannot report itself).",
    )
    stop_timeout_s: float = Field(
        15.0,
        gt=0,
        le=600,
        description="On SIGTERM the supervisor waits this long for the worker to stop, then "
        "kills it: a worker is gone within this bound plus 1 s.",
    )
    stage_batch_wait_s: float = Field(
        0.005, gt=0, description="Longest wait to fill a stage's batch (latency bound)."
    )
    max_text_chars: int = Field(
        10_000, ge=100, description="Text longer than this is truncated (recorded on the event)."
    )
    redact: str = Field(
        "email,phone,card,iban,account",
        description="Personal data replaced by placeholders in text and subject before an "
        "interaction leaves the raw topics (comma-separated: email, phone, card, iban, account; "
        "none = off); docs/privacy.md.",
    )
    pseudonymise_key: SecretStr | None = Field(
        None,
        description="When set, identifiers (email, phone, user/anonymous/customer id) and "
        "contact fields are replaced by HMAC-SHA256 pseudonyms under this key on every topic "
        "after the raw ones (at least 16 characters); docs/privacy.md.",
    )
    placeholder_ids: str = Field(
        ",".join(PLACEHOLDER_IDS),
        description="Identifier values never used as identifiers (comma-separated; compared "
        "trimmed and case-insensitively; blank values are always ignored).",
    )
    max_identifier_chars: int = Field(
        256,
        ge=16,
        le=4096,
        description="A longer customer identifier makes the raw message a schema_violation.",
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
    max_identifiers_per_customer: int = Field(
        100,
        ge=5,
        le=250,
        description="Identifiers kept per customer key for merges (strongest, then latest); the "
        "rest stay linked to the customer. At most 250 keeps the value under the table bound.",
    )
    max_future_skew_s: float = Field(
        86_400.0, ge=0, description="Event times further than this in the future are rejected."
    )
    kafka_home: Path = Field(
        CACHE_HOME / "kafka",
        description="Cache of the broker jars fetched from Maven Central.",
    )
    broker_port: int = Field(9092, ge=1, le=65535, description="Local broker client port.")
    controller_port: int = Field(9093, ge=1, le=65535, description="Local KRaft controller port.")
    java_home: Path | None = Field(None, description="JDK to run the local broker (default: PATH).")
    log_level: str = Field("info", description="Worker log level.")
    scoring_enabled: bool = Field(True, description="Run the scoring agent in the worker.")
    model_dir: Path = Field(
        bundled("models") / "cx-minilm-multihead",
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
    trends_sample_rate: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Share of customer messages the trend detector sees (by a hash of the id).",
    )
    trends_similarity: float = Field(
        0.6, gt=0, lt=1, description="Cosine similarity at which a message joins a trend cluster."
    )
    trends_window_s: int = Field(
        3600, ge=60, description="Event-time window whose volume is compared with the baseline."
    )
    trends_bucket_s: int = Field(
        600, ge=60, description="Granularity of a cluster's event-time counts."
    )
    trends_baseline_s: int = Field(
        86400,
        ge=3600,
        description="Period before the window that sets a cluster's expected volume (also the "
        "detector's warm-up).",
    )
    trends_min_volume: int = Field(
        8, ge=2, description="Fewest messages in the window for an emerging issue."
    )
    trends_min_growth: float = Field(
        3.0, ge=1, description="Fewest times its expected volume for an emerging issue."
    )
    trends_significance: float = Field(
        1e-4,
        gt=0,
        lt=1,
        description="Largest Poisson chance of the window's volume under the baseline.",
    )
    trends_max_clusters: int = Field(
        500, ge=2, description="Clusters the trend detector keeps (least recently seen go)."
    )
    trends_lateness_s: int = Field(
        600,
        ge=0,
        description="How late (event time) a message may arrive and still count before an "
        "emerging issue is judged faded.",
    )
    intent_pack: Path | None = Field(
        None,
        description="Business-defined intents (docs/intents.md): a pack YAML (fitted at worker "
        "start), a fitted JSON from `cxstream intents fit`, or a bundled pack's name (retail, "
        "banking, travel); adds scores.intent.custom to every scored event.",
    )
    rules_file: Path | None = Field(
        None,
        description="Workflow rules YAML (alerts, routing, playbook); default: the bundled one.",
    )
    risk_model: Path | None = Field(
        None,
        description="Risk coefficients file from `cxstream risk fit` (risk_model.json); "
        "default: the documented prior weights (docs/risk.md).",
    )
    reply_templates: Path | None = Field(
        None,
        description="Approved reply templates YAML for next-best-actions (by intent); default: "
        "the bundled pipeline/replies/templates.yaml.",
    )
    offer_policy: Path | None = Field(
        None,
        description="Retention offer policy YAML (docs/risk.md, Offers; an example: "
        "pipeline/offers/policy.yaml); default: no offers.",
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
        DATA_HOME,
        description="Public labelled datasets (SST-2, GoEmotions, BANKING77, CLINC150).",
    )
    lake_dir: str = Field(
        "./lake",
        min_length=1,
        description="Parquet lake of cxstream sink / report: a directory or a pyarrow URI.",
    )
    lake_flush_records: int = Field(
        10_000, ge=1, description="The sink writes a partition's batch at this many records."
    )
    lake_flush_s: float = Field(
        60.0, gt=0, description="... or when the batch is this many seconds old."
    )
    lake_compact_files: int = Field(
        16, ge=2, description="Small files of one partition directory that trigger compaction."
    )

    @model_validator(mode="after")
    def _sasl_has_credentials(self) -> Settings:
        if self.kafka_security_protocol.startswith("SASL_") and (
            not self.kafka_username
            or (self.kafka_password is None and self.kafka_password_file is None)
        ):
            raise ValueError(
                f"CXSTREAM_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "CXSTREAM_KAFKA_USERNAME and CXSTREAM_KAFKA_PASSWORD (or "
                "CXSTREAM_KAFKA_PASSWORD_FILE)"
            )
        return self

    @model_validator(mode="after")
    def _dead_letters_fit(self) -> Settings:
        from pipeline.contracts.records import dead_letter_bytes_bound

        bound = dead_letter_bytes_bound(self.max_payload_bytes)
        if bound > self.max_record_bytes:
            raise ValueError(
                f"CXSTREAM_MAX_PAYLOAD_BYTES={self.max_payload_bytes} makes dead letters of up "
                f"to {bound} bytes, more than CXSTREAM_MAX_RECORD_BYTES={self.max_record_bytes}"
                ": lower the first or raise the second"
            )
        return self

    @field_validator("redact")
    @classmethod
    def _known_redaction_types(cls, value: str) -> str:
        from pipeline.privacy.types import parse_types

        parse_types(value)
        return value.strip().lower()

    @field_validator("pseudonymise_key")
    @classmethod
    def _strong_enough_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None  # CXSTREAM_PSEUDONYMISE_KEY= (empty): off
        if value is not None and len(value.get_secret_value()) < MIN_PSEUDONYMISE_KEY_CHARS:
            raise ValueError(
                f"must be at least {MIN_PSEUDONYMISE_KEY_CHARS} characters (a random secret: "
                "anyone with the key can test guessed addresses against the pseudonyms)"
            )
        return value

    @model_validator(mode="after")
    def _one_web_token(self) -> Settings:
        if self.web_token is not None and self.web_token_file is not None:
            raise ValueError("set CXSTREAM_WEB_TOKEN or CXSTREAM_WEB_TOKEN_FILE, not both")
        return self

    @field_validator("web_token")
    @classmethod
    def _strong_enough_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            return None  # CXSTREAM_WEB_TOKEN= (empty): unset
        if value is not None:
            _check_token(value.get_secret_value())
        return value

    @field_validator("web_token_file")
    @classmethod
    def _readable_token_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            try:
                text = value.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = getattr(exc, "strerror", None) or type(exc).__name__
                raise ValueError(f"must be a readable text file ({reason})") from exc
            _check_token(text.strip())
        return value

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if value.strip().lower() not in STORES:
            raise ValueError(f"must be one of {' or '.join(STORES)}")
        return value.strip().lower()

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        import phonenumbers

        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                "must be a two-letter region code that phonenumbers supports "
                f"(ISO 3166-1 alpha-2, e.g. US, GB, DE, IN; {len(phonenumbers.SUPPORTED_REGIONS)} "
                "known)"
            )
        return region

    @field_validator("topic_prefix")
    @classmethod
    def _legal_topic_names(cls, value: str) -> str:
        bad = sorted(set(re.sub(TOPIC_CHARS, "", value)))
        if bad:
            raise ValueError(
                f"topic names may hold only letters, digits, '.', '_' and '-' "
                f"(not {''.join(bad)!r})"
            )
        longest = max((spec.name for spec in topic_specs(TopicNames(value), 1)), key=len)
        if len(longest) > MAX_TOPIC_NAME:
            raise ValueError(
                f"too long: <prefix>{longest[len(value) :]} would have {len(longest)} "
                f"characters, Kafka allows {MAX_TOPIC_NAME} (so a prefix of at most "
                f"{MAX_TOPIC_NAME - len(longest) + len(value)})"
            )
        return value

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
    def placeholder_id_values(self) -> frozenset[str]:
        """``placeholder_ids`` as trimmed, case-folded values, the blank value included."""
        return frozenset(v.strip().casefold() for v in self.placeholder_ids.split(",")) | {""}

    @property
    def agent_roles(self) -> frozenset[str]:
        """The agents this worker runs."""
        return frozenset(self.agents.split(","))

    @property
    def topics(self) -> TopicNames:
        """Topic names under the configured prefix."""
        return TopicNames(self.topic_prefix)

    def web_bearer_token(self) -> SecretStr | None:
        """The token ``GET /customers/{key}`` requires: ``web_token``, or the content of
        ``web_token_file`` without surrounding whitespace; None when neither is set."""
        if self.web_token_file is not None:
            return SecretStr(self.web_token_file.read_text(encoding="utf-8").strip())
        return self.web_token

    def check_web_exposure(self) -> None:
        """Refuse a web server beyond loopback without a token: it would serve customer profiles
        to anyone who reaches the port. ``SettingsError`` names ``CXSTREAM_WEB_HOST``."""
        if not self.web_port or is_loopback(self.web_host) or self.web_bearer_token():
            return
        raise SettingsError(
            [
                SettingProblem(
                    "web_host",
                    self.web_host,
                    "serves customer profiles beyond this machine: set CXSTREAM_WEB_TOKEN or "
                    f"CXSTREAM_WEB_TOKEN_FILE (a random secret of at least {MIN_WEB_TOKEN_CHARS} "
                    "characters), or bind 127.0.0.1",
                )
            ]
        )

    def writable_state_dir(self) -> Path:
        """The state directory, created if missing, for commands that write there.

        Checked by the commands that need it rather than on every load, so read-only commands
        still work with an unwritable one. ``SettingsError`` names ``CXSTREAM_STATE_DIR``.
        """
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.state_dir):
                pass
        except OSError as exc:
            raise SettingsError(
                [
                    SettingProblem(
                        "state_dir",
                        str(self.state_dir),
                        "must be a directory this user can create and write "
                        f"({exc.strerror or exc})",
                    )
                ]
            ) from exc
        return self.state_dir


@dataclass(frozen=True)
class SettingProblem:
    """One invalid setting: which one, the value it was given, and what it allows."""

    field: str  # "" for a rule between settings (its message names them)
    value: str
    allowed: str
    overridden: bool = False  # given in code or by a CLI flag, not read from the environment

    @property
    def env_var(self) -> str:
        """The environment variable that sets this field."""
        return f"CXSTREAM_{self.field.upper()}"

    def describe(self, flags: Mapping[str, str] | None = None) -> str:
        """``NAME=value: what is allowed``, naming the CLI flag when the value came from one."""
        if not self.field:
            return self.allowed
        if not self.overridden:
            name = self.env_var
        else:
            name = (flags or {}).get(self.field, f"setting {self.field}")
        return f"{name}={_shell_quote(self.value)}: {self.allowed}"


class SettingsError(ValueError):
    """Settings that do not validate; its text is one line naming each bad variable."""

    def __init__(self, problems: list[SettingProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(self.describe())

    def describe(self, flags: Mapping[str, str] | None = None) -> str:
        """Every problem on one line, ``flags`` (field → CLI flag) naming overridden ones."""
        return "; ".join(p.describe(flags) for p in self.problems)

    @classmethod
    def from_validation(
        cls, exc: ValidationError, overridden: frozenset[str] = frozenset()
    ) -> SettingsError:
        """The problems of a ``Settings`` ``ValidationError``, in variable names and words."""
        problems = []
        for err in exc.errors(include_url=False):
            if not err["loc"]:
                problems.append(SettingProblem("", "", _without_prefix(err["msg"])))
                continue
            name = str(err["loc"][0])
            field = Settings.model_fields.get(name)
            secret = field is not None and "SecretStr" in str(field.annotation)
            value = "***" if secret else _as_text(err["input"])
            problems.append(
                SettingProblem(
                    name, value, _allowed(name, err["type"], err["msg"]), name in overridden
                )
            )
        return cls(problems)


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps a server reachable from this machine only."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name or a wildcard: reachable from elsewhere


def _check_token(token: str) -> None:
    # The message never repeats the token: it is a secret even when it is too short.
    if len(token) < MIN_WEB_TOKEN_CHARS:
        raise ValueError(
            f"must be at least {MIN_WEB_TOKEN_CHARS} characters (a random secret, e.g. "
            "`openssl rand -hex 32`)"
        )


def _as_text(value: object) -> str:
    if isinstance(value, SecretStr):
        return "***"
    return value if isinstance(value, str) else str(value)


def _shell_quote(value: str) -> str:
    # As a shell would need it, so the line can be pasted back: CXSTREAM_TOPIC_PREFIX='a b'.
    return value if value and re.fullmatch(r"[\w@%+=:,./-]+", value) else repr(value)


def _without_prefix(message: str) -> str:
    return message.removeprefix("Value error, ")


_NUMBER_ERRORS = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "int_parsing",
    "int_from_float",
    "float_parsing",
    "finite_number",
}


def _allowed(name: str, error_type: str, message: str) -> str:
    """What a field allows, in words: its whole range for a number, else pydantic's reason."""
    field = Settings.model_fields.get(name)
    if error_type == "bool_parsing":
        return "must be true or false (or 1/0, yes/no, on/off)"
    if field is None or error_type not in _NUMBER_ERRORS:
        message = _without_prefix(message)
        return message[:1].lower() + message[1:]
    kind = "a whole number" if field.annotation is int else "a number"
    low = high = ""
    for rule in field.metadata:
        if getattr(rule, "ge", None) is not None:
            low = f"at least {rule.ge}"
        elif getattr(rule, "gt", None) is not None:
            low = f"more than {rule.gt}"
        if getattr(rule, "le", None) is not None:
            high = f"at most {rule.le}"
        elif getattr(rule, "lt", None) is not None:
            high = f"less than {rule.lt}"
    if low.startswith("at least") and high.startswith("at most"):
        bounds = f"from {low.removeprefix('at least ')} to {high.removeprefix('at most ')}"
    else:
        bounds = " and ".join(b for b in (low, high) if b)
    return f"must be {kind}" + (f" {bounds}" if bounds else "")


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (CLI flags) applied on top.

    Raises ``SettingsError``: one line naming each bad variable (or overridden field).
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError.from_validation(exc, frozenset(given)) from exc


def local_settings(
    name: str,
    broker_port: int,
    web_port: int,
    *,
    state_dir: Path | None = None,
    controller_port: int | None = None,
    **overrides: object,
) -> Settings:
    """Settings for a run on its own local broker (demo, bench, soak): state under
    ``.cxstream/<name>`` (or ``state_dir``), the broker on ``broker_port`` and its controller on
    ``controller_port`` (default: the next port). The local broker is PLAINTEXT, whatever
    ``CXSTREAM_KAFKA_SECURITY_PROTOCOL`` says for the user's own cluster."""
    return get_settings(
        state_dir=state_dir or STATE_HOME / name,
        broker_port=broker_port,
        controller_port=controller_port or broker_port + 1,
        bootstrap_servers=f"127.0.0.1:{broker_port}",
        web_port=web_port,
        **{"kafka_security_protocol": "PLAINTEXT", **overrides},
    )
