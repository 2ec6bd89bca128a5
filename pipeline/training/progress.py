"""Progress lines for the model build: wall clock since start, and timed steps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


def log(message: str) -> None:
    """Progress line with the wall clock since start."""
    print(f"[{time.perf_counter() - STARTED:7.1f}s] {message}", flush=True)


STARTED = time.perf_counter()
"""When the process imported this module (the build's clock)."""


@contextmanager
def step(title: str, timings: dict[str, float]) -> Iterator[None]:
    """Log a step's start and duration; record the duration in ``timings``."""
    log(f"== {title}")
    began = time.perf_counter()
    yield
    timings[title] = round(time.perf_counter() - began, 1)
    log(f"   {title}: {timings[title]:.1f}s")
