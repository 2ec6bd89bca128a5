"""``pipeline.privacy``: what each finder takes and leaves, counts, switched-off types."""

from __future__ import annotations

import pytest

from pipeline.privacy.redact import Redactor
from pipeline.privacy.types import ORDER, PiiType, parse_types
from pipeline.settings import Settings

REDACTOR = Redactor(region="US")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Write to Dana.Angry+tag@Example.com.", "Write to [EMAIL].", id="email"),
        pytest.param(
            "Pay to IBAN DE89 3704 0044 0532 0130 00 THANKS", "Pay to IBAN [IBAN] THANKS", id="iban"
        ),
        pytest.param("iban gb82west12345698765432.", "iban [IBAN].", id="iban-compact-lower"),
        pytest.param("my card 4111 1111 1111 1111 cvv 123", "my card [CARD] cvv 123", id="visa"),
        pytest.param("card 5555-5555-5555-4444 please", "card [CARD] please", id="mastercard"),
        pytest.param("amex 378282246310005", "amex [CARD]", id="amex-15-digits"),
        pytest.param(
            "account number: 12345678 and acct# 1234-5678-90",
            "account number: [ACCOUNT] and acct# [ACCOUNT]",
            id="account",
        ),
        pytest.param("call (415) 555-0132 today", "call [PHONE] today", id="us-phone"),
        pytest.param("ring +44 20 7946 0958!", "ring [PHONE]!", id="international-phone"),
    ],
)
def test_true_positives_become_placeholders(text: str, expected: str) -> None:
    assert REDACTOR.redact(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("order 4111111111111112 is late", id="non-luhn-16-digit-order-number"),
        pytest.param("ticket 79927398713", id="luhn-valid-but-11-digits"),
        pytest.param("ref 8888888888888888", id="luhn-valid-non-card-prefix"),
        pytest.param("IBAN DE89 3704 0044 0532 0130 01", id="iban-bad-check-digits"),
        pytest.param("on 2024-05-12 at 10:30", id="iso-date-time"),
        pytest.param("on 12/05/2024 14:30", id="slash-date-time"),
        pytest.param("it cost $1,299.00 (was 1499.99)", id="prices"),
        pytest.param("date 20240512 and 2025-11-03 00:00:00", id="compact-date-timestamp"),
        pytest.param("user@localhost and a@b.c0m", id="not-routable-emails"),
        pytest.param("my account was closed on 12 May", id="account-without-number"),
        pytest.param("order #123456789 and 1234567890", id="bare-digit-runs"),
    ],
)
def test_false_positives_are_left_alone(text: str) -> None:
    assert REDACTOR.redact(text) == (text, {})


def test_counts_per_type_and_never_values() -> None:
    text = (
        "Me: ana@example.com, bo@example.org. Card 4111 1111 1111 1111, "
        "IBAN GB82 WEST 1234 5698 7654 32, call (415) 555-0132 or +44 20 7946 0958."
    )
    redacted = REDACTOR.redact(text)
    assert redacted.counts == {"email": 2, "card": 1, "iban": 1, "phone": 2}
    assert redacted.text == (
        "Me: [EMAIL], [EMAIL]. Card [CARD], IBAN [IBAN], call [PHONE] or [PHONE]."
    )


def test_switched_off_types_stay() -> None:
    only_cards = Redactor({PiiType.CARD})
    text = "ana@example.com 4111 1111 1111 1111 (415) 555-0132"
    assert only_cards.redact(text) == ("ana@example.com [CARD] (415) 555-0132", {"card": 1})
    assert Redactor(()).redact(text) == (text, {})


def test_the_default_region_reads_national_numbers() -> None:
    text = "call 020 7946 0958"
    assert Redactor(region="US").redact(text).text == text
    assert Redactor(region="GB").redact(text).text == "call [PHONE]"


def test_settings_choose_the_types() -> None:
    assert Redactor.from_settings(Settings()).types == ORDER
    chosen = Redactor.from_settings(Settings(redact="phone, EMAIL"))
    assert chosen.types == (PiiType.EMAIL, PiiType.PHONE)
    assert Redactor.from_settings(Settings(redact="none")).types == ()
    assert parse_types("") == frozenset()


def test_an_unknown_type_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown redaction types address"):
        Settings(redact="email,address")


def test_the_benchmark_measures_both_ways() -> None:
    from pipeline.tools.bench.redaction import run_redaction_bench

    result = run_redaction_bench(texts=20)
    assert 0 < result["texts"] <= 20
    assert result["redact_us_per_text_with_4_values"] > 0
    assert (
        result["standardise_eps_redaction_on"] > 0 and result["standardise_eps_redaction_off"] > 0
    )
