"""Running a worker as a child process (for the demo and end-to-end tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from pydantic import SecretStr

from pipeline.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment that makes a child process see exactly these settings."""
    env = dict(os.environ)
    for name, value in settings.model_dump(exclude_none=True).items():
        secret = isinstance(value, SecretStr)  # str() of a SecretStr is its mask, not the key
        env[f"CXSTREAM_{name.upper()}"] = value.get_secret_value() if secret else str(value)
    return env


class WorkerProcess:
    """``cxstream worker`` in its own process group, logging to a file."""

    def __init__(
        self,
        settings: Settings,
        log_path: Path,
        *,
        loglevel: str = "info",
        module: str = "pipeline.cli",
    ) -> None:
        self.settings = settings
        self.module = module
        self.log_path = log_path
        self.loglevel = loglevel
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, "worker", "--loglevel", self.loglevel],
            env=settings_env(self.settings),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout_s``; return the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the worker (crash simulation)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def peak_rss_mb(self) -> float | None:
        """The worker's peak resident memory so far (Linux ``VmHWM``), in MiB."""
        return self._status_mb("VmHWM")

    def rss_mb(self) -> float | None:
        """The worker's resident memory now (Linux ``VmRSS``), in MiB."""
        return self._status_mb("VmRSS")

    def worker_pid(self) -> int | None:
        """The pid of the worker itself: ``cxstream worker`` is a supervisor whose child is the
        worker (pipeline/streaming/supervisor.py); None before the child runs or once it exited."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return None
        pids = [int(p) for p in children.split()]
        return pids[0] if pids else None

    def _status_mb(self, field: str) -> float | None:
        """A ``kB`` field of the worker's ``/proc/<pid>/status`` in MiB; None off Linux or once
        it exited."""
        pid = self.worker_pid()
        if pid is None:
            return None
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
        return None

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the worker log."""
        text = self.log_text()
        return "\n".join(text.splitlines()[-lines:]) if text else "(no worker log)"

    def log_text(self) -> str:
        """The whole worker log so far ("" before it exists)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_lines(self, *needles: str, limit: int = 200) -> str:
        """The log lines that contain any of ``needles`` (the last ``limit`` of them)."""
        hits = [line for line in self.log_text().splitlines() if any(n in line for n in needles)]
        return "\n".join(hits[-limit:])

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Block until the worker logs that it is ready; raise with the log tail if it dies."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive:
                raise RuntimeError(f"worker exited early:\n{self.log_tail()}")
            if "Worker ready" in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.3)
        raise RuntimeError(f"worker not ready after {timeout_s:.0f}s:\n{self.log_tail()}")
