"""``cxstream topics``: the pipeline's topics."""

from __future__ import annotations

import typer

from pipeline.cli.group import Bootstrap, Prefix, command_settings, fail

topics_app = typer.Typer(help="Manage the pipeline's topics.")


@topics_app.command("create")
def topics_create(bootstrap: Bootstrap = None, prefix: Prefix = None) -> None:
    """Create every pipeline topic that is missing (idempotent)."""
    from pipeline.streaming.admin import create_topics

    settings = command_settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    try:
        reports = create_topics(settings)
    except Exception as exc:
        raise fail(f"cannot create topics on {settings.bootstrap_servers}: {exc}") from exc
    for r in reports:
        typer.echo(
            f"{'created' if r.created else 'exists '}  {r.name}  ({r.partitions} partitions)"
        )
