"""Raw message bytes → one standard :class:`Interaction` (or an ``InputError`` with a reason code).

Pure and stateless: identity and dedupe happen later, in :mod:`pipeline.resolve.resolver`.

Why this module is a little over 400 lines: one builder (``_Build``) holds the checks every
channel shares (timestamps, identifiers, lengths, redaction, text cleaning) and one short method
per channel maps that channel's fields onto them. The field-level work lives in
:mod:`pipeline.standardise.normalise`; splitting the five channel methods into five modules would
put each next to nothing and the shared checks far away.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from pipeline.contracts.raw import (
    ID_FIELDS,
    RAW_MODELS,
    SURVEY_SCALES,
    ChatMessage,
    CustomerRef,
    EmailMessage,
    SurveyResponse,
    Timestamp,
    VoiceCall,
    WebEvent,
)
from pipeline.contracts.records import Identifiers, Interaction, ReasonCode, SourceRef, SurveyAnswer
from pipeline.privacy.pseudonym import Pseudonymiser
from pipeline.privacy.redact import Redactor
from pipeline.settings import Settings
from pipeline.standardise.normalise.emails import latest_reply, parse_address
from pipeline.standardise.normalise.errors import InputError
from pipeline.standardise.normalise.language import detect_language
from pipeline.standardise.normalise.payload import decode_json
from pipeline.standardise.normalise.phones import to_e164
from pipeline.standardise.normalise.text import (
    clean_text,
    html_to_text,
    normalise_whitespace,
    truncate,
)
from pipeline.standardise.normalise.timestamps import parse_timestamp
from pipeline.topics import TopicNames

WEB_TEXT_FIELDS = ("text", "comment", "query")
REDACT_MARGIN_CHARS = 64
"""Text is redacted this far past the truncation point, so a number cut by it is still found."""
CONTACT_ATTRIBUTES = ("customer_name", "from_name")
CONTACT_TRAITS = ("email", "phone", "name", "firstName", "lastName", "username", "address")
CONTACT_CONTEXT = ("ip",)
"""Attributes that carry contact data: pseudonymised with the identifiers (docs/privacy.md)."""


@dataclass(frozen=True)
class RawMessage:
    """One Kafka record from a raw topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int | None = None

    def source(self, message_id: str | None = None) -> SourceRef:
        return SourceRef(
            topic=self.topic,
            partition=self.partition,
            offset=self.offset,
            source_message_id=message_id,
        )


def interaction_id(channel: str, source_message_id: str) -> str:
    """Stable id of an interaction: the same source message always gets the same id."""
    digest = hashlib.sha256(f"{channel}\x1f{source_message_id}".encode()).hexdigest()
    return f"ix_{digest[:24]}"


def _broker_time(timestamp_ms: int | None) -> datetime | None:
    """The record's Kafka timestamp, or None when absent or out of datetime's range."""
    if timestamp_ms is None or timestamp_ms <= 0:
        return None
    try:
        return datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):  # a producer may set any int64 CreateTime
        return None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return "; ".join(parts) + more


