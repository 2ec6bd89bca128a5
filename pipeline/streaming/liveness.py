"""What a worker tells its supervisor: a loop heartbeat, the input each stage is deciding, and
the inputs the supervisor found poisonous (pipeline/streaming/supervisor.py).

A stage that hangs on one input (a parser whose time grows with the square of the input, a
catastrophic regular expression) holds the interpreter: nothing inside the process — not the
event loop, not a timer, not a signal handler — can stop it. So the worker only *reports*,
into a small memory-mapped file (a few hundred bytes, no system call per record):

* slot 0: the time of the event loop's last heartbeat (every ``HEARTBEAT_S``);
* one slot per stage: the input (topic, partition, offset) being decided and since when, or
  nothing between inputs.

The supervisor, another process, reads the file. When a stage has been on one input longer
than ``CXSTREAM_RECORD_BUDGET_S`` or the loop has not beaten for
``CXSTREAM_LOOP_STALL_TIMEOUT_S``, it kills the worker, appends the input to the poison list
(``poison.jsonl`` beside the file) and starts a new worker. That worker reads the list at start
and dead-letters the input (``processing_timeout``, or ``poison_input`` when the worker died on
it twice) without deciding it again: one decision per input, and the partition moves on.
"""

from __future__ import annotations

import json
import mmap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.contracts.records import ReasonCode, Stage
from pipeline.settings import Settings

HEARTBEAT_S = 1.0
SLOT_BYTES = 512
SLOTS = ["loop", *(stage.value for stage in Stage)]
Place = tuple[str, int, int]


def worker_dir(settings: Settings) -> Path:
    """The directory of one worker's local state (RocksDB, breadcrumbs, poison list)."""
    return settings.state_dir / "worker" / f"{settings.app_id}-{settings.web_port}"


def breadcrumbs_path(settings: Settings) -> Path:
    return worker_dir(settings) / "breadcrumbs"


def poison_path(settings: Settings) -> Path:
    return worker_dir(settings) / "poison.jsonl"


class Breadcrumbs:
    """The worker's side: heartbeat and per-stage "deciding this input since" marks."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            out.write(b" " * (SLOT_BYTES * len(SLOTS)))
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), SLOT_BYTES * len(SLOTS))

    def _write(self, slot: str, text: str) -> None:
        data = text.encode()[: SLOT_BYTES - 1].ljust(SLOT_BYTES - 1) + b"\n"
        start = SLOTS.index(slot) * SLOT_BYTES
        self._map[start : start + SLOT_BYTES] = data

    def beat(self) -> None:
        """The event loop is alive now."""
        self._write("loop", f"{time.monotonic():.3f}")

    @contextmanager
    def deciding(self, stage: Stage, topic: str, partition: int, offset: int) -> Iterator[None]:
        """Mark ``stage`` as busy with one input for the duration of the block."""
        self._write(stage.value, json.dumps([time.monotonic(), topic, partition, offset]))
        try:
            yield
        finally:
            self._write(stage.value, "")


@dataclass(frozen=True)
class Reading:
    """What the supervisor reads: last heartbeat and each busy stage's input and start."""

    heartbeat: float | None
    busy: dict[str, tuple[float, Place]]


def read_breadcrumbs(path: Path) -> Reading:
    """The file as it is now (an absent or half-written slot reads as empty)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return Reading(None, {})
    heartbeat: float | None = None
    busy: dict[str, tuple[float, Place]] = {}
    for i, slot in enumerate(SLOTS):
        text = raw[i * SLOT_BYTES : (i + 1) * SLOT_BYTES].decode(errors="replace").strip()
        if not text:
            continue
        try:
            if slot == "loop":
                heartbeat = float(text)
            else:
                since, topic, partition, offset = json.loads(text)
                busy[slot] = (float(since), (str(topic), int(partition), int(offset)))
        except (ValueError, TypeError):
            continue
    return Reading(heartbeat, busy)


@dataclass(frozen=True)
class Verdict:
    """Why an input is dead-lettered without being decided again."""

    code: ReasonCode
    reason: str


class PoisonList:
    """Inputs the supervisor found poisonous, read once when the worker starts."""

    def __init__(self, path: Path) -> None:
        self.entries: dict[Place, Verdict] = {}
        try:
            lines = path.read_text().splitlines()
        except OSError:
            return
        for line in lines:
            try:
                entry = json.loads(line)
                place = (str(entry["topic"]), int(entry["partition"]), int(entry["offset"]))
                self.entries[place] = Verdict(ReasonCode(entry["code"]), str(entry["reason"]))
            except (ValueError, KeyError, TypeError):
                continue

    def verdict(self, topic: str, partition: int, offset: int) -> Verdict | None:
        return self.entries.get((topic, partition, offset))


def add_to_poison_list(path: Path, place: Place, code: ReasonCode, reason: str) -> None:
    """Append one input to the list (the supervisor's side)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"topic": place[0], "partition": place[1], "offset": place[2]}
    with path.open("a") as out:
        out.write(json.dumps({**entry, "code": code.value, "reason": reason}) + "\n")


class StageGuard:
    """One stage's side of liveness: is this input on the poison list, and "deciding it now"."""

    def __init__(self, stage: Stage, crumbs: Breadcrumbs | None, poison: PoisonList) -> None:
        self.stage = stage
        self.crumbs = crumbs
        self.poison = poison

    def verdict(self, topic: str, partition: int, offset: int) -> Verdict | None:
        """The supervisor's verdict on this input, if it found it poisonous."""
        return self.poison.verdict(topic, partition, offset)

    @contextmanager
    def deciding(self, topic: str, partition: int, offset: int) -> Iterator[None]:
        """Mark the stage busy with this input (a no-op without breadcrumbs)."""
        if self.crumbs is None:
            yield
            return
        with self.crumbs.deciding(self.stage, topic, partition, offset):
            yield
