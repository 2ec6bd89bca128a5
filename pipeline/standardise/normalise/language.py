"""Offline language identification with py3langid."""

from __future__ import annotations

from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

MIN_CONFIDENCE = 0.5
MIN_CHARS = 12
MAX_SAMPLE_CHARS = 2_000
"""Only the start of a text is classified: 2,000 characters give a confident guess, and the cost
(linear, ~0.15 ms a 1,000 characters) stays the same whatever ``max_text_chars`` is."""
_MACRO = {"ary": "ar", "arz": "ar", "wuu": "zh", "yue": "zh"}
"""py3langid's ISO 639-3 dialect codes whose ISO 639-1 macrolanguage is unambiguous."""


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``, or None when it is too short or the guess is not confident."""
    sample = text[:MAX_SAMPLE_CHARS]
    if len(sample.strip()) < MIN_CHARS:
        return None
    code, confidence = _identifier().classify(sample)
    code = _MACRO.get(code, code)
    # The model also knows languages with no ISO 639-1 code (e.g. "zxx", "grc"): None for those.
    return str(code) if confidence >= MIN_CONFIDENCE and len(code) == 2 else None
