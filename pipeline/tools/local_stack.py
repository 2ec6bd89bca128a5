"""A fresh local broker and the workers started on it, always stopped afterwards.

The demo, the benchmarks and the soak each run on a broker of their own (own state dir, own
ports) that they wipe first, so that a run never sees a previous run's topics, offsets or worker
state; and they must leave no process behind, also when a step fails.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.settings import Settings
from pipeline.tools import broker
from pipeline.tools.runner import WorkerProcess


class LocalStack:
    """The running broker of ``settings`` and the workers started through :meth:`start_worker`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.workers: list[WorkerProcess] = []
        self.started_at = time.monotonic()  # when the broker began to start (monotonic)

    def start_worker(
        self,
        settings: Settings | None = None,
        *,
        log_path: Path | None = None,
        module: str = "pipeline.cli",
    ) -> WorkerProcess:
        """Start a worker (not waiting until it is ready) on the stack's broker.

        ``settings``: the worker's own (other topics, agents, ports; default the stack's);
        ``log_path``: default ``worker.log`` in the state dir. It is stopped when the stack
        closes unless stopped before.
        """
        own = settings or self.settings
        worker = WorkerProcess(own, log_path or own.state_dir / "worker.log", module=module)
        self.workers.append(worker.start())
        return worker

    def stop_workers(self) -> None:
        """Stop every worker started here (stopping one twice is harmless)."""
        for worker in self.workers:
            worker.stop()


@contextmanager
def local_stack(
    settings: Settings,
    *,
    announce: str | None = None,
    say: Callable[[str], None] = print,
) -> Iterator[LocalStack]:
    """A local broker on wiped state for ``settings``; on exit its workers, then the broker, stop.

    First a stale broker of this state dir is stopped (never another one: ``broker.stop`` reads
    the pid file of this state dir) and the state dir deleted; then ``announce`` is said and the
    broker started. Topics are the caller's: some want the pipeline's, some their own per run.
    """
    broker.stop(settings)
    if settings.state_dir.exists():
        shutil.rmtree(settings.state_dir)
    stack = LocalStack(settings)
    try:
        if announce is not None:
            say(announce)
        stack.started_at = time.monotonic()
        broker.start(settings)
        yield stack
    finally:
        stack.stop_workers()
        broker.stop(settings)
