"""``to_e164``: phone numbers in any human format become E.164, or None when invalid."""

from __future__ import annotations

import pytest

from pipeline.standardise.normalise.phones import to_e164


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        pytest.param("+44 20 7946 0958", "US", "+442079460958", id="uk-international"),
        pytest.param("+44 (0)20 7946 0958", "US", "+442079460958", id="uk-trunk-zero-bracketed"),
        pytest.param("(415) 555-0132", "US", "+14155550132", id="us-national-brackets"),
        pytest.param("415.555.0132", "US", "+14155550132", id="us-national-dots"),
        pytest.param("+1 415-555-0132", "US", "+14155550132", id="us-international"),
        pytest.param("+1 415-555-0132", "GB", "+14155550132", id="us-international-other-region"),
        pytest.param("004915112345678", "US", "+4915112345678", id="00-prefix-outside-region"),
        pytest.param("004915112345678", "DE", "+4915112345678", id="00-prefix-in-de"),
        pytest.param("0044 20 7946 0958", "US", "+442079460958", id="00-prefix-spaced"),
        pytest.param("0044 20 7946 0958", "ZZ", "+442079460958", id="00-prefix-unknown-region"),
        pytest.param("0151 12345678", "DE", "+4915112345678", id="de-national-mobile"),
        pytest.param("020 7946 0958", "GB", "+442079460958", id="gb-national"),
        pytest.param("  (415) 555-0132  ", "US", "+14155550132", id="surrounding-spaces"),
    ],
)
def test_valid_numbers_become_e164(raw: str, region: str, expected: str) -> None:
    assert to_e164(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        pytest.param("abc", "US", id="letters"),
        pytest.param("555-0132", "US", id="too-short-local"),
        pytest.param("", "US", id="empty"),
        pytest.param("   ", "US", id="blank"),
        pytest.param("+999 123", "US", id="unknown-country-code"),
        pytest.param("0151 12345678", "US", id="de-national-read-in-us"),
        pytest.param("+1 555 0000", "US", id="incomplete-us"),
    ],
)
def test_invalid_numbers_are_none(raw: str, region: str) -> None:
    assert to_e164(raw, region) is None
