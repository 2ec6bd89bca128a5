"""``cxstream models eval --redaction-compare``: raw and redacted numbers side by side."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.privacy.redact import Redactor
from pipeline.scoring.redaction_eval import CountingRedactor, render_compare


def test_the_view_redacts_and_counts() -> None:
    view = CountingRedactor(Redactor())
    assert view("card 4111 1111 1111 1111") == "card [CARD]"
    assert view("nothing here") == "nothing here"
    assert (view.texts, view.changed, dict(view.values)) == (2, 1, {"card": 1})


def test_render_puts_both_numbers_and_the_change_on_one_line() -> None:
    raw = {"model": "m", "version": "1", "sst2_dev_accuracy": 0.9, "limit": None}
    redacted = raw | {"sst2_dev_accuracy": 0.85}
    how = {"types": ["card"], "texts_scored": 10, "texts_changed": 2, "values": {"card": 3}}
    text = render_compare({"raw": raw, "redacted": redacted, "redaction": how})
    assert "sst2_dev_accuracy                          0.9000    0.8500  -0.0500" in text
    assert "redaction changed 2 of 10 texts the model read (values replaced: card 3)" in text


def test_the_cli_runs_both_evaluations_on_a_quick_limit() -> None:
    result = CliRunner().invoke(
        app, ["models", "eval", "--redaction-compare", "--limit", "8", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(out) == {"raw", "redacted", "redaction"}
    assert out["raw"]["limit"] == out["redacted"]["limit"] == 8
    measured = {k for k, v in out["raw"].items() if isinstance(v, float)}
    assert "sst2_dev_accuracy" in measured and measured <= set(out["redacted"])
    assert out["redaction"]["texts_scored"] >= 8 * 5  # every set went through the redactor
