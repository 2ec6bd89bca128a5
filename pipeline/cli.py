"""``cxstream``: the one command-line entry point."""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

from pipeline.settings import Settings, SettingsError, get_settings
from pipeline.tools import broker
from pipeline.topics import CHANNELS
from pipeline.workflow.config import RulesFileError

# The CLI flags that override a setting: a bad value is reported under the name it was given.
SETTING_FLAGS = {
    "bootstrap_servers": "--bootstrap-servers",
    "topic_prefix": "--prefix",
    "model_dir": "--model-dir",
}


class CxstreamGroup(TyperGroup):
    """The one place where invalid configuration becomes a one-line error instead of a traceback.

    Every command builds its settings first (``_settings``), so a bad ``CXSTREAM_*`` variable is
    reported (``error: NAME=value: what is allowed``, exit status 2) before anything connects to
    Kafka or writes state.
    """

    def invoke(self, ctx: Any) -> Any:
        """Run the command; configuration errors become one line on stderr and exit status 2."""
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            raise _fail(exc.describe(SETTING_FLAGS), 2) from exc
        except ValidationError as exc:
            # Settings built without get_settings; other models' errors are not configuration.
            if exc.title != Settings.__name__:
                raise
            raise _fail(SettingsError.from_validation(exc).describe(), 2) from exc
        except RulesFileError as exc:
            # Only the worker side loads a rules file it was not given on the command line.
            raise _fail(f"{' '.join(str(exc).split())} (CXSTREAM_RULES_FILE)", 2) from exc


app = typer.Typer(
    cls=CxstreamGroup,
    help="cxstream: real-time customer-experience pipeline on Apache Kafka + Faust.\n\n"
    "Settings come from CXSTREAM_* environment variables (see README); flags override them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
models_app = typer.Typer(help="Inspect, evaluate and export scoring models.")
broker_app = typer.Typer(help="Run the local single-node Kafka broker (KRaft, 127.0.0.1).")
topics_app = typer.Typer(help="Manage the pipeline's topics.")
app.add_typer(broker_app, name="broker")
app.add_typer(topics_app, name="topics")
app.add_typer(models_app, name="models")

Bootstrap = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        "-b",
        help="Kafka host:port[,host:port] (env CXSTREAM_BOOTSTRAP_SERVERS).",
    ),
]
Prefix = Annotated[
    str | None,
    typer.Option("--prefix", help="Topic prefix (env CXSTREAM_TOPIC_PREFIX, default cx.)."),
]


def _settings(**overrides: Any) -> Settings:
    return get_settings(**overrides)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


# -- broker --------------------------------------------------------------------------------------
@broker_app.command("fetch")
def broker_fetch() -> None:
    """Resolve the broker jars from Maven Central into the cache (done by start when needed)."""
    settings = _settings()
    try:
        libs = broker.fetch(settings)
    except broker.BrokerError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"broker jars in {libs} ({len(list(libs.glob('*.jar')))} jars)")


@broker_app.command("start")
def broker_start(
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the broker to answer.")
    ] = 90.0,
) -> None:
    """Start the local broker and wait until it answers a metadata request."""
    settings = _settings()
    settings.writable_state_dir()
    try:
        pid = broker.start(settings, timeout_s=timeout)
    except broker.BrokerError as exc:
        raise _fail(str(exc)) from exc
    typer.echo(f"local broker up: pid {pid}, 127.0.0.1:{settings.broker_port}")


@broker_app.command("stop")
def broker_stop() -> None:
    """Stop the local broker cleanly (SIGTERM, SIGKILL after 30 s)."""
    stopped = broker.stop(_settings())
    typer.echo("local broker stopped" if stopped else "local broker was not running")


@broker_app.command("status")
def broker_status() -> None:
    """Show whether the local broker runs and answers; exit 1 when it does not answer."""
    state = broker.status(_settings())
    typer.echo(state.describe())
    if not state.answering:
        raise typer.Exit(1)


# -- topics --------------------------------------------------------------------------------------
@topics_app.command("create")
def topics_create(bootstrap: Bootstrap = None, prefix: Prefix = None) -> None:
    """Create every pipeline topic that is missing (idempotent)."""
    from pipeline.streaming.admin import create_topics

    settings = _settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    try:
        reports = create_topics(settings)
    except Exception as exc:
        raise _fail(f"cannot create topics on {settings.bootstrap_servers}: {exc}") from exc
    for r in reports:
        typer.echo(
            f"{'created' if r.created else 'exists '}  {r.name}  ({r.partitions} partitions)"
        )


