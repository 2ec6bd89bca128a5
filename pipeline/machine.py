"""What a measurement or a model build ran on: CPU, cores, memory, versions.

Benchmarks, the soak and the model build record it beside their numbers, so that a number is
never read without its machine. Off Linux the ``/proc`` fields fall back or are None.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path
from typing import Any

from pipeline.resources import bundled


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return model


def cpu_summary() -> str:
    """One line for a model card: ``<CPU model>, <n> CPU cores``."""
    return f"{cpu_model()}, {os.cpu_count()} CPU cores"


def describe() -> dict[str, Any]:
    """The machine in full, for a benchmark or soak report (the load average is taken now)."""
    mem_gib = None
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem_gib = round(kib / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    import onnxruntime  # only here: the model build imports this module without needing it

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "kafka": _kafka_version(),
        "platform": platform.platform(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _kafka_version() -> str | None:
    pom = bundled("kafka") / "pom.xml"
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom.read_text())
    return match.group(1) if match else None
