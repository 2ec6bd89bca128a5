"""Free text: HTML to text, whitespace normalisation, truncation."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.html_properties import Display
from inscriptis.model.config import ParserConfig
from inscriptis.model.html_element import HtmlElement
from inscriptis.model.tag import CustomHtmlTagHandlerMapping

# HTML when it has a closing tag, a void tag or an entity; a lone "<b and c>" in prose is not.
_HTML_HINT = re.compile(
    r"</\s*[a-zA-Z][a-zA-Z0-9]*\s*>"
    r"|<\s*(?:br|hr|img|p|div)\b[^<>]*/?>"
    r"|&(?:[a-zA-Z]{2,8}|#\d{1,6}|#x[0-9a-fA-F]{1,6});"
)
_SPACES = re.compile(r"[^\S\n]{2,}|[^\S \n]")
"""Runs of whitespace other than newlines, and any single one that is not a plain space."""
_BLANK_LINES = re.compile(r"\n\s*\n+")
_CONTROL = {c for c in map(chr, range(32)) if c not in "\n\t"} | {"\x7f"}
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f" + "".join(map(chr, range(0x202A, 0x202F))) + "\u2066\u2067\u2068\u2069"
)
"""Bidirectional formatting characters (ALM, LRM, RLM, LRE…RLO, LRI…PDI): they reorder what a
reader sees (an RLO makes "gnp.exe" look like "exe.png") and carry no meaning for analysis."""
_DROPPED = dict.fromkeys(map(ord, _CONTROL | BIDI_CONTROLS))
MAX_HTML_CHARS = 65_536
"""HTML beyond this many characters is not parsed: the newest reply is at the top (64 KiB leaves
room for the <head> and <style> blocks that mail clients put before it)."""
MAX_HTML_TAGS = 2_000
"""HTML is cut before its 2,001st tag: rendering costs ~10-40 µs a tag, so this bounds the time
(~40 ms worst, docs/reliability.md) while leaving hundreds of paragraphs of a real email."""


def looks_like_html(text: str) -> bool:
    """True when the text contains tags or character entities."""
    return _HTML_HINT.search(text) is not None


def html_to_text(html: str) -> str:
    """Readable text of an HTML fragment (tags removed, entities decoded, block layout kept).

    Only the first :data:`MAX_HTML_CHARS` characters and :data:`MAX_HTML_TAGS` tags are read,
    and tables are laid out as rows of cells, not as aligned columns: inscriptis' column layout
    takes time that grows with the square of a row's cells (2,000 cells: 180 ms).
    """
    return str(get_text(bounded_html(html), _HTML_CONFIG))


def bounded_html(html: str) -> str:
    """The part of ``html`` that is parsed: cut at the tag or character limit, whichever first."""
    end = min(len(html), MAX_HTML_CHARS)
    tag = -1
    for _ in range(MAX_HTML_TAGS + 1):
        tag = html.find("<", tag + 1, end)
        if tag < 0:
            return html[:end]
    return html[:tag]


def _flat_tables() -> ParserConfig:
    """Inscriptis' relaxed profile with tables as blocks: a row per line, cells space-separated."""
    css = dict(CSS_PROFILES["relaxed"])
    for tag in ("table", "caption", "thead", "tbody", "tfoot", "tr"):
        css[tag] = HtmlElement(display=Display.block)
    for tag in ("td", "th"):
        css[tag] = HtmlElement(display=Display.inline, suffix=" ")
    tags = ("table", "tr", "td", "th")
    return ParserConfig(
        css=css,
        custom_html_tag_handler_mapping=CustomHtmlTagHandlerMapping(
            start_tag_mapping=dict.fromkeys(tags, _ignore_start),
            end_tag_mapping=dict.fromkeys(tags, _ignore_end),
        ),
    )


def _ignore_start(state: Any, attributes: dict[str, str]) -> None:
    """No table layout for a start tag (its CSS display does the work)."""


def _ignore_end(state: Any) -> None:
    """No table layout for an end tag."""


_HTML_CONFIG = _flat_tables()


def normalise_whitespace(text: str) -> str:
    """NFC-normalise, drop control and bidi characters, collapse runs of spaces and blank lines."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_DROPPED)
    lines = [line.strip() for line in _SPACES.sub(" ", text).split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def clean_text(raw: str) -> str:
    """HTML (when present) to text, then whitespace normalised."""
    return normalise_whitespace(html_to_text(raw) if looks_like_html(raw) else raw)


def truncate(text: str, max_chars: int) -> tuple[str, bool]:
    """``(text, truncated)``: at most ``max_chars`` characters, cut at a word boundary if near."""
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    space = cut.rfind(" ")
    if space > max_chars * 0.9:
        cut = cut[:space]
    return cut.rstrip(), True
