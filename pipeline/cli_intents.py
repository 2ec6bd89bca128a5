"""``cxstream intents``: check, fit and measure business-defined intent packs (docs/intents.md).

Registered on the main app in ``pipeline/cli.py``; heavy imports stay inside the commands so
``cxstream --help`` stays fast.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.settings import get_settings

if TYPE_CHECKING:
    from pipeline.scoring.custom_intents.classifier import Method
    from pipeline.scoring.scorer import Scorer

intents_app = typer.Typer(
    help="Business-defined intents: check, fit and measure an intent pack (docs/intents.md).",
    no_args_is_help=True,
)

PackFile = Annotated[
    str,
    typer.Argument(
        help="Pack YAML, or a bundled pack's name (retail, banking, travel).", show_default=False
    ),
]
ModelDir = Annotated[
    Path | None,
    typer.Option("--model-dir", help="Model directory (env CXSTREAM_MODEL_DIR; default: bundled)."),
]
MethodOption = Annotated[
    str, typer.Option("--method", help="Classifier: logistic (default) or centroid.")
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def _say(line: str) -> None:
    typer.echo(line, err=True)


def _method(value: str) -> Method:
    from pipeline.scoring.custom_intents.classifier import METHODS

    for method in METHODS:
        if value == method:
            return method
    raise _fail(f"--method must be one of {', '.join(METHODS)}, not {value!r}", 2)


def _scorer(model_dir: Path | None) -> Scorer:
    from pipeline.scoring.scorer import Scorer

    settings = get_settings(model_dir=model_dir)
    try:
        return Scorer(settings.model_dir, threads=settings.onnx_threads)
    except (ValueError, OSError) as exc:
        raise _fail(str(exc)) from exc


@intents_app.command("check")
def intents_check(file: PackFile) -> None:
    """Validate a pack file and print its intents (no model needed)."""
    from pipeline.scoring.custom_intents.pack import PackError, load_pack, resolve_pack_path

    try:
        path = resolve_pack_path(file)
        pack = load_pack(path)
    except PackError as exc:
        raise _fail(str(exc)) from exc
    examples = sum(len(i.examples) for i in pack.intents)
    typer.echo(
        f"ok: {path}: {pack.label}, {len(pack.intents)} intents, {examples} examples, "
        f"{len(pack.out_of_scope_examples)} out-of-scope examples"
    )


@intents_app.command("fit")
def intents_fit(
    file: PackFile,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Fitted JSON to write (default: <state dir>/intents/<name>.fitted.json)."
        ),
    ] = None,
    model_dir: ModelDir = None,
    method: MethodOption = "logistic",
) -> None:
    """Fit a pack on the model's sentence embeddings (seconds) and write the fitted JSON.

    Prints the k-fold held-out accuracy on the pack's own examples and the out-of-scope
    threshold; serve the result with CXSTREAM_INTENT_PACK=<the fitted JSON>.
    """
    from pipeline.scoring.custom_intents.embedding import scorer_embedder
    from pipeline.scoring.custom_intents.fit import fit_pack
    from pipeline.scoring.custom_intents.fitted import ModelRef, save_fitted
    from pipeline.scoring.custom_intents.pack import PackError, load_pack, resolve_pack_path

    chosen = _method(method)
    started = time.perf_counter()
    try:
        path = resolve_pack_path(file)
        pack = load_pack(path)
    except PackError as exc:
        raise _fail(str(exc)) from exc
    settings = get_settings(model_dir=model_dir)
    target = out or settings.writable_state_dir() / "intents" / f"{path.stem}.fitted.json"
    scorer = _scorer(model_dir)
    _say(f"fitting {pack.label} from {path}")
    try:
        fitted = fit_pack(
            pack,
            scorer_embedder(scorer, progress=lambda n, total: _say(f"  embedded {n}/{total}")),
            ModelRef.of(scorer.card),
            source=str(path),
            method=chosen,
            progress=_say,
        )
        save_fitted(fitted, target)
    except (PackError, OSError) as exc:
        raise _fail(str(exc)) from exc
    cal = fitted.calibration
    rejected = (
        ""
        if cal.oos_rejected is None
        else f", out-of-scope examples rejected {cal.oos_rejected:.3f}"
    )
    typer.echo(
        f"fitted {fitted.label} ({len(fitted.intents)} intents, {len(fitted.examples)} examples, "
        f"{fitted.method}) in {time.perf_counter() - started:.1f} s\n"
        f"held-out accuracy ({cal.folds}-fold on the pack's examples): {cal.heldout_accuracy:.3f}\n"
        f"out-of-scope thresholds: confidence {fitted.confidence_threshold:.3f}, similarity "
        f"{fitted.similarity_threshold:.3f} ({cal.rule}; held-out examples kept "
        f"{cal.in_scope_kept:.3f}{rejected})\n"
        f"wrote {target}\n"
        f"serve it with CXSTREAM_INTENT_PACK={target}"
    )


@intents_app.command("eval")
def intents_eval(
    file: PackFile,
    model_dir: ModelDir = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Datasets directory for the bundled packs (env CXSTREAM_DATA_DIR)."),
    ] = None,
    heldout: Annotated[
        Path | None,
        typer.Option(
            help="Held-out messages: YAML (intent: [messages]) or CSV (text,label); label "
            "out_of_scope for messages no intent should claim.",
        ),
    ] = None,
    method: MethodOption = "logistic",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Accuracy with 5, 10 and all examples per intent, and out-of-scope precision/recall.

    Bundled packs are measured on their source datasets (rows not in the pack) and CLINC150's
    out-of-scope test queries; any pack on --heldout messages.
    """
    from pipeline.scoring.custom_intents.embedding import scorer_embedder
    from pipeline.scoring.custom_intents.measure import measure_pack, render
    from pipeline.scoring.custom_intents.pack import PackError, load_pack, resolve_pack_path
    from pipeline.scoring.custom_intents.sources import (
        SOURCES,
        heldout_for,
        load_heldout,
        oos_test,
    )

    chosen = _method(method)
    settings = get_settings(model_dir=model_dir)
    data = data_dir or settings.data_dir
    try:
        pack = load_pack(resolve_pack_path(file))
        if heldout is not None:
            messages, oos = load_heldout(heldout), []
        elif pack.name in SOURCES:
            messages, oos = heldout_for(pack, data), oos_test(data)
        else:
            raise _fail(
                f"pack {pack.name!r} has no bundled source dataset: give held-out messages "
                "with --heldout FILE (or run `cxstream intents fit` for the k-fold accuracy "
                "on its own examples)",
                2,
            )
        scorer = _scorer(model_dir)
        measurement = measure_pack(
            pack, scorer_embedder(scorer), messages, oos, method=chosen, progress=_say
        )
    except (PackError, ValueError, LookupError, OSError) as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        body = asdict(measurement)
        body["metrics"] = measurement.metrics()
        typer.echo(json.dumps(body, sort_keys=True))
    else:
        typer.echo(render(measurement))
