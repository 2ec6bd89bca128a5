"""Records the pipeline writes: Interaction, DeadLetter, DuplicateDrop, IdentityLink.

All are JSON on the wire (``model_dump_json``); ``schemas/`` holds their generated JSON Schemas.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.contracts.scores import Provenance, Scores
from pipeline.contracts.workflow import Routing

Channel = Literal["web", "chat", "email", "voice", "survey"]
AuthorRole = Literal["customer", "agent", "bot", "system"]
INTERACTION_SCHEMA_VERSION = 1


class SourceRef(BaseModel):
    """Where a record came from in Kafka."""

    topic: str
    partition: int
    offset: int
    source_message_id: str | None = Field(
        None, description="The producer's id for the message (messageId, message_id, call_id…)."
    )


class Identifiers(BaseModel):
    """Normalised identifiers of the customer behind an event."""

    email: str | None = Field(None, description="Case-folded address; +tag kept.")
    phone: str | None = Field(None, description="E.164, e.g. +14155550132.")
    user_id: str | None = None
    anonymous_id: str | None = None
    customer_id: str | None = None

    def pairs(self) -> list[tuple[str, str]]:
        """``(kind, value)`` for every identifier present, strongest first."""
        order = ("customer_id", "user_id", "email", "phone", "anonymous_id")
        return [(kind, v) for kind in order if (v := getattr(self, kind))]


class SurveyAnswer(BaseModel):
    kind: Literal["nps", "csat", "ces"]
    score: float
    scale_min: float
    scale_max: float


class Interaction(BaseModel):
    """One standardised customer interaction, the payload of ``cx.interactions``."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = INTERACTION_SCHEMA_VERSION
    interaction_id: str = Field(description="Stable: derived from channel + source message id.")
    source: SourceRef
    channel: Channel
    event_type: str = Field(
        description="page/track/identify/screen, message, email, call, response"
    )
    event_name: str | None = Field(None, description="Segment track event name.")
    customer_key: str | None = Field(None, description="Stable key of the person; set by resolve.")
    identifiers: Identifiers
    occurred_at: datetime = Field(description="When it happened (UTC).")
    received_at: datetime = Field(description="When it reached the raw topic (UTC).")
    author_role: AuthorRole
    text: str | None = Field(None, description="Clean text: no HTML, quotes or signatures.")
    text_truncated: bool = False
    text_original_chars: int = Field(0, description="Length of the clean text before truncation.")
    language: str | None = Field(None, description="ISO 639-1, or None when too short to tell.")
    subject: str | None = None
    conversation_id: str | None = None
    thread_id: str | None = None
    survey: SurveyAnswer | None = None
    input_schema_version: int = 1
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="Fields of the raw event the contract does not name."
    )
    warnings: list[str] = Field(default_factory=list, description="Non-fatal input problems.")
    redactions: dict[str, int] = Field(
        default_factory=dict,
        description="Personal data replaced by placeholders in text and subject: {type: count} "
        "(email, phone, card, iban, account); never the values. Empty: nothing found.",
    )


class Standardised(BaseModel):
    """Internal envelope on ``cx.internal.resolve``: the interaction and a digest of its raw
    bytes (standardise → resolve)."""

    interaction: Interaction
    payload_digest: str


class ReasonCode(StrEnum):
    """Machine-readable dead-letter reasons."""

    INVALID_UTF8 = "invalid_utf8"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    SCHEMA_VIOLATION = "schema_violation"
    MISSING_ID = "missing_id"
    MISSING_IDENTITY = "missing_identity"
    INVALID_TIMESTAMP = "invalid_timestamp"
    OVERSIZE = "oversize"
    UNKNOWN_TOPIC = "unknown_topic"
    INTERNAL_ERROR = "internal_error"
    UNWRITABLE_OUTPUT = "unwritable_output"
    STATE_TOO_LARGE = "state_too_large"
    PROCESSING_TIMEOUT = "processing_timeout"
    POISON_INPUT = "poison_input"
    EMPTY_PAYLOAD = "empty_payload"