class Standardiser:
    """Turns raw messages of every channel into Interactions; configured once, reused per event."""

    def __init__(self, settings: Settings) -> None:
        self.topics: TopicNames = settings.topics
        self.max_payload = settings.max_payload_bytes
        self.max_text = settings.max_text_chars
        self.region = settings.default_region
        self.max_skew = timedelta(seconds=settings.max_future_skew_s)
        self.placeholders = settings.placeholder_id_values
        self.max_identifier = settings.max_identifier_chars
        self.redactor = Redactor.from_settings(settings)
        key = settings.pseudonymise_key
        self.pseudonymiser = Pseudonymiser(key) if key is not None else None

    def standardise(self, msg: RawMessage, now: datetime | None = None) -> Interaction:
        """The Interaction for ``msg`` (no customer_key yet); ``InputError`` if rejected."""
        now = now or datetime.now(UTC)
        channel = self.topics.channel_of(msg.topic)
        if channel is None:
            raise InputError(ReasonCode.UNKNOWN_TOPIC, f"{msg.topic!r} is not a raw channel topic")
        if not msg.value:
            raise InputError(
                ReasonCode.EMPTY_PAYLOAD,
                "the record has no value (a null/tombstone or 0-byte value): raw topics carry "
                "one JSON object per record",
            )
        if len(msg.value) > self.max_payload:
            raise InputError(
                ReasonCode.OVERSIZE,
                f"payload is {len(msg.value)} bytes, over the {self.max_payload}-byte limit",
            )
        data = decode_json(msg.value)
        id_field = ID_FIELDS[channel]
        raw_id = data.get(id_field)
        if isinstance(raw_id, int) and not isinstance(raw_id, bool):
            data[id_field] = raw_id = str(raw_id)
        if not isinstance(raw_id, str) or not raw_id.strip():
            raise InputError(
                ReasonCode.MISSING_ID, f"{channel} message has no {id_field!r} (string) field"
            )
        try:
            model = RAW_MODELS[channel].model_validate(data)
        except ValidationError as exc:
            raise InputError(ReasonCode.SCHEMA_VIOLATION, _describe(exc)) from exc
        received = _broker_time(msg.timestamp_ms) or now
        builder = _Build(self, msg, received, now)
        if isinstance(model, WebEvent):
            return builder.web(model)
        if isinstance(model, ChatMessage):
            return builder.chat(model)
        if isinstance(model, EmailMessage):
            return builder.email(model)
        if isinstance(model, VoiceCall):
            return builder.voice(model)
        assert isinstance(model, SurveyResponse)
        return builder.survey(model)


