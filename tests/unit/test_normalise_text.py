"""Text normalisers: HTML → text, whitespace, truncation, fingerprints, language detection."""

from __future__ import annotations

import pytest
from inscriptis import get_text

from pipeline.resolve.dedupe import dedupe_fingerprint
from pipeline.standardise.normalise import text as text_module
from pipeline.standardise.normalise.language import MAX_SAMPLE_CHARS, detect_language
from pipeline.standardise.normalise.text import (
    MAX_HTML_CHARS,
    MAX_HTML_TAGS,
    bounded_html,
    clean_text,
    html_to_text,
    looks_like_html,
    normalise_whitespace,
    truncate,
)


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
        pytest.param("abc\u202edcba", "abcdcba", id="right-to-left-override"),
        pytest.param("\u202aa\u202bb\u202cc\u202dd", "abcd", id="embeddings-and-pdf"),
        pytest.param("\u2066a\u2067b\u2068c\u2069", "abc", id="isolates"),
        pytest.param("a\u200eb\u200fc\u061cd", "abcd", id="marks"),
        pytest.param("שלום\u200f world", "שלום world", id="rtl-text-kept"),
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
        pytest.param(
            "a" * 18 + " bcdef", 20, ("a" * 18 + " b", True), id="space-at-exactly-90-percent-kept"
        ),
        pytest.param("abcdefghi\n\nxyz", 10, ("abcdefghi", True), id="cut-ends-in-a-newline"),
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
        # py3langid's dialect codes are read as their macrolanguage.
        pytest.param(
            "佢哋喺度做緊嘢 你食咗飯未呀 我哋聽日去邊度呀", "zh", id="cantonese-yue-is-zh"
        ),
        pytest.param(
            "شنو بغيتي تدير دابا؟ واش نتا مزيان؟ بزاف ديال المشاكل",
            "ar",
            id="moroccan-ary-is-ar",
        ),
        # Exactly MIN_CHARS (12) characters are enough; a guess under 0.5 (es, 0.35) is not.
        pytest.param("where is it?", "en", id="twelve-chars-is-enough"),
        pytest.param("Muchas gracias", None, id="unconfident-es"),
        pytest.param("ok", None, id="ok-too-short"),
        pytest.param("thanks!", None, id="thanks-too-short"),
        pytest.param("          ok          ", None, id="padded-short"),
        pytest.param("", None, id="empty"),
    ],
)
def test_detect_language(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param("<p>a</p>" * 10, "<p>a</p>" * 10, id="small-unchanged"),
        pytest.param(
            "<b>x</b>" * MAX_HTML_TAGS, "<b>x</b>" * (MAX_HTML_TAGS // 2), id="cut-before-tag"
        ),
        pytest.param("x" * (MAX_HTML_CHARS + 5), "x" * MAX_HTML_CHARS, id="cut-at-chars"),
        pytest.param("<br>" * (MAX_HTML_TAGS + 1), "<br>" * MAX_HTML_TAGS, id="one-tag-too-many"),
    ],
)
def test_only_a_bounded_prefix_of_html_is_parsed(html: str, expected: str) -> None:
    assert bounded_html(html) == expected


def test_html_beyond_the_bound_is_not_in_the_text() -> None:
    html = "<p>kept</p>" + "<br>" * MAX_HTML_TAGS + "<p>dropped</p>"
    assert clean_text(html) == "kept"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            "<table><tr><th>Order</th><th>Status</th></tr>"
            "<tr><td>A-1</td><td>lost<br>again</td></tr></table>",
            "Order Status\nA-1 lost\nagain",
            id="rows-as-lines",
        ),
        pytest.param(
            "<p>Hi</p><table><tr><td>x</td></tr></table><p>Bye</p>", "Hi\n\nx\n\nBye", id="between"
        ),
        pytest.param("<table><tr>" + "<td>c</td>" * 5, "c c c c c", id="unclosed-wide-row"),
    ],
)
def test_tables_are_rows_of_cells(html: str, expected: str) -> None:
    assert normalise_whitespace(html_to_text(html)) == expected


def test_language_is_detected_on_the_start_of_the_text() -> None:
    english = "The delivery was late again and nobody answered my emails. " * 40
    german = "Meine Bestellung ist immer noch nicht angekommen und niemand antwortet. " * 400
    assert len(english) >= MAX_SAMPLE_CHARS
    assert detect_language(english[:MAX_SAMPLE_CHARS] + german) == "en"
    assert detect_language(" " * MAX_SAMPLE_CHARS + german) is None


def test_the_table_layout_is_a_row_per_line_with_cells_space_separated() -> None:
    """Built from ``_flat_tables`` at call time: the module's own copy is made at import, before
    a test (or a mutation tool) could look, so this checks the profile itself."""
    html = (
        "<p>Hi</p><table><caption>Orders</caption>"
        "<thead><tr><th>id</th><th>state</th></tr></thead>"
        "<tbody><tr><td>1</td><td>lost</td></tr><tr><td>22222</td><td>found it</td></tr></tbody>"
        "<tfoot><tr><td>total</td><td>2</td></tr></tfoot></table><p>Bye</p>"
    )
    # Cells of other widths stay unpadded: no column layout (two rows share a ``tbody``).
    expected = "Hi\n\nOrders\nid state\n1 lost\n22222 found it\ntotal 2\n\nBye\n"
    assert get_text(html, text_module._flat_tables()) == expected
    assert html_to_text(html) == expected


def test_tags_after_the_character_bound_do_not_count() -> None:
    html = "a" * MAX_HTML_CHARS + "<b>" * (MAX_HTML_TAGS + 1)
    assert bounded_html(html) == "a" * MAX_HTML_CHARS