KEY_PREFIX_BYTES = 1024
"""A dead letter keeps at most this many bytes of the record key (keys are ids, not data)."""
REASON_MAX_CHARS = 2000
"""Dead-letter reasons are cut here: error messages may quote the input."""
DEAD_LETTER_FIXED_BYTES = 4096
"""Generous room for a dead letter's fixed fields (stage, codes, topic name, times, JSON)."""


def dead_letter_bytes_bound(payload_limit: int) -> int:
    """The largest serialised dead letter when payloads are cut at ``payload_limit`` bytes."""
    payload = 4 * -(-payload_limit // 3)
    key = 4 * -(-KEY_PREFIX_BYTES // 3)
    reason = 6 * REASON_MAX_CHARS  # worst case: every character written as a \uXXXX escape
    return payload + key + reason + DEAD_LETTER_FIXED_BYTES


class Stage(StrEnum):
    """The stages of the pipeline; each writes dead letters under its own name."""

    STANDARDISE = "standardise"
    RESOLVE = "resolve"
    SCORE = "score"
    WORKFLOW = "workflow"
    TRENDS = "trends"


class DeadLetter(BaseModel):
    """A message the pipeline could not process, with why; the payload of ``cx.deadletter``.

    The payload is kept whole up to ``CXSTREAM_MAX_PAYLOAD_BYTES`` (the contract's limit); a
    larger one keeps that many leading bytes (``payload_truncated``) with the size and SHA-256
    of the whole, and the whole stays on its source topic for that topic's retention.
    """

    stage: Stage
    reason_code: ReasonCode
    reason: str = Field(description="Human-readable, specific.")
    error_class: str
    payload_b64: str = Field(
        description="The original message bytes, base64 (a prefix when payload_truncated)."
    )
    payload_bytes: int = Field(description="Size of the whole original payload.")
    payload_sha256: str = Field("", description="SHA-256 (hex) of the whole original payload.")
    payload_truncated: bool = Field(
        False, description="True when payload_b64 holds only the first bytes of the payload."
    )
    key_b64: str | None = Field(None, description="The record key, base64 (a prefix if long).")
    key_truncated: bool = False
    source: SourceRef = Field(
        description="The raw input this decision is about (for a later stage: the raw record "
        "its input came from, so every raw input is accounted for once)."
    )
    read_from: SourceRef | None = Field(
        None,
        description="The internal record the stage read, when it is not the raw input "
        "(resolve, score and workflow read cxstream's own topics).",
    )
    failed_at: datetime


class DuplicateKind(StrEnum):
    REDELIVERY = "redelivery"
    CROSS_RELAY = "cross_relay"
    NEAR_DUPLICATE = "near_duplicate"


class DuplicateDrop(BaseModel):
    """Audit record of one dropped duplicate; the payload of ``cx.duplicates``."""

    kind: DuplicateKind
    interaction_id: str
    duplicate_of: str = Field(description="interaction_id of the copy that was kept.")
    customer_key: str | None
    source: SourceRef
    dropped_at: datetime


class IdentityLink(BaseModel):
    """A key merge: ``merged_key`` now resolves to ``customer_key``; on ``cx.identity``."""

    merged_key: str
    customer_key: str
    identifiers: list[str] = Field(description="kind:value identifiers moved to customer_key.")
    interaction_id: str = Field(description="The event that proved the two keys are one person.")
    linked_at: datetime


class Enriched(Interaction):
    """An interaction with its scores and their provenance; the payload of ``cx.enriched``."""

    scored: bool = Field(
        description="False for events without text (page views, identify…) and for texts in a "
        "language the model card does not list."
    )
    unscored_reason: str | None = Field(
        None,
        description="Why not scored: 'no text to score', 'unsupported_language' (the detected "
        "language is not in the model card's languages; routed to a person by language), "
        "'scoring disabled', or the scoring error.",
    )
    scores: Scores | None = None
    ai: Provenance | None = None
    embedding: list[float] | None = Field(
        None, description="Sentence embedding (only with CXSTREAM_EMIT_EMBEDDINGS=true)."
    )
    routing: Routing | None = Field(
        None,
        description="Queue and priority (scored interactions and unsupported_language texts; "
        "set by the workflow stage).",
    )
