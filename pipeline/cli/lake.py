"""``cxstream sink`` and ``cxstream report``: the Parquet lake and the CX report built on it."""

from __future__ import annotations

import logging
import signal
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from pipeline.cli.group import Bootstrap, Prefix, command_settings, fail

LakeDir = Annotated[
    str | None,
    typer.Option("--lake", help="Lake directory or pyarrow URI (env CXSTREAM_LAKE_DIR)."),
]


def sink(
    bootstrap: Bootstrap = None,
    prefix: Prefix = None,
    lake: LakeDir = None,
    until_end: Annotated[
        bool,
        typer.Option(
            "--until-end", help="Stop once everything on the topics at start is in the lake."
        ),
    ] = False,
    max_seconds: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run until told).")
    ] = None,
    metrics_port: Annotated[
        int, typer.Option(help="Serve Prometheus /metrics on this port (0 = off).")
    ] = 0,
) -> None:
    """Write cx.enriched, cx.alerts, cx.deadletter and cx.duplicates to a Parquet lake.

    Exactly once per Kafka record, resuming from the lake itself. Stop with Ctrl-C / SIGTERM:
    the open batches are written first.
    """
    from prometheus_client import start_http_server

    from pipeline.lake.sink import LakeSink, SinkError
    from pipeline.lake.store import LakeStore
    from pipeline.metrics import Metrics

    settings = command_settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    logging.getLogger("pipeline.lake").setLevel(logging.INFO)
    stopping: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    metrics = Metrics()
    if metrics_port:
        start_http_server(metrics_port, addr=settings.metrics_host, registry=metrics.registry)
    try:
        store = LakeStore.open(lake or settings.lake_dir)
        stats = LakeSink(settings, store, metrics=metrics).run(
            lambda: bool(stopping), until_end=until_end, max_seconds=max_seconds
        )
    except SinkError as exc:
        raise fail(str(exc)) from exc
    typer.echo(
        f"lake {store.root}: {stats.total_rows} rows in {stats.files} files "
        f"({stats.compacted} compacted, {stats.rejected} rejected, "
        f"{stats.repaired_rows} repaired) in {stats.seconds:.1f} s"
    )


def report(
    lake: LakeDir = None,
    out: Annotated[Path, typer.Option("--out", help="Where to write the HTML report.")] = Path(
        "report.html"
    ),
    start: Annotated[
        datetime | None,
        typer.Option("--from", help="Period start (UTC; default: 7 days before --to)."),
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option("--to", help="Period end, exclusive (UTC; default: now)."),
    ] = None,
) -> None:
    """Write a self-contained HTML CX report of a period vs the one before, from the lake."""
    from pipeline.lake.store import LakeStore
    from pipeline.report.build import ReportError, write_report
    from pipeline.report.period import Period

    settings = command_settings()
    try:
        period = Period.between(start, end)
        store = LakeStore.open(lake or settings.lake_dir, create=False)
        path = write_report(store, period, out)
    except (ReportError, ValueError) as exc:
        raise fail(str(exc), 2) from exc
    typer.echo(f"report {path} ({period.describe()})")