# -- worker --------------------------------------------------------------------------------------
@app.command()
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
    from pipeline.streaming.admin import create_topics
    from pipeline.streaming.app import build_app
    from pipeline.streaming.lag import LagMonitor
    from pipeline.streaming.supervisor import supervise as run_supervised
    from pipeline.streaming.watchdog import add_watchdog
    from pipeline.streaming.web_logging import quiet_bad_requests
    from pipeline.workflow.config import cached_rules

    settings = _settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    # Configuration first: a bad state dir or rules file is one line, not a traceback later.
    settings.writable_state_dir()
    cached_rules(settings.rules_file)
    try:
        create_topics(settings)
    except Exception as exc:
        raise _fail(f"cannot reach Kafka at {settings.bootstrap_servers}: {exc}") from exc
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
            raise _fail(
                f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: {exc}"
                " (set CXSTREAM_METRICS_PORT to a free port, or 0 to turn metrics off)"
            ) from exc
    lag.start()
    if settings.stall_timeout_s:
        add_watchdog(faust_app, lag, settings.stall_timeout_s)
    Worker(faust_app, loglevel=loglevel).execute_from_commandline()


# -- produce -------------------------------------------------------------------------------------
@app.command()
def produce(
    file: Annotated[
        Path | None,
        typer.Argument(
            help="JSONL file (one raw event per line; '-' = stdin).", show_default=False
        ),
    ] = None,
    channel: Annotated[
        str | None, typer.Option(help=f"Raw channel of the file's events: {', '.join(CHANNELS)}.")
    ] = None,
    synthetic: Annotated[
        int | None, typer.Option(help="Generate N realistic multi-channel events instead.")
    ] = None,
    rate: Annotated[float | None, typer.Option(help="Messages per second (default: max).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic generator.")] = 7,
    bootstrap: Bootstrap = None,
    prefix: Prefix = None,
) -> None:
    """Write raw events to the cx.raw.* topics, from a JSONL file or the synthetic generator."""
    from pipeline.tools.produce import Outgoing, jsonl_lines
    from pipeline.tools.produce import produce as send

    settings = _settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    if (file is None) == (synthetic is None):
        raise _fail("give either a JSONL FILE (with --channel) or --synthetic N", 2)
    if synthetic is not None:
        from pipeline.tools.synthetic import generate

        records = generate(synthetic, seed)
        messages: Any = [Outgoing(settings.topics.raw(r.channel), r.key, r.value) for r in records]
    else:
        if channel not in CHANNELS:
            raise _fail(f"--channel must be one of {', '.join(CHANNELS)}", 2)
        topic = settings.topics.raw(channel)
        handle = sys.stdin.buffer if str(file) == "-" else Path(str(file)).open("rb")  # noqa: SIM115
        messages = jsonl_lines(handle, topic)
    try:
        delivered = send(
            settings,
            messages,
            rate=rate,
            progress=lambda n: typer.echo(f"  sent {n}", err=True),
        )
    except Exception as exc:
        raise _fail(f"producing to {settings.bootstrap_servers} failed: {exc}") from exc
    per_topic: dict[str, int] = {}
    for d in delivered:
        per_topic[d.topic] = per_topic.get(d.topic, 0) + 1
    typer.echo(f"produced {len(delivered)} messages: {json.dumps(per_topic)}")


# -- tail ----------------------------------------------------------------------------------------
@app.command()
def tail(
    topic: Annotated[
        str,
        typer.Argument(
            help="Topic, or a short name: interactions, deadletter, duplicates, identity, raw.chat…"
        ),
    ],
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the oldest message.")
    ] = False,
    max_messages: Annotated[
        int | None, typer.Option("--max", help="Stop after N messages.")
    ] = None,
    idle_timeout: Annotated[
        float | None, typer.Option(help="Stop after this many idle seconds.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each message as one JSON line.")
    ] = False,
    bootstrap: Bootstrap = None,
    prefix: Prefix = None,
) -> None:
    """Follow a topic and print its messages readably (Ctrl-C to stop)."""
    settings = _settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    name = topic if topic.startswith(settings.topic_prefix) else settings.topic_prefix + topic
    _follow(settings, name, from_beginning, max_messages, idle_timeout, as_json)


