"""Records the pipeline must dead-letter, each a valid record given exactly one defect."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

from pipeline.tools.synthetic.generator import Generator
from pipeline.tools.synthetic.mix import CHANNEL_MIX
from pipeline.tools.synthetic.records import Draft, serialise

MALFORMED_REASONS: tuple[str, ...] = (
    "invalid_json",
    "invalid_utf8",
    "not_an_object",
    "schema_violation",
    "missing_id",
    "missing_identity",
    "invalid_timestamp",
)
_REASON_CHANNELS: dict[str, tuple[str, ...]] = {
    "missing_identity": ("web", "email"),
}
_TIME_FIELD = {
    "web": "timestamp",
    "chat": "sent_at",
    "email": "received_at",
    "voice": "started_at",
    "survey": "submitted_at",
}
_ID_FIELD = {
    "web": "messageId",
    "chat": "message_id",
    "email": "message_id",
    "voice": "call_id",
    "survey": "response_id",
}
BAD_TIMESTAMPS = ("yesterday-ish", "2999-01-01T00:00:00Z", "2999-12-31 23:59:59", "soon",
                  "31/02/2025 10:00", "0000-00-00T00:00:00")  # fmt: skip
BAD_SCORES = ("ten", "five", "N/A", "very good")


def malformed_records(gen: Generator, count: int) -> list[Draft]:
    """``count`` dead-letter records, reasons spread evenly, each with exactly one defect."""
    rng = gen.rng
    reasons = [MALFORMED_REASONS[i % len(MALFORMED_REASONS)] for i in range(count)]
    rng.shuffle(reasons)
    return [_broken(gen, reason) for reason in reasons]


def _broken(gen: Generator, reason: str) -> Draft:
    rng = gen.rng
    channel = rng.choice(_REASON_CHANNELS.get(reason, tuple(CHANNEL_MIX)))
    draft = gen.group(channel, single=True)[0]
    channel = draft.channel
    payload: dict[str, Any] = dict(draft.payload)
    key, person = draft.key, draft.person
    if reason in ("invalid_json", "invalid_utf8", "not_an_object"):
        value = _undecodable(rng, reason, channel, payload)
        if reason != "invalid_utf8":
            person = None
    else:
        _violate(rng, reason, channel, payload)
        if reason == "missing_identity" or (
            reason == "missing_id" and channel in ("email", "voice", "survey")
        ):
            key = None
        if reason == "missing_identity":
            person = None
        value = serialise(channel, payload)
    return replace(
        draft, key=key, payload=payload, person=person, value=value, expect=f"deadletter:{reason}"
    )


def _undecodable(rng: random.Random, reason: str, channel: str, payload: dict[str, Any]) -> bytes:
    """Bytes that are no JSON object: broken JSON, broken UTF-8, or JSON of another type."""
    text = serialise(channel, payload).decode()
    if reason == "invalid_json":
        variant = rng.randrange(4)
        if variant == 0:
            return text[: rng.randint(max(1, len(text) // 4), len(text) - 1)].encode()
        if variant == 1:
            return repr(payload).encode()
        if variant == 2:
            return (text[:-1] + ",}").encode()
        return (text + text).encode()
    if reason == "invalid_utf8":
        raw = text.encode()
        if rng.random() < 0.3:
            return json.dumps(payload, ensure_ascii=False).encode("utf-16")
        cut = raw.index(b'":') + 2
        cut += raw[cut:].index(b'"') + 1
        return raw[:cut] + b"\xff\xfe" + raw[cut:]
    return rng.choice(
        (json.dumps([payload]), "42", "null", '"hello"', "[]", "true", "3.14")
    ).encode()


def _violate(rng: random.Random, reason: str, channel: str, payload: dict[str, Any]) -> None:
    """Give a valid payload exactly one defect of kind ``reason`` (in place)."""
    if reason == "missing_id":
        del payload[_ID_FIELD[channel]]
        payload.pop("segment_id", None)
    elif reason == "missing_identity":
        for name in ("userId", "anonymousId", "from"):
            payload.pop(name, None)
    elif reason == "invalid_timestamp":
        for name in ("timestamp", "sentAt", "receivedAt"):
            payload.pop(name, None)
        payload[_TIME_FIELD[channel]] = rng.choice(BAD_TIMESTAMPS)
    elif channel == "chat":
        payload["text"] = rng.choice((42, 3.5, 1234567))
    elif channel == "survey":
        payload["score"] = rng.choice(BAD_SCORES)
    elif channel == "voice":
        payload.pop("transcript", None)
        payload["utterances"] = {"speaker": "customer", "text": "hello?", "start_s": 0.0}
    elif channel == "web":
        payload["properties"] = "query=refund status"
    else:
        payload["text"] = 12345
        payload.pop("html", None)
