"""Language codes on the wire, and the reason a text the model cannot read goes unscored.

Codes are ISO 639-1 (two letters, e.g. ``de``), checked against pycountry's copy of the
standard: a typo such as ``ge`` for German in a model card or a rules file fails when the file
loads instead of never matching a message.
"""

from __future__ import annotations

from typing import Annotated

import pycountry
from pydantic import AfterValidator

UNSUPPORTED_LANGUAGE = "unsupported_language"
"""``unscored_reason`` of a text whose detected language is not in the model card's
``languages``: the model would score it confidently and wrongly, so it is not scored and a
person who reads the language gets it (routing ``language_queues``)."""

OTHER_LANGUAGE = "other"
"""Metric label for a language value that is not an ISO 639-1 code (keeps labels bounded)."""


def is_iso639_1(code: str) -> bool:
    """True when ``code`` is an assigned two-letter ISO 639-1 language code (lower case)."""
    return len(code) == 2 and code.islower() and pycountry.languages.get(alpha_2=code) is not None


def _iso639_1(code: str) -> str:
    if not is_iso639_1(code):
        raise ValueError(f"{code!r} is not an ISO 639-1 language code (two lower-case letters)")
    return code


LanguageCode = Annotated[str, AfterValidator(_iso639_1)]
"""An ISO 639-1 code such as ``en`` or ``de``."""


def language_label(code: str | None) -> str:
    """A bounded metric label: the ISO 639-1 code, or ``other``."""
    return code if code is not None and is_iso639_1(code) else OTHER_LANGUAGE
