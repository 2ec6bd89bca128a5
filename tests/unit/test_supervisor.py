"""The supervisor against real hung children (pipeline/streaming/supervisor.py).

Each child is a small Python program that reports through the real breadcrumbs file and then
hangs the way a poison input hangs a worker: a catastrophic regular expression that holds the
interpreter (no signal handler, timer or event loop of the child can run meanwhile).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from pipeline.settings import Settings
from pipeline.streaming.liveness import breadcrumbs_path, poison_path

PRELUDE = """
import re, signal, sys, time
from pathlib import Path
from pipeline.streaming.liveness import Breadcrumbs, PoisonList, breadcrumbs_path, poison_path
from pipeline.contracts.records import Stage
from pipeline.settings import Settings

settings = Settings()
crumbs = Breadcrumbs(breadcrumbs_path(settings))
crumbs.beat()
runs = Path(sys.argv[1])
runs.write_text(runs.read_text() + "x" if runs.exists() else "x")
HANG = lambda: re.match(r"(a+)+$", "a" * 64 + "!")  # centuries of backtracking
"""

SUPERVISE = """
import sys
from pipeline.settings import Settings
from pipeline.streaming.supervisor import Supervisor
child = [sys.executable, "-c", sys.argv[1], sys.argv[2]]
sys.exit(Supervisor(Settings(), child).run())
"""


def _supervisor(tmp_path: Path, child: str, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "CXSTREAM_STATE_DIR": str(tmp_path),
        **{f"CXSTREAM_{k.upper()}": v for k, v in env.items()},
    }
    program = PRELUDE + textwrap.dedent(child)
    return subprocess.Popen(
        [sys.executable, "-c", SUPERVISE, program, str(tmp_path / "runs")],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _settings(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path)


def test_an_input_that_hangs_a_stage_is_dead_lettered_by_the_next_worker(tmp_path: Path) -> None:
    child = """
    if PoisonList(poison_path(settings)).verdict("cx.raw.email", 3, 17):
        Path(str(runs) + ".dead-lettered").write_text("yes")
        sys.exit(0)
    with crumbs.deciding(Stage.STANDARDISE, "cx.raw.email", 3, 17):
        HANG()
    """
    proc = _supervisor(tmp_path, child, record_budget_s="1", loop_stall_timeout_s="600")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out.decode()
    assert (tmp_path / "runs").read_text() == "xx"  # killed once, started again once
    assert (tmp_path / "runs.dead-lettered").exists()
    (entry,) = [
        json.loads(line) for line in poison_path(_settings(tmp_path)).read_text().splitlines()
    ]
    assert (entry["topic"], entry["partition"], entry["offset"]) == ("cx.raw.email", 3, 17)
    assert entry["code"] == "processing_timeout"
    assert "standardise stage spent more than 1 s" in entry["reason"]


def test_a_worker_whose_loop_stops_is_restarted(tmp_path: Path) -> None:
    child = """
    if runs.read_text() == "xx":
        sys.exit(0)
    HANG()  # no stage mark: only the missing heartbeat tells
    """
    proc = _supervisor(tmp_path, child, record_budget_s="600", loop_stall_timeout_s="5")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out.decode()
    assert (tmp_path / "runs").read_text() == "xx"
    assert "event loop made no progress" in out.decode()
    assert not poison_path(_settings(tmp_path)).exists()


def test_sigterm_stops_a_hung_worker_within_the_stop_timeout(tmp_path: Path) -> None:
    child = """
    # Faust's handler only schedules a stop on the event loop, which the hang blocks
    signal.signal(signal.SIGTERM, lambda *_: None)
    HANG()
    """
    proc = _supervisor(
        tmp_path, child, record_budget_s="600", loop_stall_timeout_s="600", stop_timeout_s="2"
    )
    crumbs = breadcrumbs_path(_settings(tmp_path))
    _wait_until(lambda: crumbs.exists() and (tmp_path / "runs").exists(), proc)
    proc.send_signal(signal.SIGTERM)
    # the documented bound: CXSTREAM_STOP_TIMEOUT_S + 1 s (plus generous room for a busy CI)
    out, _ = proc.communicate(timeout=2 + 1 + 10)
    assert proc.returncode == 1, out.decode()  # stopped, but not gracefully
    assert "still running 2s after SIGTERM; killing it" in out.decode()


def _wait_until(condition: object, proc: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the supervisor exited early"
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise TimeoutError("the child never started")
