"""``cxstream risk``: fit the churn and escalation models from outcomes (docs/risk.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.group import Bootstrap, Prefix, command_settings, fail

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
    per_partition: Annotated[
        int,
        typer.Option(help="Records read from each cx.enriched partition (newest kept)."),
    ] = 1_000_000,
    bootstrap: Bootstrap = None,
    prefix: Prefix = None,
) -> None:
    """Replay history, build features as of each message, fit on the earlier part of the
    time range, print AUC, calibration and lift on the later part, write the coefficients."""
    from pipeline.tools.risk_fit.card import SYNTHETIC_NOTE, metrics_lines
    from pipeline.tools.risk_fit.fit import NotEnoughHistory
    from pipeline.tools.risk_fit.run import fit_history
    from pipeline.workflow.config import cached_rules

    settings = command_settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    if synthetic is not None:
        from pipeline.tools.synthetic.outcomes import outcome_history

        history = outcome_history(synthetic, days, seed)
        source = f"a synthetic history ({synthetic} customers, {days} days, seed {seed})"
    else:
        from pipeline.tools.risk_fit.history import read_enriched

        try:
            history = read_enriched(settings, per_partition, timeout_s=300.0)
        except Exception as exc:
            raise fail(f"reading {settings.topics.enriched} failed: {exc}") from exc
        source = f"{len(history)} records of {settings.topics.enriched}"
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
