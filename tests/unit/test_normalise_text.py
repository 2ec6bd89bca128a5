"""Text normalisers: HTML → text, whitespace, truncation, fingerprints, language detection."""

from __future__ import annotations

import pytest

from pipeline.normalise.language import detect_language
from pipeline.normalise.text import clean_text, dedupe_fingerprint, looks_like_html, truncate


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            "<p>Hello &amp; <b>world</b><br>line2</p>", "Hello & world\nline2", id="paragraph-br"
        ),
        pytest.param(
            'See <a href="https://x.example/help">the help page</a> now',
            "See the help page now",
            id="link",
        ),
        pytest.param("<ul><li>one</li><li>two</li></ul>", "* one\n* two", id="unordered-list"),
        pytest.param("<ol><li>one</li><li>two</li></ol>", "1. one\n2. two", id="ordered-list"),
        pytest.param("Hello&nbsp;&nbsp;world", "Hello world", id="nbsp-entities"),
        pytest.param("5 &lt; 6", "5 < 6", id="entity-only"),
        pytest.param("<p>para1</p><p>para2</p>", "para1\n\npara2", id="paragraphs"),
        pytest.param("<div>a</div><div>b</div>", "a\nb", id="divs"),
        pytest.param("<script>alert(1)</script>hi", "hi", id="script-dropped"),
    ],
)
def test_clean_text_html(raw: str, expected: str) -> None:
    assert looks_like_html(raw)
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("**bold** and _it_ and `code`\n- item\n- item2", id="emphasis-and-list"),
        pytest.param("# Title\n\n[link](https://x.example)", id="heading-and-link"),
        pytest.param("Tom & Jerry", id="bare-ampersand"),
        pytest.param("x < y and y > z", id="spaced-comparisons"),
    ],
)
def test_clean_text_leaves_markdown_and_plain_text_alone(raw: str) -> None:
    assert clean_text(raw) == raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("a\tb\t\tc", "a b c", id="tabs"),
        pytest.param("a  \u00a0 b", "a b", id="nbsp-and-spaces"),
        pytest.param("line1\r\nline2", "line1\nline2", id="crlf"),
        pytest.param("Hello\r\n\r\n\r\nWorld", "Hello\n\nWorld", id="crlf-blank-lines"),
        pytest.param("line1\rline2", "line1\nline2", id="lone-cr"),
        pytest.param("line1\r\nline2\rline3", "line1\nline2\nline3", id="mixed-line-endings"),
        pytest.param("a\n\n\n\nb", "a\n\nb", id="multiple-blank-lines"),
        pytest.param("a\n \n\t\nb", "a\n\nb", id="whitespace-only-lines"),
        pytest.param("a\x00b\x07c\x1bd\x7fe", "abcde", id="control-chars"),
        pytest.param("  padded  \n", "padded", id="outer-whitespace"),
        pytest.param("cafe\u0301", "caf\u00e9", id="nfc"),
        pytest.param("", "", id="empty"),
    ],
)
def test_clean_text_whitespace(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        pytest.param("hello world", 11, ("hello world", False), id="exact-limit"),
        pytest.param("hello world", 20, ("hello world", False), id="under-limit"),
        pytest.param("", 5, ("", False), id="empty"),
        pytest.param("abcdefghijklmnop", 10, ("abcdefghij", True), id="no-space-hard-cut"),
        pytest.param(
            "abcdefghij klmno", 15, ("abcdefghij klmn", True), id="space-too-early-hard-cut"
        ),
        pytest.param(
            " ".join(["word"] * 30),
            100,
            (" ".join(["word"] * 20), True),
            id="word-boundary",
        ),
        pytest.param(
            "a" * 50 + " " + "b" * 60, 100, ("a" * 50 + " " + "b" * 49, True), id="far-space"
        ),
    ],
)
def test_truncate(text: str, limit: int, expected: tuple[str, bool]) -> None:
    result = truncate(text, limit)
    assert result == expected
    assert len(result[0]) <= limit


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("Hello World", "hello world", id="case"),
        pytest.param("  hello\t\tworld\n", "hello world", id="whitespace"),
        pytest.param("STRASSE", "straße", id="casefold"),
    ],
)
def test_dedupe_fingerprint_equal(a: str, b: str) -> None:
    assert dedupe_fingerprint(a) == dedupe_fingerprint(b)


def test_dedupe_fingerprint_value() -> None:
    assert dedupe_fingerprint("  Hello   WORLD\n\tfoo ") == "hello world foo"
    assert dedupe_fingerprint("hello world") != dedupe_fingerprint("hello, world")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("The delivery was late again and nobody answered my emails.", "en", id="en"),
        pytest.param("Mi pedido no ha llegado y nadie responde a mis correos.", "es", id="es"),
        pytest.param(
            "Ma commande n'est toujours pas arrivée et personne ne répond.", "fr", id="fr"
        ),
        pytest.param(
            "Meine Bestellung ist immer noch nicht angekommen und niemand antwortet.",
            "de",
            id="de",
        ),
        pytest.param("ok", None, id="ok-too-short"),
        pytest.param("thanks!", None, id="thanks-too-short"),
        pytest.param("          ok          ", None, id="padded-short"),
        pytest.param("", None, id="empty"),
    ],
)
def test_detect_language(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected
