"""The transport limit: a Faust worker whose only agent forwards raw events unchanged.

``python -m pipeline.tools.bench.transport worker`` reads the raw topics of the configured
prefix and writes every message as-is to ``<prefix>bench.out``: Kafka in, Faust's stream
machinery, Kafka out, no work. Whatever the pipeline does costs on top of this.
"""

from __future__ import annotations

import sys

import faust
from faust import Worker

from pipeline.settings import Settings
from pipeline.streaming.security import faust_credentials
from pipeline.streaming.transport import broker_urls

RAW = {"key_serializer": "raw", "value_serializer": "raw"}


def out_topic(settings: Settings) -> str:
    """Where the pass-through agent writes."""
    return f"{settings.topic_prefix}bench.out"


def build_transport_app(settings: Settings) -> faust.App:
    """A Faust app with one pass-through agent, configured like the pipeline's app."""
    datadir = settings.state_dir / "worker" / f"{settings.app_id}-transport"
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"{settings.app_id}-transport",
        broker=broker_urls(settings.bootstrap_servers),
        broker_credentials=faust_credentials(settings),
        store="memory://",
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger_ms=settings.producer_linger_ms,
        web_enabled=False,
    )
    source = app.topic(*settings.topics.raw_topics, **RAW)  # type: ignore[arg-type]
    sink = app.topic(out_topic(settings), partitions=settings.partitions, **RAW)  # type: ignore[arg-type]

    @app.agent(source, name="passthrough")
    async def passthrough(stream: faust.StreamT[bytes]) -> None:
        """Forward each message, key and value untouched."""
        async for event in stream.events():
            await sink.send(key=event.message.key, value=event.message.value)

    del passthrough
    return app


def main() -> None:
    """``python -m pipeline.tools.bench.transport worker [--loglevel L]``."""
    loglevel = sys.argv[sys.argv.index("--loglevel") + 1] if "--loglevel" in sys.argv else "info"
    Worker(build_transport_app(Settings()), loglevel=loglevel).execute_from_commandline()


if __name__ == "__main__":
    main()
