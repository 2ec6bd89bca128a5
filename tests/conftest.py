"""A real Apache Kafka broker (KRaft, from Maven Central jars) for the whole test session.

Started on first use by a test in tests/integration or tests/reliability (unit tests never ask
for it) and stopped at the end of the session.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.settings import Settings
from pipeline.streaming.admin import create_topics
from pipeline.tools import broker
from pipeline.tools.runner import WorkerProcess


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if "tests/integration" in path:
            item.add_marker(pytest.mark.integration)
        if "tests/reliability" in path:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings pointing at a broker started for this session (stopped at the end)."""
    port, controller = free_port(), free_port()
    settings = Settings(
        state_dir=tmp_path_factory.mktemp("cxstream-state"),
        broker_port=port,
        controller_port=controller,
        bootstrap_servers=f"127.0.0.1:{port}",
        partitions=4,
    )
    broker.start(settings, timeout_s=120)
    try:
        yield settings
    finally:
        broker.stop(settings)


@pytest.fixture
def pipeline_settings(kafka: Settings) -> Settings:
    """Fresh topics (unique prefix) and consumer group for one test."""
    tag = uuid.uuid4().hex[:8]
    settings = kafka.model_copy(
        update={
            "topic_prefix": f"t{tag}.",
            "app_id": f"cxtest-{tag}",
            "web_port": free_port(),
            "metrics_port": free_port(),
        }
    )
    create_topics(settings)
    return settings


@pytest.fixture
def worker(pipeline_settings: Settings, tmp_path: Path) -> Iterator[WorkerProcess]:
    """A running ``cxstream worker`` for the test's topics; its log is printed on failure."""
    proc = WorkerProcess(pipeline_settings, tmp_path / "worker.log").start()
    try:
        proc.wait_ready(timeout_s=90)
        yield proc
    finally:
        proc.stop()
        print(f"--- worker log tail ---\n{proc.log_tail(60)}")
