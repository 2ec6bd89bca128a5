"""Email normalisers: address parsing/case-folding and latest-reply extraction."""

from __future__ import annotations

import pytest

from pipeline.normalise.emails import latest_reply, normalise_address


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            "Ana Lopez <Ana.Lopez+vip@Example.COM>",
            ("ana.lopez+vip@example.com", "Ana Lopez"),
            id="name-and-address-plus-tag-kept",
        ),
        pytest.param(
            '"Lopez, Ana" <ana@example.com>', ("ana@example.com", "Lopez, Ana"), id="quoted"
        ),
        pytest.param("Bob@Example.org", ("bob@example.org", None), id="bare-address"),
        pytest.param("<ANA@EXAMPLE.COM>", ("ana@example.com", None), id="angle-brackets-only"),
        pytest.param("  bob@example.org  ", ("bob@example.org", None), id="surrounding-spaces"),
        pytest.param("garbage", (None, None), id="garbage"),
        pytest.param("", (None, None), id="empty"),
        pytest.param("<>", (None, None), id="empty-brackets"),
        pytest.param("@example.com", (None, None), id="no-local-part"),
        pytest.param("ana@", (None, None), id="no-domain"),
        pytest.param("foo@bar", (None, None), id="dotless-domain"),
        pytest.param("Ana <ana@localhost>", (None, "Ana"), id="dotless-domain-keeps-name"),
    ],
)
def test_normalise_address(raw: str, expected: tuple[str | None, str | None]) -> None:
    assert normalise_address(raw) == expected


ON_WROTE = (
    "Hi team,\n\nMy order still has not arrived. Can you check?\n\n"
    "On Mon, 23 Nov 2026 at 10:00, Support <support@shop.example> wrote:\n"
    "> Thanks for contacting us.\n> We will get back to you.\n"
)
SIGNATURE = "The refund never arrived, please help.\n\n-- \nAna Lopez\nSenior Buyer, Example Corp\n"
SIGN_OFF = (
    "The app crashes every time I open the basket.\n\nBest regards,\nAna\n\nSent from my iPhone"
)
GERMAN = (
    "Hallo,\n\nmeine Bestellung ist immer noch nicht angekommen.\n\n"
    "Am 23.11.2026 um 10:00 schrieb Support <support@shop.example>:\n"
    "> Vielen Dank für Ihre Nachricht.\n> Wir melden uns.\n"
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            ON_WROTE, "Hi team,\n\nMy order still has not arrived. Can you check?", id="on-wrote"
        ),
        pytest.param(SIGNATURE, "The refund never arrived, please help.", id="dash-dash-signature"),
        pytest.param(
            SIGN_OFF, "The app crashes every time I open the basket.", id="sign-off-and-iphone"
        ),
        pytest.param(
            GERMAN,
            "Hallo,\n\nmeine Bestellung ist immer noch nicht angekommen.",
            id="german-am-schrieb",
        ),
        pytest.param(
            "Just a quick question about my invoice number 4711.",
            "Just a quick question about my invoice number 4711.",
            id="no-quote-unchanged",
        ),
        pytest.param("Line one.\n\nLine two.", "Line one.\n\nLine two.", id="multi-paragraph"),
        pytest.param("", "", id="empty"),
        pytest.param("  \n\t ", "", id="whitespace-only"),
    ],
)
def test_latest_reply(body: str, expected: str) -> None:
    assert latest_reply(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(ON_WROTE, id="on-wrote"),
        pytest.param(GERMAN, id="german"),
    ],
)
def test_latest_reply_drops_every_quoted_line(body: str) -> None:
    kept = latest_reply(body)
    assert ">" not in kept
    assert "wrote" not in kept
    assert "schrieb" not in kept
