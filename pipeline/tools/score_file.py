"""``cxstream score``: JSONL or plain lines in, the same scores the stream produces out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from pipeline.scoring.scorer import Scorer
from pipeline.standardise.normalise.text import clean_text


def _parse(line: str) -> tuple[dict[str, Any], str | None]:
    """``(record, error)``: a JSON object with ``text``, or a plain line taken as the text."""
    stripped = line.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
            # Out again as strict UTF-8 JSON: NaN/Infinity (or 1e400), lone "\\ud800" escapes and
            # deep nesting are not, so such a line is taken as plain text, like invalid JSON.
            json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (ValueError, RecursionError):
            return {"text": stripped}, None
        if not isinstance(data, dict):
            return {"line": stripped}, "not a JSON object"
        if not isinstance(data.get("text"), str):
            return data, "no string 'text' field"
        return data, None
    return {"text": stripped}, None


def score_lines(lines: Iterable[str], scorer: Scorer, *, batch_size: int = 64) -> Iterator[str]:
    """One output JSON line per non-blank input line, in order; unscorable lines say why."""
    pending: list[tuple[dict[str, Any], str | None, str]] = []

    def flush() -> Iterator[str]:
        texts = [clean for _, error, clean in pending if error is None and clean]
        results = iter(scorer.score(texts))
        for record, error, clean in pending:
            out = dict(record)
            if error is None and clean:
                scored = next(results)
                out["scores"] = scored.scores.model_dump(mode="json")
                out["ai"] = scored.ai.model_dump(mode="json")
            else:
                out["error"] = error or "empty text"
            yield json.dumps(out, ensure_ascii=False)
        pending.clear()

    for line in lines:
        if not line.strip():
            continue
        record, error = _parse(line)
        clean = clean_text(record["text"]) if error is None else ""
        pending.append((record, error, clean))
        if len(pending) >= batch_size:
            yield from flush()
    if pending:
        yield from flush()
