"""The files a worker runs with: ``rules`` (validate a rules file) and ``schemas``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.group import fail


def rules_check(
    path: Annotated[
        Path | None, typer.Argument(help="Rules YAML to validate (default: the bundled file).")
    ] = None,
) -> None:
    """Validate a workflow rules file and print its version and fingerprint."""
    from pipeline.workflow.config import RulesFileError, load_rules

    try:
        rules = load_rules(path)
    except RulesFileError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"ok: {path or 'bundled rules'} version {rules.version} @ {rules.fingerprint}")


def schemas(
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 if schemas/ differs; write nothing.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option(help="Directory (default: the project's schemas/).")
    ] = None,
) -> None:
    """Generate the JSON Schemas in schemas/ from the pydantic models."""
    from pipeline.tools.schemas import SCHEMA_DIR, stale_schemas, write_schemas

    target = out or SCHEMA_DIR
    if check:
        stale = stale_schemas(target)
        if stale:
            raise fail("schemas out of date (run `cxstream schemas`): " + ", ".join(stale))
        typer.echo("schemas up to date")
        return
    for path in write_schemas(target):
        typer.echo(f"wrote {path}")