class _Build:
    """Per-message helper that maps one validated raw model onto Interaction fields."""

    def __init__(
        self, std: Standardiser, msg: RawMessage, received: datetime, now: datetime
    ) -> None:
        self.std = std
        self.msg = msg
        self.received = received
        self.now = now
        self.warnings: list[str] = []
        self.redactions: dict[str, int] = {}

    # -- shared pieces -------------------------------------------------------------------------
    def when(self, *candidates: Timestamp | None) -> datetime:
        for value in candidates:
            if value is not None:
                return parse_timestamp(value, now=self.now, max_future_skew=self.std.max_skew)
        self.warnings.append("no event time: used the broker timestamp")
        return self.received

    def shown(self, raw: str, chars: int) -> str:
        """How a warning quotes a refused identifier: not at all when identifiers are hidden."""
        return "(value withheld)" if self.std.pseudonymiser else repr(raw[:chars])

    def redact(self, text: str) -> str:
        """``text`` with personal data replaced by placeholders; counts kept for the event."""
        redacted, counts = self.std.redactor.redact(text)
        for kind, count in counts.items():
            self.redactions[kind] = self.redactions.get(kind, 0) + count
        return redacted

    def redact_bounded(self, text: str) -> tuple[str, bool]:
        """``(redacted, truncated)``: ``text`` cut at ``max_text_chars`` and redacted, its
        cost bounded by that limit (the margin finds a number the cut would split)."""
        head = text[: self.std.max_text + REDACT_MARGIN_CHARS]
        short, cut = truncate(self.redact(head), self.std.max_text)
        return short, cut or len(text) > len(head)

    def identifier(self, field: str, raw: str | int | None) -> str | None:
        """``raw`` trimmed, or None for a placeholder (with a warning); too long: rejected."""
        if raw is None:
            return None
        value = str(raw).strip()
        self.check_length(field, value)
        if value.casefold() in self.std.placeholders:
            if value:
                self.warnings.append(
                    f"{field} {self.shown(value, 64)} is a placeholder, not an id: ignored"
                )
            return None
        return value

    def check_length(self, field: str, value: str) -> None:
        if len(value) > self.std.max_identifier:
            raise InputError(
                ReasonCode.SCHEMA_VIOLATION,
                f"{field} is {len(value)} characters long, over the "
                f"{self.std.max_identifier}-character limit for identifiers",
            )

    def phone(self, field: str, raw: object) -> str | None:
        if isinstance(raw, int) and not isinstance(raw, bool):
            self.warnings.append(f"{field} is a JSON number: read as its digits {raw}")
            raw = str(raw)
        elif raw is not None and not isinstance(raw, str):
            self.warnings.append(f"{field} is a JSON {type(raw).__name__}, not text: ignored")
            return None
        if raw is None or not raw.strip():
            return None
        e164 = to_e164(raw, self.std.region)
        if e164 is None:
            self.warnings.append(f"{field} {self.shown(raw, 32)} is not a valid number: ignored")
        return e164

    def address(self, field: str, raw: str | None) -> str | None:
        if raw is None or not raw.strip():
            return None
        address, _, problem = parse_address(raw)
        if address is None:
            self.warnings.append(f"{field} {self.shown(raw, 64)} {problem}: ignored")
        else:
            self.check_length(field, address)
        return address

    def customer_ids(self, customer: CustomerRef) -> Identifiers:
        return Identifiers(
            customer_id=self.identifier("customer.id", customer.id),
            email=self.address("customer.email", customer.email),
            phone=self.phone("customer.phone", customer.phone),
        )

    def fallback_id(self, prefix: str, field: str, value: str) -> str:
        """The anonymous id of a message that names no customer: ``prefix:value``."""
        self.check_length(field, value)
        return f"{prefix}:{value}"

    def text(
        self, raw: str | None, *, html: bool = True, normalised: bool = False
    ) -> dict[str, Any]:
        """Text fields; ``html=False``: no HTML to convert, ``normalised``: whitespace done too."""
        if raw is None:
            return {"text": None}
        cleaned = raw
        if not normalised:
            cleaned = clean_text(raw) if html else normalise_whitespace(raw)
        if not cleaned:
            return {"text": None}
        short, cut = truncate(cleaned, self.std.max_text)
        language = detect_language(short)  # on the words the customer wrote, not placeholders
        short, cut_here = self.redact_bounded(cleaned)
        return {
            "text": short,
            "text_truncated": cut or cut_here,
            "text_original_chars": len(cleaned),
            "language": language,
        }

    def finish(
        self,
        model: BaseModel,
        channel: str,
        source_id: str,
        ids: Identifiers,
        occurred: datetime,
        attributes: dict[str, Any],
        **fields: Any,
    ) -> Interaction:
        if not ids.pairs():
            why = "".join(f"; {w}" for w in self.warnings)
            raise InputError(
                ReasonCode.MISSING_IDENTITY,
                f"{channel} message {source_id!r} names no customer{why}",
            )
        extra = dict(model.model_extra or {})
        extra.update({k: v for k, v in attributes.items() if v not in (None, {}, [])})
        if (hide := self.std.pseudonymiser) is not None:
            ids = hide.identifiers(ids)
            extra = hide.fields(extra, CONTACT_ATTRIBUTES)
            for part, names in (("traits", CONTACT_TRAITS), ("context", CONTACT_CONTEXT)):
                if isinstance(extra.get(part), dict):
                    extra[part] = hide.fields(extra[part], names)
        return Interaction(
            interaction_id=interaction_id(channel, source_id),
            source=self.msg.source(source_id),
            channel=channel,
            identifiers=ids,
            occurred_at=occurred,
            received_at=self.received,
            input_schema_version=getattr(model, "schema_version", 1),
            attributes=extra,
            warnings=self.warnings,
            redactions=self.redactions,
            **fields,
        )

    def web_properties(self, properties: dict[str, Any]) -> dict[str, Any]:
        """``properties`` with its free-text fields redacted and cut like ``text`` (counted
        once: on ``text``, which is one of them)."""
        saved = dict(self.redactions)
        texts = {
            f: self.redact_bounded(v)[0]
            for f in WEB_TEXT_FIELDS
            if isinstance(v := properties.get(f), str)
        }
        self.redactions = saved
        return {**properties, **texts}

    # -- channels ------------------------------------------------------------------------------
    def web(self, ev: WebEvent) -> Interaction:
        if ev.userId is None and not ev.anonymousId:
            raise InputError(
                ReasonCode.MISSING_IDENTITY, "web event has neither userId nor anonymousId"
            )
        traits = ev.traits if isinstance(ev.traits, dict) else {}
        email = traits.get("email")
        ids = Identifiers(
            user_id=self.identifier("userId", ev.userId),
            anonymous_id=self.identifier("anonymousId", ev.anonymousId),
            email=self.address("traits.email", email) if isinstance(email, str) else None,
            phone=self.phone("traits.phone", traits.get("phone")),
        )
        raw_text = next(
            (
                v
                for f in WEB_TEXT_FIELDS
                if isinstance(v := ev.properties.get(f), str) and v.strip()
            ),
            None,
        )
        return self.finish(
            ev,
            "web",
            ev.messageId,
            ids,
            self.when(ev.timestamp, ev.sentAt, ev.receivedAt),
            {
                "properties": self.web_properties(ev.properties),
                "context": ev.context,
                "traits": traits,
            },
            event_type=ev.type,
            event_name=ev.event,
            author_role="customer",
            **self.text(raw_text),
        )

    def chat(self, ev: ChatMessage) -> Interaction:
        ids = self.customer_ids(ev.customer)
        if not ids.pairs() and ev.conversation_id:
            conversation = self.identifier("conversation_id", ev.conversation_id)
            if conversation:
                ids.anonymous_id = f"chat:{conversation}"
                self.warnings.append("anonymous chat: identified by its conversation")
        return self.finish(
            ev,
            "chat",
            ev.message_id,
            ids,
            self.when(ev.sent_at),
            {"platform": ev.platform, "customer_name": ev.customer.name},
            event_type="message",
            author_role=ev.author_role,
            conversation_id=ev.conversation_id,
            **self.text(ev.text),
        )

    def email(self, ev: EmailMessage) -> Interaction:
        address, name, problem = parse_address(ev.from_ or "")
        if address is None:
            raise InputError(
                ReasonCode.MISSING_IDENTITY,
                f"email 'from' {(ev.from_ or '')[:64]!r} has no address ({problem})",
            )
        self.check_length("from", address)
        if ev.text and ev.text.strip():
            body = ev.text
        elif ev.html:
            body = html_to_text(ev.html)
        else:
            body = ""
        refs = ev.references.split() if isinstance(ev.references, str) else ev.references or []
        thread = refs[0] if refs else ev.in_reply_to or ev.message_id
        return self.finish(
            ev,
            "email",
            ev.message_id,
            Identifiers(email=address),
            self.when(ev.received_at),
            {"from_name": name, "to": ev.to, "in_reply_to": ev.in_reply_to, "references": refs},
            event_type="email",
            author_role="customer",
            subject=self.redact_bounded(normalise_whitespace(ev.subject))[0]
            if ev.subject
            else None,
            thread_id=thread,
            **self.text(latest_reply(body), normalised=True),
        )

    def voice(self, ev: VoiceCall) -> Interaction:
        ids = Identifiers(
            customer_id=self.identifier("customer_id", ev.customer_id),
            phone=self.phone("caller_number", ev.caller_number),
        )
        if not ids.pairs():
            ids.anonymous_id = self.fallback_id("call", "call_id", ev.call_id)
            self.warnings.append("caller unknown: identified by the call id")
        source_id = ev.call_id if ev.segment_id is None else f"{ev.call_id}#{ev.segment_id}"
        if ev.utterances is not None:
            said = [u.text for u in ev.utterances if u.speaker == "customer"]
            raw_text: str | None = "\n".join(said)
            agent_turns = sum(1 for u in ev.utterances if u.speaker == "agent")
        else:
            raw_text, agent_turns = ev.transcript, 0
        return self.finish(
            ev,
            "voice",
            source_id,
            ids,
            self.when(ev.started_at),
            {
                "segment_id": ev.segment_id,
                "duration_s": ev.duration_s,
                "asr_confidence": ev.asr_confidence,
                "agent_turns": agent_turns,
            },
            event_type="call" if ev.segment_id is None else "call_segment",
            author_role="customer",
            conversation_id=ev.call_id,
            **self.text(raw_text, html=False),
        )

    def survey(self, ev: SurveyResponse) -> Interaction:
        low, high = SURVEY_SCALES[ev.kind]
        if not low <= ev.score <= high:
            raise InputError(
                ReasonCode.SCHEMA_VIOLATION,
                f"{ev.kind} score {ev.score} is outside its scale {low:g}..{high:g}",
            )
        ids = self.customer_ids(ev.customer)
        if not ids.pairs():
            ids.anonymous_id = self.fallback_id("survey", "response_id", ev.response_id)
            self.warnings.append("anonymous survey: identified by its response id")
        return self.finish(
            ev,
            "survey",
            ev.response_id,
            ids,
            self.when(ev.submitted_at),
            {"customer_name": ev.customer.name},
            event_type="response",
            author_role="customer",
            survey=SurveyAnswer(kind=ev.kind, score=ev.score, scale_min=low, scale_max=high),
            **self.text(ev.comment),
        )
