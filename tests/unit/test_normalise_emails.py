"""Email normalisers: address parsing (IDNA, case, invisible characters) and latest-reply
extraction, including the bounds that keep crafted bodies cheap."""

from __future__ import annotations

import pytest

from pipeline.standardise.normalise.emails import (
    MAX_HEADER_CANDIDATES,
    MAX_HEADER_LINE_CHARS,
    MAX_REPLY_PARSE_CHARS,
    Address,
    latest_reply,
    normalise_address,
    parse_address,
)


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
        pytest.param("ana@bücher.example", ("ana@xn--bcher-kva.example", None), id="idn-u-label"),
        pytest.param(
            "ana@XN--BCHER-KVA.example", ("ana@xn--bcher-kva.example", None), id="idn-a-label"
        ),
        pytest.param("ana@BÜCHER.Example", ("ana@xn--bcher-kva.example", None), id="idn-upper"),
        pytest.param(
            "ana@bücher\u3002example", ("ana@xn--bcher-kva.example", None), id="ideographic-dot"
        ),
        pytest.param("Straße@Example.de", ("straße@example.de", None), id="sharp-s-kept"),
        pytest.param("STRASSE@example.de", ("strasse@example.de", None), id="ss-lower-cased"),
        pytest.param("ÉLODIE@example.fr", ("élodie@example.fr", None), id="unicode-local-lower"),
        pytest.param("ana@mail_server.example", ("ana@mail_server.example", None), id="ascii-kept"),
    ],
)
def test_normalise_address(raw: str, expected: tuple[str | None, str | None]) -> None:
    assert normalise_address(raw) == expected


def test_idna_and_straße_rules() -> None:
    """One address however its domain is written; ß and ss stay two mailboxes."""
    assert normalise_address("ana@xn--bcher-kva.example") == normalise_address("ana@bücher.example")
    assert normalise_address("straße@x.example") != normalise_address("strasse@x.example")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        pytest.param("an\u200ba@example.com", "U+200B ZERO WIDTH SPACE", id="zero-width-space"),
        pytest.param("ana@exa\u200dmple.com", "U+200D ZERO WIDTH JOINER", id="zero-width-joiner"),
        pytest.param("\ufeffana@example.com", "U+FEFF ZERO WIDTH NO-BREAK SPACE", id="bom"),
        pytest.param("ana\u202e@example.com", "U+202E RIGHT-TO-LEFT OVERRIDE", id="rlo"),
        pytest.param("ana\u2066@example.com", "U+2066 LEFT-TO-RIGHT ISOLATE", id="lri"),
        pytest.param("ana@example.com\u200e", "U+200E LEFT-TO-RIGHT MARK", id="lrm"),
        pytest.param("an\u00ada@example.com", "U+00AD SOFT HYPHEN", id="soft-hyphen"),
        pytest.param("an\u00a0a@example.com", "U+00A0 NO-BREAK SPACE", id="no-break-space"),
        pytest.param("Ana <an\u2060a@example.com>", "U+2060 WORD JOINER", id="in-brackets"),
    ],
)
def test_invisible_characters_reject_the_address(raw: str, problem: str) -> None:
    parsed = parse_address(raw)
    assert parsed.address is None
    assert parsed.problem == f"has an invisible character ({problem})"


def test_invalid_idn_is_rejected() -> None:
    assert parse_address("ana@xn--zz-.example") == (
        None,
        None,
        "has an invalid internationalised domain 'xn--zz-.example'",
    )


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


# -- bounded parsing -------------------------------------------------------------------------------
HEADER = "On Mon, 23 Nov 2026 at 10:00, Support <support@shop.example> wrote:"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "On Mon wrote " * 19_000, ("On Mon wrote " * 19_000).strip(), id="on-mon-wrote"
        ),
        pytest.param("a" + " " * 240_000 + "b\n> x", "a b\n> x", id="spaces"),
        pytest.param("Am " * 20_000, ("Am " * 20_000).strip(), id="am-am-am"),
        pytest.param("a" + "\n" * 120_000 + "b", "a\n\nb", id="blank-lines"),
    ],
)
def test_hostile_bodies_keep_their_text(body: str, expected: str) -> None:
    """The inputs that froze a worker: nothing looks like a header, so the text stays whole."""
    assert latest_reply(body) == expected


