"""Free text: HTML to text, whitespace normalisation, truncation."""

from __future__ import annotations

import re
import unicodedata

from inscriptis import get_text

# HTML when it has a closing tag, a void tag or an entity; a lone "<b and c>" in prose is not.
_HTML_HINT = re.compile(
    r"</\s*[a-zA-Z][a-zA-Z0-9]*\s*>"
    r"|<\s*(?:br|hr|img|p|div)\b[^<>]*/?>"
    r"|&(?:[a-zA-Z]{2,8}|#\d{1,6}|#x[0-9a-fA-F]{1,6});"
)
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_CONTROL = {c for c in map(chr, range(32)) if c not in "\n\t"} | {"\x7f"}


def looks_like_html(text: str) -> bool:
    """True when the text contains tags or character entities."""
    return _HTML_HINT.search(text) is not None


def html_to_text(html: str) -> str:
    """Readable text of an HTML fragment (tags removed, entities decoded, block layout kept)."""
    return str(get_text(html))


def normalise_whitespace(text: str) -> str:
    """NFC-normalise, drop control characters, collapse runs of spaces and blank lines."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch not in _CONTROL)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
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


def dedupe_fingerprint(text: str) -> str:
    """Text reduced for near-duplicate comparison: case-folded, whitespace collapsed."""
    return " ".join(text.casefold().split())