def _follow(
    settings: Settings,
    topic: str,
    from_beginning: bool,
    max_messages: int | None,
    idle_timeout: float | None,
    as_json: bool,
    hint: str = "",
) -> None:
    """Print ``topic``'s messages until told to stop; a missing topic is a clear error."""
    from kafka.errors import KafkaError

    from pipeline.tools.tail import follow

    try:
        for line in follow(
            settings,
            topic,
            from_beginning=from_beginning,
            max_messages=max_messages,
            idle_timeout_s=idle_timeout,
            as_json=as_json,
        ):
            typer.echo(line)
    except KeyboardInterrupt:
        pass
    except LookupError as exc:
        raise _fail(f"{exc}{hint}") from exc
    except KafkaError as exc:
        raise _fail(f"cannot reach Kafka at {settings.bootstrap_servers}: {exc}") from exc


@app.command()
def alerts(
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the oldest alert.")
    ] = False,
    max_messages: Annotated[
        int | None, typer.Option("--max", help="Stop after N alert changes.")
    ] = None,
    idle_timeout: Annotated[
        float | None, typer.Option(help="Stop after this many idle seconds.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per alert change.")
    ] = False,
    bootstrap: Bootstrap = None,
    prefix: Prefix = None,
) -> None:
    """Follow escalation alerts (cx.alerts): opened, updated, resolved, expired."""
    settings = _settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    _follow(
        settings,
        settings.topics.alerts,
        from_beginning,
        max_messages,
        idle_timeout,
        as_json,
        hint=" (run `cxstream topics create`)",
    )


@app.command("rules")
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
        raise _fail(str(exc)) from exc
    typer.echo(f"ok: {path or 'bundled rules'} version {rules.version} @ {rules.fingerprint}")


# -- demo ----------------------------------------------------------------------------------------
@app.command()
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
        raise _fail(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps(summary, sort_keys=True))
    if summary["unaccounted"] != 0 or summary["not_enriched"] != 0:
        raise typer.Exit(1)


# -- schemas -------------------------------------------------------------------------------------
@app.command()
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
            raise _fail("schemas out of date (run `cxstream schemas`): " + ", ".join(stale))
        typer.echo("schemas up to date")
        return
    for path in write_schemas(target):
        typer.echo(f"wrote {path}")


# -- scoring -------------------------------------------------------------------------------------
ModelDir = Annotated[
    Path | None,
    typer.Option("--model-dir", help="Model directory (env CXSTREAM_MODEL_DIR; default: bundled)."),
]


@app.command()
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

    settings = _settings(model_dir=model_dir)
    try:
        scorer = Scorer(
            settings.model_dir,
            threads=settings.onnx_threads,
            bucket_size=settings.score_bucket_size,
        )
    except (ValueError, OSError) as exc:
        raise _fail(str(exc)) from exc
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


@models_app.command("info")
def models_info(model_dir: ModelDir = None) -> None:
    """Show the model card of the model the worker would load."""
    from pipeline.scoring.card import load_card

    settings = _settings(model_dir=model_dir)
    try:
        card = load_card(settings.model_dir)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
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
) -> None:
    """Evaluate a model on SST-2, GoEmotions, BANKING77, CLINC150 and the project's labelled set."""
    from pipeline.scoring.evaluate import evaluate, render

    settings = _settings(model_dir=model_dir)
    try:
        metrics = evaluate(
            settings.model_dir,
            data_dir=data_dir or settings.data_dir,
            limit=limit,
            threads=settings.onnx_threads,
            progress=lambda line: typer.echo(line, err=True),
        )
    except (ValueError, FileNotFoundError, LookupError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(json.dumps(metrics, sort_keys=True) if as_json else render(metrics))


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
        raise _fail(
            f"{exc.name or exc} is missing: exporting needs the training extra "
            "(make train-setup, then use .venv-train/bin/cxstream)"
        ) from exc
    except (ValueError, OSError) as exc:
        raise _fail(str(exc)) from exc
    typer.echo(
        f"exported {card.name} {card.version} to {out} (sha256 {card.sha256[:12]}…); "
        f"serve it with CXSTREAM_MODEL_DIR={out}"
    )


@app.command()
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


@app.command()
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
        raise _fail(str(exc)) from exc
    typer.echo(json.dumps(report, sort_keys=True) if as_json else render(report))
    if not report["flat"]:
        raise typer.Exit(1)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    """Console-script entry point.

    SIGTERM unwinds like Ctrl-C, so ``demo``, ``bench`` and ``soak`` stop the broker and worker
    they started (a worker's own event loop installs Faust's handlers over this one).
    """
    signal.signal(signal.SIGTERM, _interrupt)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Our readers assign partitions without a group on purpose; kafka-python warns about it.
    logging.getLogger("kafka.coordinator.consumer").setLevel(logging.ERROR)
    app()


if __name__ == "__main__":
    main()
