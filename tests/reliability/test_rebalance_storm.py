"""Many rebalances under load: a second worker joins and is SIGKILLed, again and again.

The single-rebalance scenario (test_disruptions.py) kills one of two workers once. Faust's
offset bookkeeping around a rebalance (buffers cleared, records re-read from the committed
offset) is where records could be lost or decided twice, so this scenario runs through
``CYCLES`` join-and-kill rebalances while one worker keeps the traffic flowing, and then
requires the same exact accounting.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.settings import Settings
from pipeline.tools.runner import WorkerProcess
from pipeline.tools.synthetic import generate
from tests.conftest import free_port
from tests.reliability.accounting import Producer, group_state
from tests.reliability.scenario import finish, resumed, start_worker
from tests.waiting import wait_until

CYCLES = 3
N_EVENTS = 7200
RATE = 80.0  # events/s: traffic for ~90 s, about as long as the three cycles


def test_rebalance_storm(settings: Settings, workers: list[WorkerProcess], tmp_path: Path) -> None:
    """Worker A runs throughout; workers B1..Bn join one at a time and are SIGKILLed."""
    survivor = start_worker(settings, tmp_path / "worker-a.log", workers)
    records = generate(N_EVENTS, seed=31)
    producer = Producer(settings, records, RATE)
    producer.start()
    for cycle in range(1, CYCLES + 1):
        other = settings.model_copy(update={"web_port": free_port(), "metrics_port": free_port()})
        joiner = start_worker(other, tmp_path / f"worker-b{cycle}.log", workers)
        wait_until("a stable group of two", lambda: group_state(settings) == ("Stable", 2), 90)
        resumed(settings, more=100, timeout_s=60)  # the pair deciding
        joiner.kill()
        wait_until("a group of one", lambda: group_state(settings)[1] == 1, 60)
        resumed(settings, timeout_s=60)  # the survivor deciding alone before the next join
    report = finish("storm", settings, records, producer, recovery_s=0.0, workers=workers)
    assert report.problems == []
    assert survivor.alive, survivor.log_tail()
