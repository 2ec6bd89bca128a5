"""The local single-node Apache Kafka broker (KRaft), built from Maven Central jars.

``fetch`` resolves the broker classpath with Maven into a git-ignored cache, ``start`` formats
KRaft storage once and runs ``kafka.Kafka`` in its own process group, waiting until the broker
answers a metadata request; ``stop`` ends it cleanly. Pid and logs live in the state dir.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from pipeline.resources import bundled
from pipeline.settings import Settings
from pipeline.tools.broker_security import BrokerSecurity

KAFKA_DEPLOY = bundled("kafka")


class BrokerError(RuntimeError):
    """The local broker could not be fetched, started, reached or stopped; the message says why."""


@dataclass(frozen=True)
class BrokerPaths:
    """Where the local broker keeps its files."""

    home: Path  # jar cache
    state: Path  # data, config, pid, log

    @property
    def libs(self) -> Path:
        return self.home / "libs"

    @property
    def stamp(self) -> Path:
        return self.home / "pom.sha256"

    @property
    def data(self) -> Path:
        return self.state / "kafka-data"

    @property
    def config(self) -> Path:
        return self.state / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.state / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.state / "broker.log"

    @classmethod
    def of(cls, settings: Settings) -> BrokerPaths:
        return cls(home=settings.kafka_home, state=settings.state_dir / "broker")


def _java(settings: Settings) -> str:
    if settings.java_home is not None:
        candidate = settings.java_home / "bin" / "java"
        if candidate.exists():
            return str(candidate)
        raise BrokerError(f"CXSTREAM_JAVA_HOME={settings.java_home} has no bin/java")
    found = shutil.which("java")
    if found is None:
        raise BrokerError("java not found on PATH: install a JDK 17+ or set CXSTREAM_JAVA_HOME")
    return found


def _pom_digest() -> str:
    return hashlib.sha256((KAFKA_DEPLOY / "pom.xml").read_bytes()).hexdigest()


def fetch(settings: Settings, *, quiet: bool = False) -> Path:
    """Resolve the broker jars into the cache (once per pom.xml content); return the libs dir."""
    paths = BrokerPaths.of(settings)
    digest = _pom_digest()
    if (
        paths.stamp.exists()
        and paths.stamp.read_text().strip() == digest
        and any(paths.libs.glob("kafka_2.13-*.jar"))
    ):
        return paths.libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("mvn (Apache Maven) not found on PATH: it fetches the broker jars")
    if paths.libs.exists():
        shutil.rmtree(paths.libs)
    paths.libs.mkdir(parents=True)
    cmd = [
        mvn,
        "-B",
        "-q" if quiet else "-ntp",
        "-f",
        str(KAFKA_DEPLOY / "pom.xml"),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={paths.libs}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-3000:]
        raise BrokerError(
            f"maven could not fetch the broker jars (exit {result.returncode}):\n{tail}"
        )
    paths.stamp.write_text(digest)
    return paths.libs


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _read_pid(paths: BrokerPaths) -> int | None:
    try:
        pid = int(paths.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid


def _cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64, never starting with '-'."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def _write_config(
    settings: Settings, paths: BrokerPaths, security: BrokerSecurity | None = None
) -> None:
    template = (KAFKA_DEPLOY / "server.properties").read_text()
    secured = (
        ""
        if security is None
        else security.server_properties(settings.broker_port, settings.controller_port)
    )
    paths.config.write_text(
        template.format(
            broker_port=settings.broker_port,
            controller_port=settings.controller_port,
            data_dir=paths.data,
            partitions=settings.partitions,
        )
        + secured
    )


def _classpath(paths: BrokerPaths) -> str:
    return str(paths.libs / "*")


def _format_storage(
    settings: Settings, paths: BrokerPaths, security: BrokerSecurity | None = None
) -> None:
    if (paths.data / "meta.properties").exists():
        return
    paths.data.mkdir(parents=True, exist_ok=True)
    cmd = [
        _java(settings),
        "-cp",
        _classpath(paths),
        f"-Dlog4j2.configurationFile={KAFKA_DEPLOY / 'log4j2.properties'}",
        "kafka.tools.StorageTool",
        "format",
        f"--cluster-id={_cluster_id()}",
        f"--config={paths.config}",
        "--ignore-formatted",
        *(security.format_args() if security is not None else []),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-3000:]
        raise BrokerError(f"formatting KRaft storage failed:\n{tail}")


def answers_metadata(
    bootstrap: str, timeout_s: float = 3.0, client: Mapping[str, Any] | None = None
) -> bool:
    """True when a broker at ``bootstrap`` answers a metadata request (``client``: security
    options of the kafka-python admin client, for a secured broker)."""
    kafka_log = logging.getLogger("kafka")
    level = kafka_log.level
    kafka_log.setLevel(logging.CRITICAL)  # refused connections are expected while it starts
    try:
        admin = KafkaAdminClient(
            **{**(client or {}), "bootstrap_servers": bootstrap},
            request_timeout_ms=int(timeout_s * 1000),
            client_id="cxstream-probe",
        )
    except (KafkaError, OSError, ValueError):
        kafka_log.setLevel(level)
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()
        kafka_log.setLevel(level)


def start(
    settings: Settings, *, timeout_s: float = 90.0, security: BrokerSecurity | None = None
) -> int:
    """Start the local broker (fetching jars and formatting storage if needed); return its pid.

    Returns the existing pid when this state dir's broker already runs and answers. With
    ``security`` it runs secured: SASL_SSL only, SCRAM users, ACLs (docs/security.md).
    """
    paths = BrokerPaths.of(settings)
    paths.state.mkdir(parents=True, exist_ok=True)
    bootstrap = f"127.0.0.1:{settings.broker_port}"
    probe = None if security is None else security.admin_client(bootstrap)
    running = _read_pid(paths)
    if running is not None:
        if answers_metadata(bootstrap, client=probe):
            return running
        raise BrokerError(
            f"a broker process (pid {running}) from {paths.state} runs but does not answer on "
            f"{bootstrap}; run `cxstream broker stop` first (log: {paths.log_file})"
        )
    java = _java(settings)
    for port in (settings.broker_port, settings.controller_port):
        if _port_in_use(port):
            raise BrokerError(
                f"port 127.0.0.1:{port} is already in use by another process; stop it or set "
                "CXSTREAM_BROKER_PORT / CXSTREAM_CONTROLLER_PORT"
            )
    fetch(settings, quiet=True)
    _write_config(settings, paths, security)
    _format_storage(settings, paths, security)
    log = paths.log_file.open("ab")
    cmd = [
        java,
        "-Xms256m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={KAFKA_DEPLOY / 'log4j2.properties'}",
        "-cp",
        _classpath(paths),
        "kafka.Kafka",
        str(paths.config),
    ]
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    log.close()
    paths.pid_file.write_text(str(proc.pid))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            paths.pid_file.unlink(missing_ok=True)
            raise BrokerError(
                f"the broker exited with code {proc.returncode} during start-up; last log lines:\n"
                + _log_tail(paths)
            )
        if answers_metadata(bootstrap, timeout_s=2.0, client=probe):
            return proc.pid
        time.sleep(0.5)
    stop(settings)
    raise BrokerError(
        f"the broker did not answer on {bootstrap} within {timeout_s:.0f}s; log tail:\n"
        + _log_tail(paths)
    )


def _log_tail(paths: BrokerPaths, lines: int = 25) -> str:
    try:
        return "\n".join(paths.log_file.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def stop(settings: Settings, *, timeout_s: float = 30.0) -> bool:
    """Stop this state dir's broker (SIGTERM, then SIGKILL); False if none was running."""
    paths = BrokerPaths.of(settings)
    pid = _read_pid(paths)
    if pid is None:
        paths.pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _read_pid(paths) is None or _is_zombie(pid):
            break
        time.sleep(0.2)
    else:
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)
    paths.pid_file.unlink(missing_ok=True)
    return True


def _is_zombie(pid: int) -> bool:
    try:
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@dataclass(frozen=True)
class BrokerStatus:
    pid: int | None
    answering: bool
    bootstrap: str
    log_file: Path

    def describe(self) -> str:
        if self.pid is None:
            where = "answering" if self.answering else "nothing answers"
            return f"local broker: not running from this state dir ({self.bootstrap}: {where})"
        state = "up, answering metadata" if self.answering else "process alive but NOT answering"
        return f"local broker: pid {self.pid}, {state} on {self.bootstrap} (log: {self.log_file})"


def status(settings: Settings) -> BrokerStatus:
    """Whether the local broker runs and answers."""
    paths = BrokerPaths.of(settings)
    bootstrap = f"127.0.0.1:{settings.broker_port}"
    return BrokerStatus(
        pid=_read_pid(paths),
        answering=answers_metadata(bootstrap, timeout_s=2.0),
        bootstrap=bootstrap,
        log_file=paths.log_file,
    )
