"""``cxstream broker``: the local single-node Kafka broker (KRaft, 127.0.0.1)."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.group import command_settings, fail
from pipeline.tools import broker

broker_app = typer.Typer(help="Run the local single-node Kafka broker (KRaft, 127.0.0.1).")


@broker_app.command("fetch")
def broker_fetch() -> None:
    """Resolve the broker jars from Maven Central into the cache (done by start when needed)."""
    settings = command_settings()
    try:
        libs = broker.fetch(settings)
    except broker.BrokerError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"broker jars in {libs} ({len(list(libs.glob('*.jar')))} jars)")


@broker_app.command("start")
def broker_start(
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the broker to answer.")
    ] = 90.0,
) -> None:
    """Start the local broker and wait until it answers a metadata request."""
    settings = command_settings()
    settings.writable_state_dir()
    try:
        pid = broker.start(settings, timeout_s=timeout)
    except broker.BrokerError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"local broker up: pid {pid}, 127.0.0.1:{settings.broker_port}")


@broker_app.command("stop")
def broker_stop() -> None:
    """Stop the local broker cleanly (SIGTERM, SIGKILL after 30 s)."""
    stopped = broker.stop(command_settings())
    typer.echo("local broker stopped" if stopped else "local broker was not running")


@broker_app.command("status")
def broker_status() -> None:
    """Show whether the local broker runs and answers; exit 1 when it does not answer."""
    state = broker.status(command_settings())
    typer.echo(state.describe())
    if not state.answering:
        raise typer.Exit(1)
