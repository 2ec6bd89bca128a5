"""``cxstream audit``: the fairness audit of a scoring model (docs/fairness.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.group import command_settings, fail

EXIT_THRESHOLD_EXCEEDED = 1
EXIT_BAD_INPUT = 2


def audit(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole report as one JSON object.")
    ] = False,
    model_dir: Annotated[
        Path | None,
        typer.Option(
            "--model",
            "--model-dir",
            help="Model directory to audit (env CXSTREAM_MODEL_DIR; default: bundled).",
        ),
    ] = None,
    thresholds: Annotated[
        Path | None,
        typer.Option(
            "--thresholds",
            help="Thresholds YAML (default: the bundled data/audit/thresholds.yaml).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of every bootstrap resampling.")] = 13,
) -> None:
    """Fairness audit: score template sentences that differ only in a gendered word, a first
    name or a dialect's phrasing, plus the labelled CX set by channel and language; report
    every gap with its bootstrap confidence interval.

    A gap exceeds its threshold when the lower end of the confidence interval of |gap| is above
    it. Exit status: 0 no threshold exceeded, 1 a threshold exceeded, 2 the model or the
    thresholds file could not be read.
    """
    from pipeline.fairness.audit import run_audit
    from pipeline.fairness.gate import (
        ThresholdsFileError,
        default_thresholds_file,
        load_thresholds,
        shown_path,
    )
    from pipeline.fairness.report import render_text
    from pipeline.scoring.evaluate import EVAL_BUCKET
    from pipeline.scoring.scorer import Scorer

    settings = command_settings(model_dir=model_dir)
    path = thresholds if thresholds is not None else default_thresholds_file()
    try:
        limits = load_thresholds(path)
        scorer = Scorer(settings.model_dir, threads=settings.onnx_threads, bucket_size=EVAL_BUCKET)
    except (ThresholdsFileError, ValueError, OSError) as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from exc
    card = scorer.card
    report = run_audit(
        scorer,
        limits,
        seed=seed,
        model={"name": card.name, "version": card.version, "sha256": card.sha256},
        thresholds_file=shown_path(path),
    )
    typer.echo(json.dumps(report.model_dump(mode="json")) if as_json else render_text(report))
    if not report.passed:
        raise typer.Exit(EXIT_THRESHOLD_EXCEEDED)
