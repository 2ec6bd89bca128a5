"""The local broker's lifecycle and its errors, for real."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pipeline.settings import Settings
from pipeline.tools import broker
from tests.conftest import free_port


def test_start_refuses_a_busy_port_with_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        busy = squatter.getsockname()[1]
        settings = Settings(state_dir=tmp_path, broker_port=busy, controller_port=free_port())
        with pytest.raises(broker.BrokerError, match=f"port 127.0.0.1:{busy} is already in use"):
            broker.start(settings, timeout_s=10)


def test_missing_java_home_is_reported(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, broker_port=1, java_home=tmp_path / "no-jdk")
    with pytest.raises(broker.BrokerError, match="has no bin/java"):
        broker.start(settings, timeout_s=10)


def test_status_and_stop_of_the_session_broker(kafka: Settings) -> None:
    state = broker.status(kafka)
    assert state.pid is not None and state.answering
    assert f"pid {state.pid}, up, answering metadata" in state.describe()
    # A second start of the same state dir returns the running broker instead of a new one.
    assert broker.start(kafka) == state.pid


def test_stop_when_nothing_runs_says_so(tmp_path: Path) -> None:
    assert broker.stop(Settings(state_dir=tmp_path)) is False
