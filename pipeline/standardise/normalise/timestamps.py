"""Event times: ISO-8601 (any offset; naive = UTC), epoch seconds or milliseconds → UTC."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from pipeline.contracts.records import ReasonCode
from pipeline.standardise.normalise.errors import InputError

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_MS_THRESHOLD = 100_000_000_000  # epoch numbers above this are milliseconds (year 5138 in seconds)


def parse_timestamp(
    value: str | int | float, *, now: datetime, max_future_skew: timedelta
) -> datetime:
    """Parse one raw timestamp to an aware UTC datetime.

    Raises ``InputError(INVALID_TIMESTAMP)`` for unparseable values and for times before 1990 or
    further than ``max_future_skew`` after ``now``.
    """
    if isinstance(value, bool):
        raise InputError(
            ReasonCode.INVALID_TIMESTAMP, f"a boolean is not a timestamp: {str(value).lower()}"
        )
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError as exc:
            raise InputError(ReasonCode.INVALID_TIMESTAMP, "epoch timestamp is too large") from exc
        parsed = _from_epoch(number)
    elif isinstance(value, str):
        parsed = _from_string(value.strip())
    else:
        raise InputError(ReasonCode.INVALID_TIMESTAMP, f"timestamp has type {type(value).__name__}")
    if parsed < EARLIEST or parsed > now + max_future_skew:
        raise InputError(
            ReasonCode.INVALID_TIMESTAMP,
            f"timestamp {parsed.isoformat()} is outside the accepted range "
            f"[{EARLIEST.date()}, now + {max_future_skew}]",
        )
    return parsed


def _from_epoch(number: float) -> datetime:
    if not math.isfinite(number):
        raise InputError(ReasonCode.INVALID_TIMESTAMP, f"epoch timestamp is not finite: {number}")
    seconds = number / 1000.0 if abs(number) >= _MS_THRESHOLD else number
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InputError(ReasonCode.INVALID_TIMESTAMP, f"epoch {number} is out of range") from exc


def _from_string(text: str) -> datetime:
    if not text:
        raise InputError(ReasonCode.INVALID_TIMESTAMP, "timestamp is an empty string")
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return _from_epoch(number)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(
            ReasonCode.INVALID_TIMESTAMP, f"timestamp {text[:64]!r} is not ISO-8601 or epoch"
        ) from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise InputError(
            ReasonCode.INVALID_TIMESTAMP, f"timestamp {text[:64]!r} is out of range"
        ) from exc
