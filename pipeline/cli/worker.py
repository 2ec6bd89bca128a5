"""``cxstream worker``: one pipeline worker, under its supervisor unless told otherwise."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli.group import Bootstrap, Prefix, command_settings, fail


def worker(
    bootstrap: Bootstrap = None,
    prefix: Prefix = None,
    loglevel: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    supervise: Annotated[
        bool,
        typer.Option(
            help="Run the worker under a supervisor process that restarts it when an input or "
            "its event loop hangs, and stops it within CXSTREAM_STOP_TIMEOUT_S on SIGTERM.",
        ),
    ] = True,
) -> None:
    """Run a pipeline worker (creates missing topics first). Stop it with Ctrl-C / SIGTERM."""
    from faust import Worker
    from prometheus_client import start_http_server

    from pipeline.metrics import Metrics
    from pipeline.scoring.custom_intents.runtime import check_intent_pack
    from pipeline.streaming.admin import create_topics
    from pipeline.streaming.app import build_app
    from pipeline.streaming.lag import LagMonitor
    from pipeline.streaming.supervisor import supervise as run_supervised
    from pipeline.streaming.watchdog import add_watchdog
    from pipeline.streaming.web_logging import quiet_bad_requests
    from pipeline.workflow.config import cached_rules

    settings = command_settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    # Configuration first: a bad state dir or rules file is one line, not a traceback later.
    settings.writable_state_dir()
    settings.check_web_exposure()
    cached_rules(settings.rules_file)
    check_intent_pack(settings)
    try:
        create_topics(settings)
    except Exception as exc:
        raise fail(f"cannot reach Kafka at {settings.bootstrap_servers}: {exc}") from exc
    if supervise:
        child_args = ["--loglevel", loglevel]
        if bootstrap:
            child_args += ["--bootstrap-servers", bootstrap]
        if prefix:
            child_args += ["--prefix", prefix]
        raise typer.Exit(run_supervised(settings, child_args))
    quiet_bad_requests()
    metrics = Metrics()
    lag = LagMonitor(settings, metrics)
    faust_app = build_app(settings, metrics, lag)
    if settings.metrics_port:
        try:
            start_http_server(
                settings.metrics_port, addr=settings.metrics_host, registry=metrics.registry
            )
        except OSError as exc:
            raise fail(
                f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: {exc}"
                " (set CXSTREAM_METRICS_PORT to a free port, or 0 to turn metrics off)"
            ) from exc
    lag.start()
    if settings.stall_timeout_s:
        add_watchdog(faust_app, lag, settings.stall_timeout_s)
    Worker(faust_app, loglevel=loglevel).execute_from_commandline()
