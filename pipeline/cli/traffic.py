"""Records in and out of the topics: ``produce``, ``tail`` and ``alerts``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.cli.group import Bootstrap, Prefix, command_settings, fail
from pipeline.settings import Settings
from pipeline.topics import CHANNELS


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

    settings = command_settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    if (file is None) == (synthetic is None):
        raise fail("give either a JSONL FILE (with --channel) or --synthetic N", 2)
    if synthetic is not None:
        from pipeline.tools.synthetic import generate

        records = generate(synthetic, seed)
        messages: Any = [Outgoing(settings.topics.raw(r.channel), r.key, r.value) for r in records]
    else:
        if channel not in CHANNELS:
            raise fail(f"--channel must be one of {', '.join(CHANNELS)}", 2)
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
        raise fail(f"producing to {settings.bootstrap_servers} failed: {exc}") from exc
    per_topic: dict[str, int] = {}
    for d in delivered:
        per_topic[d.topic] = per_topic.get(d.topic, 0) + 1
    typer.echo(f"produced {len(delivered)} messages: {json.dumps(per_topic)}")


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
    settings = command_settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    name = topic if topic.startswith(settings.topic_prefix) else settings.topic_prefix + topic
    follow_topic(settings, name, from_beginning, max_messages, idle_timeout, as_json)


def follow_topic(
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
        raise fail(f"{exc}{hint}") from exc
    except KafkaError as exc:
        raise fail(f"cannot reach Kafka at {settings.bootstrap_servers}: {exc}") from exc


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
    settings = command_settings(bootstrap_servers=bootstrap, topic_prefix=prefix)
    follow_topic(
        settings,
        settings.topics.alerts,
        from_beginning,
        max_messages,
        idle_timeout,
        as_json,
        hint=" (run `cxstream topics create`)",
    )
