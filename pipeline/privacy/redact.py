"""Redaction: personal data in a text replaced by typed placeholders, with counts per type.

``Redactor(types, region).redact(text)`` → ``Redacted(text, counts)``: the text with every
found value replaced by its placeholder (``[EMAIL]``, ``[IBAN]``, ``[CARD]``, ``[ACCOUNT]``,
``[PHONE]``) and ``{type: count}`` (never the values). Types are searched in
:data:`~pipeline.privacy.types.ORDER`; what each finder accepts is in
:mod:`pipeline.privacy.finders`. Addresses and person names are not found (docs/privacy.md says
why): no offline library finds them reliably at stream speed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from pipeline.privacy.finders import Finder, Span, finders
from pipeline.privacy.types import ORDER, PiiType, parse_types
from pipeline.settings import Settings


class Redacted(NamedTuple):
    """A redacted text and how many values of each type were replaced (types found only)."""

    text: str
    counts: dict[str, int]


def _replace(text: str, spans: list[Span], placeholder: str) -> tuple[str, int]:
    """``text`` with ``spans`` replaced, and how many were (overlapping ones count once)."""
    parts, last, count = [], 0, 0
    for start, end in sorted(spans):
        if start < last:  # overlapping candidates: the first one already covers it
            continue
        parts += [text[last:start], placeholder]
        last, count = end, count + 1
    return "".join(parts) + text[last:], count


class Redactor:
    """Finds and replaces the configured types; configured once, reused for every text."""

    def __init__(self, types: Iterable[PiiType] = ORDER, region: str = "US") -> None:
        chosen = frozenset(types)
        every = finders(region)
        self.steps: list[tuple[PiiType, Finder]] = [(t, every[t]) for t in ORDER if t in chosen]

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        """The redactor ``CXSTREAM_REDACT`` and ``CXSTREAM_DEFAULT_REGION`` describe."""
        return cls(parse_types(settings.redact), settings.default_region)

    @property
    def types(self) -> tuple[PiiType, ...]:
        """The types this redactor replaces, in search order."""
        return tuple(t for t, _ in self.steps)

    def redact(self, text: str) -> Redacted:
        """``text`` with every found value of the configured types replaced by its placeholder."""
        counts: dict[str, int] = {}
        for kind, find in self.steps:
            spans = find(text)
            if spans:
                text, counts[kind.value] = _replace(text, spans, kind.placeholder)
        return Redacted(text, counts)


def redact_text(text: str, redactor: Redactor) -> str:
    """Just the redacted text (for callers that do not keep counts, e.g. the evaluator)."""
    return redactor.redact(text).text
