"""``cxstream``: the one command-line entry point.

One module per group of commands; this module is the table of contents. It registers every
command on the root group (:mod:`pipeline.cli.group`) in the order ``--help`` lists them, and
holds :func:`main`, the console script (``cxstream = "pipeline.cli:main"``). Heavy imports stay
inside the commands, so ``cxstream --help`` stays fast.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType

from pipeline.cli.audit import audit
from pipeline.cli.broker import broker_app
from pipeline.cli.checks import rules_check, schemas
from pipeline.cli.forget import forget
from pipeline.cli.group import app
from pipeline.cli.lake import report, sink
from pipeline.cli.local_runs import bench, demo, soak
from pipeline.cli.models import models_app, score
from pipeline.cli.risk import risk_app
from pipeline.cli.topics import topics_app
from pipeline.cli.traffic import alerts, produce, tail
from pipeline.cli.worker import worker
from pipeline.cli_intents import intents_app

__all__ = ["app", "main"]

app.add_typer(broker_app, name="broker")
app.add_typer(topics_app, name="topics")
app.add_typer(models_app, name="models")
app.add_typer(intents_app, name="intents")
app.add_typer(risk_app, name="risk")
app.command()(worker)
app.command()(produce)
app.command()(tail)
app.command()(alerts)
app.command()(sink)
app.command()(report)
app.command()(forget)
app.command("rules")(rules_check)
app.command()(demo)
app.command()(schemas)
app.command()(score)
app.command()(audit)
app.command()(bench)
app.command()(soak)


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
