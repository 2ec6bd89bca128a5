"""``cxstream risk``: fit the churn and escalation models from outcomes (docs/risk.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.cli.group import Bootstrap, Prefix, command_settings, fail

if TYPE_CHECKING:
    from pipeline.contracts.records import Enriched
    from pipeline.settings import Settings

risk_app = typer.Typer(help="Churn and escalation risk models.")


@risk_app.command("fit")
def risk_fit(
    out: Annotated[Path, typer.Option(help="Folder for risk_model.json and RISK_CARD.md.")] = Path(
        "build/risk"
    ),
    synthetic: Annotated[
        int | None,
        typer.Option(
            help="Fit on a synthetic outcome history of N customers instead of cx.enriched "
            "(shows the mechanics, not real accuracy)."
        ),
    ] = None,
    days: Annotated[int, typer.Option(help="Days of synthetic history.")] = 120,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic history.")] = 7,
    churn_horizon_days: Annotated[
        float,
        typer.Option(help="Churn: an outcome within this many days of a message."),
    ] = 30.0,
    escalation_horizon_h: Annotated[
        float, typer.Option(help="Escalation: an alert within this many hours.")
    ] = 24.0,
    train_share: Annotated[
        float, typer.Option(min=0.1, max=0.9, help="Share of the time range to fit on.")
    ] = 0.7,
    lake: Annotated[
        str | None,
        typer.Option(
            help="Fit on the Parquet lake's enriched table at this directory or pyarrow URI "
            "(written by cxstream sink: a longer history than the topic retains) instead of "
            "cx.enriched."
        ),
    ] = None,
    per_partition: Annotated[
        int | None,
        typer.Option(
            help="Records read from each cx.enriched partition (newest kept; default 1,000,000)."
        ),
    ] = None,
    bootstrap: Bootstrap = None,
    prefix: Prefix = None,
) -> None:
    """Replay history, build features as of each message, fit on the earlier part of the
    time range, print AUC, calibration and lift on the later part, write the coefficients.

    The history is cx.enriched (what the topic retains), the lake's enriched table (--lake)
    or a synthetic one (--synthetic); the card names which.
    """
    from pipeline.tools.risk_fit.card import SYNTHETIC_NOTE, metrics_lines
    from pipeline.tools.risk_fit.fit import NotEnoughHistory
    from pipeline.tools.risk_fit.run import fit_history
    from pipeline.workflow.config import cached_rules

    if lake is not None and (
        synthetic is not None or per_partition is not None or bootstrap or prefix
    ):
        raise fail(
            "--lake reads the lake, not Kafka: leave out --synthetic, --per-partition, "
            "--bootstrap and --prefix"
        )
    settings = command_settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    history, source = _history(settings, synthetic, days, seed, lake, per_partition)
    try:
        run = fit_history(
            history,
            cached_rules(settings.rules_file),
            out,
            source=source,
            churn_horizon_days=churn_horizon_days,
            escalation_horizon_h=escalation_horizon_h,
            train_share=train_share,
        )
    except NotEnoughHistory as exc:
        raise fail(f"cannot fit: {exc}") from exc
    typer.echo(f"risk model {run.model.version}: {run.examples} decisions from {source}")
    for line in metrics_lines(run.model):
        typer.echo(line)
    if synthetic is not None:
        typer.echo(SYNTHETIC_NOTE)
    typer.echo(f"wrote {run.model_file} and {run.card_file}; load with CXSTREAM_RISK_MODEL")


def _history(
    settings: Settings,
    synthetic: int | None,
    days: int,
    seed: int,
    lake: str | None,
    per_partition: int | None,
) -> tuple[list[Enriched], str]:
    """The history to fit on and the words naming it: synthetic, the lake or cx.enriched."""
    if synthetic is not None:
        from pipeline.tools.synthetic.outcomes import outcome_history

        history = outcome_history(synthetic, days, seed)
        return history, f"a synthetic history ({synthetic} customers, {days} days, seed {seed})"
    if lake is not None:
        from pipeline.lake.read import NoLakeTable
        from pipeline.tools.risk_fit.history import read_enriched_lake

        try:
            found = read_enriched_lake(lake)
        except NoLakeTable as exc:
            raise fail(f"{exc} (cxstream sink writes it)") from exc
        except Exception as exc:
            raise fail(f"reading the lake at {lake} failed: {exc}") from exc
        if found.invalid:
            typer.echo(
                f"{found.invalid} enriched rows do not validate and were left out "
                f"(first: {found.first_error})",
                err=True,
            )
        return list(found.records), found.source
    from pipeline.tools.risk_fit.history import read_enriched

    try:
        limit = 1_000_000 if per_partition is None else per_partition
        history = read_enriched(settings, limit, timeout_s=300.0)
    except Exception as exc:
        raise fail(f"reading {settings.topics.enriched} failed: {exc}") from exc
    return history, f"{len(history)} records of {settings.topics.enriched}"
