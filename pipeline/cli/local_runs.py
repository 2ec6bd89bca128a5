"""Whole-pipeline runs on this machine: ``demo``, ``bench`` and ``soak``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from pipeline.cli.group import fail
from pipeline.tools import broker


def demo(
    events: Annotated[int, typer.Option(help="Synthetic events to send.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic generator.")] = 7,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the pipeline to finish.")
    ] = 180.0,
) -> None:
    """Everything end to end: fresh local broker, topics, worker, synthetic traffic, summary."""
    from pipeline.tools.demo import DemoError, run_demo

    try:
        summary = run_demo(events=events, seed=seed, timeout_s=timeout, quiet=as_json)
    except (DemoError, broker.BrokerError) as exc:
        raise fail(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps(summary, sort_keys=True))
    if summary["unaccounted"] != 0 or summary["not_enriched"] != 0:
        raise typer.Exit(1)


def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="Smaller runs (1,000 events, 20 s latency): < 10 min.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    scoring: Annotated[
        bool,
        typer.Option(
            "--scoring",
            help="Only the scoring path: model-only vs scorer vs score agent vs full path.",
        ),
    ] = False,
    in_process: Annotated[
        bool,
        typer.Option("--in-process", help="Only the spine stages in process (no broker)."),
    ] = False,
    events: Annotated[int, typer.Option(help="Events for --scoring / --in-process runs.")] = 2000,
) -> None:
    """Measure the pipeline against its limits on a local broker and print a table.

    Transport limit, spine, model limit, full pipeline (closed loop), latency at 50% load,
    two workers vs one, a naive transformers baseline and a DistilBERT-sized anchor (these two
    need the training venv: make train-setup). Results are saved under the state dir
    (.cxstream/bench/results/).
    """
    if scoring:
        from pipeline.tools.bench.scoring import run_scoring_bench

        result = run_scoring_bench(min(events, 2000))
    elif in_process:
        from pipeline.tools.bench.in_process import run_spine_bench

        result = run_spine_bench(events)
    else:
        from pipeline.tools.bench.suite import render, run_suite

        result = run_suite(quick=quick)
        if not as_json:
            typer.echo(render(result))
            return
    if as_json:
        typer.echo(json.dumps(result, sort_keys=True))
        return
    for key, value in result.items():
        typer.echo(f"{key:<22} {value}")


def soak(
    minutes: Annotated[
        float, typer.Option(min=1.0, help="Minutes of traffic (the first half is warm-up).")
    ] = 10.0,
    rate: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Events/s to soak at (default: 50% of a closed-loop maximum measured first).",
        ),
    ] = None,
    sample_s: Annotated[
        float, typer.Option("--sample-s", min=1.0, help="Seconds between samples.")
    ] = 15.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print only the JSON report, at the end.")
    ] = False,
) -> None:
    """Bounded soak: a worker at 50% of its measured maximum rate for --minutes.

    Own broker (127.0.0.1:19292) and state (.cxstream/soak). Samples the
    worker's RSS, state table sizes, consumer lag and RocksDB memory every
    --sample-s and fits slopes over the second half (the first half is
    warm-up). Stop it early with Ctrl-C or SIGTERM (broker and worker stop).

    Flat: RSS grows <= 1 MiB/min, each table <= 5% of its size over the
    second half, lag < 10 s of traffic, and every event is accounted for.
    Exit 0 when flat, 1 when not; the report is saved as
    .cxstream/bench/results/soak-<UTC time>.json. Not in CI: `make soak`.
    """
    from pipeline.tools.soak import SoakError, render, run_soak

    def say(line: str) -> None:
        typer.echo(line, err=as_json)

    try:
        report = run_soak(minutes=minutes, rate=rate, sample_s=sample_s, say=say)
    except (SoakError, broker.BrokerError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(json.dumps(report, sort_keys=True) if as_json else render(report))
    if not report["flat"]:
        raise typer.Exit(1)
