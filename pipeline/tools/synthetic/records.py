"""Records: the finished raw message with its ground truth, and a record under construction."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pipeline.tools.synthetic.weighted import WeightedTable

#: Timestamp forms of the contract and their odds.
TS_FORMS = (("iso_z", 35.0), ("iso_offset", 15.0), ("iso_naive", 10.0), ("epoch_s", 15.0),
            ("epoch_float", 10.0), ("epoch_ms", 15.0))  # fmt: skip
TS_OFFSETS_MIN = (120, -300, 60, 330, -480, 0)
_TS = WeightedTable(TS_FORMS)


@dataclass(frozen=True)
class RawRecord:
    """One raw Kafka message for topic ``cx.raw.<channel>`` plus its ground truth."""

    channel: str
    key: bytes | None
    value: bytes
    expect: str
    person: str | None


@dataclass(frozen=True)
class TimestampStyle:
    """How one producer writes times: a contract form, a zone offset, with or without millis."""

    form: str
    offset_min: int = 0
    millis: bool = False

    @classmethod
    def draw(cls, rng: random.Random) -> TimestampStyle:
        """A style with the contract's odds."""
        form = _TS.draw(rng)
        offset = rng.choice(TS_OFFSETS_MIN) if form == "iso_offset" else 0
        return cls(form, offset, rng.random() < 0.5)

    def render(self, when: datetime) -> str | int | float:
        """``when`` (aware UTC) in this form; never later than ``when``."""
        spec = "milliseconds" if self.millis else "seconds"
        if self.form == "iso_z":
            return when.replace(tzinfo=None).isoformat(timespec=spec) + "Z"
        if self.form == "iso_offset":
            zone = timezone(timedelta(minutes=self.offset_min))
            return when.astimezone(zone).isoformat(timespec=spec)
        if self.form == "iso_naive":
            return when.replace(tzinfo=None).isoformat(timespec=spec)
        if self.form == "epoch_s":
            return int(when.timestamp())
        if self.form == "epoch_float":
            return math.floor(when.timestamp() * 1000) / 1000
        return math.floor(when.timestamp() * 1000)


@dataclass
class Draft:
    """A record under construction; ``payload`` is kept to derive duplicates."""

    channel: str
    key: str | None
    payload: Any
    person: str | None
    when: datetime
    style: TimestampStyle
    value: bytes
    expect: str = "interaction"
    order: float = 0.0

    def record(self) -> RawRecord:
        """The finished raw message."""
        key = None if self.key is None else self.key.encode()
        return RawRecord(self.channel, key, self.value, self.expect, self.person)


def serialise(channel: str, payload: Any) -> bytes:
    """Serialise like that channel's producer would (web/survey compact, email ASCII-escaped)."""
    if channel in ("web", "survey"):
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return json.dumps(payload, ensure_ascii=channel == "email").encode()


def new_draft(
    rng: random.Random,
    channel: str,
    key: str | None,
    payload: dict[str, Any],
    person: str,
    when: datetime,
    style: TimestampStyle,
) -> Draft:
    """An accepted interaction of ``person`` (one in twenty names its ``schema_version``)."""
    if rng.random() < 0.05:
        payload["schema_version"] = 1
    value = serialise(channel, payload)
    return Draft(channel, key, payload, person, when, style, value, order=when.timestamp())
