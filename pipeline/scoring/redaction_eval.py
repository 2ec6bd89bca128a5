"""``cxstream models eval --redaction-compare``: the model's numbers on raw and on redacted text.

The stream scores redacted text (the standardise stage redacts before anything is scored), so
the evaluation sets are run twice, once as written and once through the same
:class:`~pipeline.privacy.redact.Redactor` the worker uses, and printed side by side. How many
texts redaction changed is printed too: public sets hold little personal data, so an unchanged
number can mean "no effect" or "nothing to redact", and the count tells which.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.privacy.redact import Redactor
from pipeline.scoring.evaluate import evaluate

SKIPPED = {"model", "version", "limit", "sequences_per_second"}


class CountingRedactor:
    """A text view that redacts and counts what it changed (texts, and values by type)."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.texts = 0
        self.changed = 0
        self.values: Counter[str] = Counter()

    def __call__(self, text: str) -> str:
        redacted, counts = self.redactor.redact(text)
        self.texts += 1
        self.changed += bool(counts)
        self.values.update(counts)
        return redacted


def compare(
    model_dir: Path,
    redactor: Redactor,
    progress: Callable[[str], None] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """``{"raw": metrics, "redacted": metrics, "redaction": {...}}`` for ``model_dir``;
    ``options`` go to :func:`~pipeline.scoring.evaluate.evaluate` (data_dir, limit, threads)."""
    say = progress or (lambda _: None)
    say("raw text …")
    raw = evaluate(model_dir, progress=progress, **options)
    view = CountingRedactor(redactor)
    say(f"redacted text ({', '.join(t.value for t in redactor.types) or 'no types'}) …")
    redacted = evaluate(model_dir, progress=progress, text_view=view, **options)
    return {
        "raw": raw,
        "redacted": redacted,
        "redaction": {
            "types": [t.value for t in redactor.types],
            "texts_scored": view.texts,
            "texts_changed": view.changed,
            "values": dict(view.values),
        },
    }


def render_compare(result: dict[str, Any]) -> str:
    """The metrics on raw and redacted text side by side, with the difference."""
    raw, redacted, how = result["raw"], result["redacted"], result["redaction"]
    lines = [
        f"{raw['model']} {raw['version']}: raw vs redacted text",
        f"{'metric':<40} {'raw':>8} {'redacted':>9} {'change':>8}",
    ]
    for key, value in raw.items():
        if key in SKIPPED or key.startswith("vader_") or not isinstance(value, float):
            continue
        other = redacted.get(key)
        if not isinstance(other, float):
            continue
        lines.append(f"{key:<40} {value:>8.4f} {other:>9.4f} {other - value:>+8.4f}")
    values = ", ".join(f"{k} {v}" for k, v in sorted(how["values"].items())) or "none"
    lines.append(
        f"redaction changed {how['texts_changed']} of {how['texts_scored']} texts the model read "
        f"(values replaced: {values})"
    )
    if raw.get("limit"):
        lines.append(f"(quick run: at most {raw['limit']} examples per set)")
    return "\n".join(lines)
