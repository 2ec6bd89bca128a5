"""Scoring models: offline ``score`` and ``cxstream models`` (info, eval, export)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.cli.group import command_settings, fail

if TYPE_CHECKING:
    from pipeline.settings import Settings

ModelDir = Annotated[
    Path | None,
    typer.Option("--model-dir", help="Model directory (env CXSTREAM_MODEL_DIR; default: bundled)."),
]


def score(
    file: Annotated[
        str,
        typer.Argument(
            help="JSONL ({'text': …} per line, other fields kept) or plain lines; '-' = stdin."
        ),
    ] = "-",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default stdout).")
    ] = None,
    model_dir: ModelDir = None,
    batch_size: Annotated[int, typer.Option(help="Texts per model call.")] = 64,
) -> None:
    """Score texts offline with the same model and scores as the stream (one JSON line each)."""
    from pipeline.scoring.scorer import Scorer
    from pipeline.tools.score_file import score_lines

    settings = command_settings(model_dir=model_dir)
    try:
        scorer = Scorer(
            settings.model_dir,
            threads=settings.onnx_threads,
            bucket_size=settings.score_bucket_size,
        )
    except (ValueError, OSError) as exc:
        raise fail(str(exc)) from exc
    source = sys.stdin if file == "-" else Path(file).open(encoding="utf-8", errors="replace")  # noqa: SIM115
    sink = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        for line in score_lines(source, scorer, batch_size=batch_size):
            sink.write(line + "\n")
    finally:
        if output:
            sink.close()
        if file != "-":
            source.close()


models_app = typer.Typer(help="Inspect, evaluate and export scoring models.")


@models_app.command("info")
def models_info(model_dir: ModelDir = None) -> None:
    """Show the model card of the model the worker would load."""
    from pipeline.scoring.card import load_card

    settings = command_settings(model_dir=model_dir)
    try:
        card = load_card(settings.model_dir)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    typer.echo(json.dumps(card.model_dump(mode="json"), indent=2))


@models_app.command("eval")
def models_eval(
    model_dir: ModelDir = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Datasets directory (env CXSTREAM_DATA_DIR; ../shared/data)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(help="At most N examples per set (quick run).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    redaction_compare: Annotated[
        bool,
        typer.Option(
            "--redaction-compare",
            help="Run twice, on raw and on redacted text (CXSTREAM_REDACT), side by side.",
        ),
    ] = False,
) -> None:
    """Evaluate a model on SST-2, GoEmotions, BANKING77, CLINC150 and the project's labelled set."""
    from pipeline.scoring.evaluate import evaluate, render

    settings = command_settings(model_dir=model_dir)
    if redaction_compare:
        _eval_redaction(settings, data_dir, limit, as_json)
        return
    try:
        metrics = evaluate(
            settings.model_dir,
            data_dir=data_dir or settings.data_dir,
            limit=limit,
            threads=settings.onnx_threads,
            progress=lambda line: typer.echo(line, err=True),
        )
    except (ValueError, FileNotFoundError, LookupError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(json.dumps(metrics, sort_keys=True) if as_json else render(metrics))


def _eval_redaction(
    settings: Settings, data_dir: Path | None, limit: int | None, as_json: bool
) -> None:
    from pipeline.privacy.redact import Redactor
    from pipeline.scoring.redaction_eval import compare, render_compare

    try:
        result = compare(
            settings.model_dir,
            Redactor.from_settings(settings),
            progress=lambda line: typer.echo(line, err=True),
            data_dir=data_dir or settings.data_dir,
            limit=limit,
            threads=settings.onnx_threads,
        )
    except (ValueError, FileNotFoundError, LookupError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(json.dumps(result, sort_keys=True) if as_json else render_compare(result))


@models_app.command("export")
def models_export(
    source: Annotated[
        str, typer.Option("--from", help="Hugging Face model directory (or a cached hub id).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
    head: Annotated[
        str, typer.Option(help="Head name: sentiment, intent, emotion, …")
    ] = "sentiment",
    quantize: Annotated[bool, typer.Option(help="Dynamic int8 (per-channel) quantisation.")] = True,
) -> None:
    """Export a sequence-classification checkpoint to ONNX + tokenizer + card (needs torch:
    `make train-setup`, then `.venv-train/bin/cxstream models export …`)."""
    try:
        from pipeline.training.hf_export import export_checkpoint

        card = export_checkpoint(
            source, out, head=head, quantize=quantize, progress=lambda m: typer.echo(m, err=True)
        )
    except ImportError as exc:
        raise fail(
            f"{exc.name or exc} is missing: exporting needs the training extra "
            "(make train-setup, then use .venv-train/bin/cxstream)"
        ) from exc
    except (ValueError, OSError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(
        f"exported {card.name} {card.version} to {out} (sha256 {card.sha256[:12]}…); "
        f"serve it with CXSTREAM_MODEL_DIR={out}"
    )
