"""The raw input contract (``docs/contract.md``) as pydantic models, one per channel.

These models validate types only; unknown fields are allowed and kept. Normalisation (times,
phones, text) happens in :mod:`pipeline.standardise.standardiser`. ``schemas/raw-*.json`` is
generated from them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StrictFloat, StrictInt

Number = StrictInt | StrictFloat
"""A JSON number (booleans and numeric strings are rejected)."""


def _timestamp_as_sent(value: object) -> str | int | float:
    """The value unchanged (a boolean too, so that the standardiser can say what is wrong)."""
    if isinstance(value, str | int | float):
        return value
    raise ValueError(f"a timestamp is a string or a number, not a {type(value).__name__}")


Timestamp = Annotated[
    str | int | float,
    PlainValidator(_timestamp_as_sent, json_schema_input_type=str | int | float),
]
"""ISO-8601 (any offset, or naive = UTC), epoch seconds or epoch milliseconds."""

Phone = str | Number
"""A phone number as text; a JSON number is read as its digits (a leading ``+`` or 0 is lost)."""


class RawModel(BaseModel):
    """Base of every raw shape: extra fields allowed and kept, schema version defaults to 1."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    schema_version: int = Field(1, ge=1, description="Contract version; 1 when absent.")


class CustomerRef(BaseModel):
    """Who the customer is, as chat and survey tools send it."""

    model_config = ConfigDict(extra="allow")

    id: str | int | None = None
    email: str | None = None
    phone: Phone | None = None
    name: str | None = None


class WebEvent(RawModel):
    """``cx.raw.web``: a Segment-spec event (page, track, identify, screen)."""

    messageId: str = Field(description="Dedupe key.")
    type: Literal["page", "track", "identify", "screen", "alias", "group"]
    timestamp: Timestamp | None = None
    sentAt: Timestamp | None = None
    receivedAt: Timestamp | None = None
    userId: str | int | None = None
    anonymousId: str | None = None
    event: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)


class ChatMessage(RawModel):
    """``cx.raw.chat``: one chat / messaging message."""

    message_id: str
    conversation_id: str | None = None
    sent_at: Timestamp | None = None
    author_role: Literal["customer", "agent", "bot"] = "customer"
    customer: CustomerRef = Field(default_factory=CustomerRef)
    text: str | None = None
    platform: str | None = None


class EmailMessage(RawModel):
    """``cx.raw.email``: one inbound email, parsed by a gateway."""

    message_id: str
    received_at: Timestamp | None = None
    from_: str | None = Field(None, alias="from", description="Sender; required in practice.")
    to: str | list[str] | None = None
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    in_reply_to: str | None = None
    references: str | list[str] | None = None


class Utterance(BaseModel):
    """One turn of a call transcript."""

    model_config = ConfigDict(extra="allow")

    speaker: Literal["customer", "agent"]
    text: str
    start_s: Number | None = None
    end_s: Number | None = None


class VoiceCall(RawModel):
    """``cx.raw.voice``: a whole call transcript or one segment of it."""

    call_id: str
    segment_id: str | int | None = None
    started_at: Timestamp | None = None
    duration_s: Number | None = Field(None, ge=0)
    caller_number: Phone | None = None
    customer_id: str | int | None = None
    utterances: list[Utterance] | None = None
    transcript: str | None = None
    asr_confidence: Number | None = Field(None, ge=0, le=1)


class SurveyResponse(RawModel):
    """``cx.raw.survey``: one NPS / CSAT / CES response."""

    response_id: str
    submitted_at: Timestamp | None = None
    customer: CustomerRef = Field(default_factory=CustomerRef)
    kind: Literal["nps", "csat", "ces"]
    score: Number
    comment: str | None = None


RAW_MODELS: dict[str, type[RawModel]] = {
    "web": WebEvent,
    "chat": ChatMessage,
    "email": EmailMessage,
    "voice": VoiceCall,
    "survey": SurveyResponse,
}

ID_FIELDS: dict[str, str] = {
    "web": "messageId",
    "chat": "message_id",
    "email": "message_id",
    "voice": "call_id",
    "survey": "response_id",
}
"""The field that carries each channel's source message id (its dedupe key)."""

SURVEY_SCALES: dict[str, tuple[float, float]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
