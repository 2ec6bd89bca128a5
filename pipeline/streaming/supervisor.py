"""The worker's supervisor: a small parent process that restarts a worker whose interpreter
stopped making progress, dead-letters the input that stopped it, and stops it on SIGTERM
within a bound.

``cxstream worker`` runs this loop and the real worker as its child (``--no-supervise``). The
child reports through a memory-mapped file (pipeline/streaming/liveness.py); every ``CHECK_EVERY_S``
the supervisor reads it and

* kills the child (SIGKILL: a hung regular expression ignores SIGTERM) when one stage has been
  on one input for more than ``CXSTREAM_RECORD_BUDGET_S``, or when the event loop has not
  beaten for ``CXSTREAM_LOOP_STALL_TIMEOUT_S`` (``STARTUP_GRACE_S`` before its first beat);
  the input in progress goes on the poison list as ``processing_timeout`` and the next child
  dead-letters it without deciding it;
* when the child dies on its own (a crash, the kernel's OOM killer) while a stage was on an
  input, counts it; the second death on the same input puts it on the list as
  ``poison_input``;
* starts a new child after a short backoff (doubling to ``RESTART_MAX_S``);
* on SIGTERM or SIGINT passes SIGTERM to the child, waits up to ``CXSTREAM_STOP_TIMEOUT_S``
  for it to stop, then kills it: the worker is gone within that bound even when it is
  mid-computation.

The child dies with its supervisor (Linux ``PR_SET_PDEATHSIG``), so a killed supervisor never
leaves a worker behind.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from types import FrameType

from pipeline.contracts.records import ReasonCode
from pipeline.settings import Settings
from pipeline.streaming.liveness import Place, add_to_poison_list, breadcrumbs_path, poison_path
from pipeline.streaming.liveness import read_breadcrumbs as read_crumbs

log = logging.getLogger("cxstream.supervisor")

CHECK_EVERY_S = 0.5
STARTUP_GRACE_S = 120.0
"""Before a worker's first heartbeat (loading the model, opening its stores) the loop-stall
limit is at least this long."""
RESTART_FIRST_S = 1.0
RESTART_MAX_S = 30.0
CRASHES_TO_POISON = 2
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the supervisor dies (Linux only)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the child outlives a killed supervisor
        pass


class Supervisor:
    """Runs ``command`` as the worker child and keeps it live (module docstring)."""

    def __init__(self, settings: Settings, command: list[str]) -> None:
        self.settings = settings
        self.command = command
        self.crumbs = breadcrumbs_path(settings)
        self.poison = poison_path(settings)
        self.crashes: Counter[Place] = Counter()
        self.stopping = False
        self.child: subprocess.Popen[bytes] | None = None

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("supervisor: signal %d, stopping the worker", signum)
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        """Supervise until told to stop or the worker exits cleanly; the exit code."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        backoff = RESTART_FIRST_S
        while True:
            self.crumbs.unlink(missing_ok=True)
            self.child = subprocess.Popen(self.command, preexec_fn=_die_with_parent)
            started = time.monotonic()
            killed_for = self._watch(started)
            code = self.child.returncode
            if self.stopping:  # 0: stopped gracefully; 1: had to be killed
                return 0 if code in (0, -signal.SIGTERM) else 1
            if killed_for is None and code == 0:
                return 0
            if killed_for is None:
                self._count_crash(code)
            if time.monotonic() - started > 10 * RESTART_MAX_S:
                backoff = RESTART_FIRST_S  # it ran fine for a while: start over
            log.warning("supervisor: starting the worker again in %.0fs", backoff)
            if self._sleep(backoff):
                return 0
            backoff = min(backoff * 2, RESTART_MAX_S)

    def _sleep(self, seconds: float) -> bool:
        """Sleep, waking for a stop signal; True if told to stop."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.stopping:
            time.sleep(min(CHECK_EVERY_S, deadline - time.monotonic()))
        return self.stopping

    def _watch(self, started: float) -> str | None:
        """Wait for the child to exit; kill it when it hangs (the reason) or overstays a stop."""
        assert self.child is not None
        budget = self.settings.record_budget_s
        stall = self.settings.loop_stall_timeout_s
        stop_deadline: float | None = None
        while self.child.poll() is None:
            time.sleep(CHECK_EVERY_S)
            now = time.monotonic()
            if self.stopping:
                stop_deadline = stop_deadline or now + self.settings.stop_timeout_s
                if now >= stop_deadline:
                    log.error(
                        "supervisor: worker still running %.0fs after SIGTERM; killing it",
                        self.settings.stop_timeout_s,
                    )
                    self._kill()
                continue
            reading = read_crumbs(self.crumbs)
            for stage, (since, place) in reading.busy.items():
                if now - since > budget:
                    reason = (
                        f"the {stage} stage spent more than {budget:g} s on this input "
                        "(CXSTREAM_RECORD_BUDGET_S); the worker was restarted and the input "
                        "dead-lettered without being decided again"
                    )
                    return self._kill_for(place, ReasonCode.PROCESSING_TIMEOUT, reason)
            beating = reading.heartbeat is not None and reading.heartbeat >= started
            last = reading.heartbeat if beating and reading.heartbeat else started
            limit = stall if beating else max(stall, STARTUP_GRACE_S)
            if now - last > limit:
                log.critical(
                    "supervisor: the worker's event loop made no progress for %.0fs "
                    "(CXSTREAM_LOOP_STALL_TIMEOUT_S); killing and restarting it",
                    now - last,
                )
                busy = list(reading.busy.values())
                if busy:
                    reason = (
                        f"the worker's event loop stopped for more than {stall:g} s while "
                        "deciding this input; the worker was restarted and the input "
                        "dead-lettered"
                    )
                    return self._kill_for(busy[0][1], ReasonCode.PROCESSING_TIMEOUT, reason)
                self._kill()
                return "stalled loop"
        return None

    def _kill(self) -> None:
        assert self.child is not None
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait(timeout=30)

    def _kill_for(self, place: Place, code: ReasonCode, reason: str) -> str:
        log.critical("supervisor: %s[%d]@%d: %s", *place, reason)
        self._kill()
        add_to_poison_list(self.poison, place, code, reason)
        return reason

    def _count_crash(self, code: int | None) -> None:
        busy = list(read_crumbs(self.crumbs).busy.values())
        log.error("supervisor: the worker exited with code %s", code)
        if not busy:
            return
        place = busy[0][1]
        self.crashes[place] += 1
        if self.crashes[place] >= CRASHES_TO_POISON:
            reason = (
                f"the worker died {self.crashes[place]} times while deciding this input "
                f"(last exit code {code}); dead-lettered so that the partition moves on"
            )
            log.critical("supervisor: %s[%d]@%d: %s", *place, reason)
            add_to_poison_list(self.poison, place, ReasonCode.POISON_INPUT, reason)


def supervise(settings: Settings, child_args: list[str]) -> int:
    """Run ``cxstream worker --no-supervise`` with ``child_args`` under a supervisor."""
    command = [sys.executable, "-m", "pipeline.cli", "worker", "--no-supervise", *child_args]
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    logging.basicConfig(
        level=logging.INFO,
        format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s",
        stream=sys.stderr,
    )
    return Supervisor(settings, command).run()
