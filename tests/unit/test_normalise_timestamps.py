"""``parse_timestamp``: ISO-8601 (any offset, naive = UTC) and epoch s/ms → aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.contracts.records import ReasonCode
from pipeline.standardise.normalise.errors import InputError
from pipeline.standardise.normalise.timestamps import parse_timestamp

NOW = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC)
SKEW = timedelta(days=1)
EPOCH_S = 1_795_000_000  # 2026-11-18T11:06:40Z
EPOCH_UTC = datetime(2026, 11, 18, 11, 6, 40, tzinfo=UTC)


def parse(value: object) -> datetime:
    return parse_timestamp(value, now=NOW, max_future_skew=SKEW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            "2026-11-29T10:15:30Z", datetime(2026, 11, 29, 10, 15, 30, tzinfo=UTC), id="iso-z"
        ),
        pytest.param(
            "2026-11-29T10:15:30+02:00",
            datetime(2026, 11, 29, 8, 15, 30, tzinfo=UTC),
            id="iso-plus-0200",
        ),
        pytest.param(
            "2026-11-29T10:15:30-05:00",
            datetime(2026, 11, 29, 15, 15, 30, tzinfo=UTC),
            id="iso-minus-0500",
        ),
        pytest.param(
            "2026-11-29T23:30:00-05:00",
            datetime(2026, 11, 30, 4, 30, 0, tzinfo=UTC),
            id="iso-offset-crosses-midnight",
        ),
        pytest.param(
            "2026-11-29T10:15:30.123456Z",
            datetime(2026, 11, 29, 10, 15, 30, 123456, tzinfo=UTC),
            id="iso-fraction",
        ),
        pytest.param(
            "2026-11-29T10:15:30", datetime(2026, 11, 29, 10, 15, 30, tzinfo=UTC), id="naive-iso"
        ),
        pytest.param(
            "2026-11-29 10:15:30", datetime(2026, 11, 29, 10, 15, 30, tzinfo=UTC), id="naive-space"
        ),
        pytest.param("2026-11-29", datetime(2026, 11, 29, tzinfo=UTC), id="date-only"),
        pytest.param(
            "  2026-11-29T10:15:30Z ",
            datetime(2026, 11, 29, 10, 15, 30, tzinfo=UTC),
            id="iso-surrounding-spaces",
        ),
        pytest.param(EPOCH_S, EPOCH_UTC, id="epoch-seconds-int"),
        pytest.param(
            EPOCH_S + 0.5, EPOCH_UTC + timedelta(milliseconds=500), id="epoch-seconds-float"
        ),
        pytest.param(
            EPOCH_S * 1000 + 123, EPOCH_UTC + timedelta(milliseconds=123), id="epoch-millis-int"
        ),
        pytest.param(str(EPOCH_S), EPOCH_UTC, id="epoch-seconds-string"),
        pytest.param(
            f" {EPOCH_S}.25 ", EPOCH_UTC + timedelta(milliseconds=250), id="epoch-float-string"
        ),
        pytest.param(
            str(EPOCH_S * 1000 + 7), EPOCH_UTC + timedelta(milliseconds=7), id="epoch-millis-string"
        ),
        pytest.param(631_152_000, datetime(1990, 1, 1, tzinfo=UTC), id="earliest-accepted"),
        pytest.param(
            "2026-11-30T11:59:59Z",
            datetime(2026, 11, 30, 11, 59, 59, tzinfo=UTC),
            id="just-inside-future-skew",
        ),
    ],
)
def test_accepted_values_become_utc(value: object, expected: datetime) -> None:
    parsed = parse(value)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("yesterday", id="word"),
        pytest.param("", id="empty-string"),
        pytest.param("   ", id="blank-string"),
        pytest.param("29/11/2026 10:15", id="locale-format"),
        pytest.param("2999-01-01T00:00:00Z", id="year-2999"),
        pytest.param("2026-11-30T12:00:01Z", id="just-past-future-skew"),
        pytest.param("1970-01-01T00:00:00Z", id="1970"),
        pytest.param("1989-12-31T23:59:59Z", id="before-1990"),
        pytest.param(0, id="epoch-zero"),
        pytest.param(-1, id="negative-epoch"),
        pytest.param(631_151_999, id="one-second-before-1990"),
        pytest.param(float("nan"), id="nan-float"),
        pytest.param(float("inf"), id="inf-float"),
        pytest.param(float("-inf"), id="minus-inf-float"),
        pytest.param("NaN", id="nan-string"),
        pytest.param("inf", id="inf-string"),
        pytest.param(True, id="bool-true"),
        pytest.param(False, id="bool-false"),
        pytest.param(1e30, id="huge-float"),
        pytest.param("1e30", id="huge-float-string"),
        pytest.param(10**30, id="huge-int"),
        pytest.param("1" + "0" * 400, id="overflowing-numeric-string"),
        pytest.param(10**400, id="int-too-large-for-float"),
        pytest.param("0001-01-01T00:00:00+01:00", id="iso-year-1-overflows-utc"),
        pytest.param("9999-12-31T23:59:59-01:00", id="iso-year-9999-overflows-utc"),
        pytest.param(None, id="none"),
        pytest.param([EPOCH_S], id="list"),
    ],
)
def test_rejected_values_raise_invalid_timestamp(value: object) -> None:
    with pytest.raises(InputError) as caught:
        parse(value)
    assert caught.value.code is ReasonCode.INVALID_TIMESTAMP


def test_future_skew_is_configurable() -> None:
    value = "2026-12-05T12:00:00Z"
    with pytest.raises(InputError):
        parse(value)
    accepted = parse_timestamp(value, now=NOW, max_future_skew=timedelta(days=7))
    assert accepted == datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "shown"), [(True, "true"), (False, "false")])
def test_a_boolean_is_not_a_timestamp(value: bool, shown: str) -> None:
    with pytest.raises(InputError) as caught:
        parse(value)
    assert caught.value.code is ReasonCode.INVALID_TIMESTAMP
    assert str(caught.value) == f"a boolean is not a timestamp: {shown}"


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        pytest.param(10**400, "epoch timestamp is too large", id="int-too-large-for-a-float"),
        pytest.param("", "timestamp is an empty string", id="empty"),
        pytest.param(
            "x" * 70, f"timestamp {'x' * 64!r} is not ISO-8601 or epoch", id="not-iso-shown-to-64"
        ),
        pytest.param(
            "9999-12-31T23:59:59-05:00",
            "timestamp '9999-12-31T23:59:59-05:00' is out of range",
            id="past-year-9999-in-utc",
        ),
        pytest.param(
            "9999-12-31T23:59:59." + "9" * 40 + "-05:00",
            f"timestamp {('9999-12-31T23:59:59.' + '9' * 40 + '-05:00')[:64]!r} is out of range",
            id="out-of-range-shown-to-64",
        ),
        pytest.param(float("inf"), "epoch timestamp is not finite: inf", id="infinite"),
        pytest.param(1e300, "epoch 1e+300 is out of range", id="epoch-out-of-range"),
        pytest.param([1], "timestamp has type list", id="a-list"),
        pytest.param(
            100_000_000_000,
            "timestamp 1973-03-03T09:46:40+00:00 is outside the accepted range "
            "[1990-01-01, now + 1 day, 0:00:00]",
            id="1e11-is-milliseconds",
        ),
    ],
)
def test_a_rejected_value_says_why(value: object, detail: str) -> None:
    with pytest.raises(InputError) as rejected:
        parse(value)
    assert (rejected.value.code, str(rejected.value)) == (ReasonCode.INVALID_TIMESTAMP, detail)


def test_the_latest_accepted_time_is_exactly_now_plus_the_skew() -> None:
    assert parse((NOW + SKEW).isoformat()) == NOW + SKEW


def test_an_offset_time_is_converted_to_the_utc_zone_object() -> None:
    parsed = parse("2026-11-29T14:00:00+02:00")
    assert parsed == NOW
    assert parsed.tzinfo is UTC