def test_only_the_parse_prefix_is_searched_for_quotes() -> None:
    reply = "\n".join(f"line {i} of a long reply" for i in range(MAX_REPLY_PARSE_CHARS // 10))
    body = f"{reply}\n\n{HEADER}\n> quoted"
    assert len(reply) > MAX_REPLY_PARSE_CHARS
    assert latest_reply(body) == body  # the header lies beyond the prefix: kept, unparsed
    short = "\n".join(reply.split("\n")[:50])
    assert latest_reply(f"{short}\n\n{HEADER}\n> quoted") == short


def test_a_reply_ended_inside_the_prefix_drops_everything_after() -> None:
    tail = "\n".join(f"> old line {i}" for i in range(MAX_REPLY_PARSE_CHARS // 10))
    assert latest_reply(f"Where is my parcel?\n\n{HEADER}\n{tail}") == "Where is my parcel?"


def test_long_lines_are_content_never_headers_or_signatures() -> None:
    long_header = HEADER.replace("Support", "S" * MAX_HEADER_LINE_CHARS)
    assert latest_reply(f"Hi\n{long_header}\n> quoted") == f"Hi\n{long_header}\n> quoted"
    long_dash = "- " + "x" * MAX_HEADER_LINE_CHARS
    assert latest_reply(f"Hi\n{long_dash}") == f"Hi\n{long_dash}"
    assert latest_reply("Hi\n- Ana") == "Hi"  # a short one still is a signature


def test_header_lines_need_a_colon_ending_and_one_or_two_verbs() -> None:
    assert latest_reply("Hi\nOn Monday you wrote me twice\nthanks") == (
        "Hi\nOn Monday you wrote me twice\nthanks"
    )
    assert latest_reply(f"Hi\n{HEADER}\n> quoted") == "Hi"
    wrapped = "On Mon, 23 Nov 2026 at 10:00, Support <support@shop.example>\nwrote:"
    assert latest_reply(f"Hi\n{wrapped}\n> quoted") == "Hi"
    many = "On Mon wrote wrote wrote wrote:"
    assert latest_reply(f"Hi\n{many}\n> quoted") == f"Hi\n{many}\n> quoted"


def test_only_the_first_header_candidates_are_parsed() -> None:
    fake = [f"On day {i} the courier wrote a note:" for i in range(MAX_HEADER_CANDIDATES + 1)]
    body = "\n".join(["Hi", *fake[:MAX_HEADER_CANDIDATES], "text", fake[-1], "> quoted"])
    kept = latest_reply(body)
    assert kept.startswith("Hi")
    assert fake[-1] in kept  # the candidate past the limit is content


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("a" * 400, Address(None, None, "is not an address"), id="400-chars-parsed"),
        pytest.param(
            "a" * 401, Address(None, None, "is longer than 400 characters"), id="401-chars-refused"
        ),
        pytest.param("Ana <ana>", Address(None, "Ana", "is not an address"), id="no-domain"),
        pytest.param('"a b"@example.org', Address(None, None, "is not an address"), id="space"),
        pytest.param(
            '"a@b"@bücher.example',
            Address('"a@b"@xn--bcher-kva.example', None),
            id="idn-domain-after-the-last-at",
        ),
        pytest.param(
            "Ana <ana\u200b@example.org>",
            Address(None, "Ana", "has an invisible character (U+200B ZERO WIDTH SPACE)"),
            id="zero-width-space",
        ),
        pytest.param(
            "Ana <ana\x01@example.org>",
            Address(None, "Ana", "has an invisible character (U+0001 unnamed)"),
            id="control-without-a-name",
        ),
        pytest.param(
            "Ana <ana@xn--a.example>",
            Address(None, "Ana", "has an invalid internationalised domain 'xn--a.example'"),
            id="invalid-a-label",
        ),
        pytest.param(
            "ana@xn--" + "a" * 70 + ".org",
            Address(None, None, f"has an invalid internationalised domain {'xn--' + 'a' * 60!r}"),
            id="invalid-domain-shown-to-64-chars",
        ),
        pytest.param(
            "Ana <ana@localhost>", Address(None, "Ana", "is not an address"), id="no-dot-in-domain"
        ),
        pytest.param(
            "ana@straße.example",
            Address("ana@xn--strae-oqa.example", None),
            id="eszett-kept-not-transitional",
        ),
    ],
)
def test_parse_address_gives_the_address_the_name_and_why_not(raw: str, expected: Address) -> None:
    assert parse_address(raw) == expected


def test_a_signature_ends_the_reply_even_when_the_body_runs_past_the_parse_bound() -> None:
    body = "Thanks, found it.\n\n-- \nAna Lopez\n" + ("x " * 1000 + "\n") * 10
    assert latest_reply(body) == "Thanks, found it."


def test_a_reply_header_ending_exactly_at_the_parse_bound_is_parsed() -> None:
    """The first line plus its newline plus the header fill the bound to the character."""
    header = "On Mon, 1 Jan 2024 at 10:00, Bob <bob@example.org> wrote:"
    first = "a" * (MAX_REPLY_PARSE_CHARS - 1 - len(header))
    assert latest_reply(f"{first}\n{header}\n> the old message") == first
