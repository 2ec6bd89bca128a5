"""Fixtures of the reliability scenarios: short session timeouts and workers stopped after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.settings import Settings
from pipeline.tools.runner import WorkerProcess


@pytest.fixture
def settings(pipeline_settings: Settings) -> Settings:
    """A short session timeout so that a dead worker's partitions move within seconds."""
    return pipeline_settings.model_copy(update={"session_timeout_s": 10.0, "stall_timeout_s": 30.0})


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for proc in started:
        proc.stop()
        print(f"--- {proc.log_path.name} tail ---\n{proc.log_tail(30)}")
