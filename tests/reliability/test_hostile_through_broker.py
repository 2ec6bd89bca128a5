"""Hostile bytes through the real broker: the worker survives and decides every single one.

The parsers' own property tests (tests/unit/test_hostile_input.py, hypothesis) cover the
standardiser, normalisers and workflow engine in-process; here the same kinds of input travel
through Kafka into a running worker, mixed into valid traffic on every raw topic.
"""

from __future__ import annotations

import json
import random
import time

from pipeline.runner import WorkerProcess
from pipeline.settings import Settings
from pipeline.synthetic import RawRecord, generate
from tests.reliability.accounting import Producer, check, read_outputs

CHANNELS = ("web", "chat", "email", "voice", "survey")
VALID_ID = {
    "web": ("messageId", "timestamp"),
    "chat": ("message_id", "sent_at"),
    "email": ("message_id", "received_at"),
    "voice": ("call_id", "started_at"),
    "survey": ("response_id", "submitted_at"),
}
TEXTS = [
    "مرحبا، طلبي لم يصل بعد 😡😡",  # RTL + emoji
    "\u202eevil override\u202c and zero\u200bwidth",
    "🧨" * 2000,
    "x" * 300_000,  # far above the text limit
    "\x00\x01\x02 control characters \x7f",
    "<script>alert(1)</script><b>bold</b>",
]


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _hostile(rng: random.Random, i: int) -> bytes:
    """One hostile payload of a kind chosen by ``i`` (every kind appears)."""
    kind = i % 12
    channel = CHANNELS[i % len(CHANNELS)]
    id_field, time_field = VALID_ID[channel]
    base: dict[str, object] = {
        id_field: f"hostile-{i}",
        time_field: 1_795_000_000,
        "customer": {"id": f"h-{i}"},
        "anonymousId": f"h-{i}",
        "from": f"h{i}@example.com",
        "caller_number": "+14155550132",
        "kind": "csat",
        "score": 3,
        "text": "fine",
    }
    if kind == 0:
        return rng.randbytes(rng.randint(1, 2000))
    if kind == 1:
        return b'{"text": "\xff\xfe broken utf-8 \xc3\x28"}'
    if kind == 2:
        return _nested(rng.choice([100, 5_000, 60_000])).encode()
    if kind == 3:
        return json.dumps({**base, "score": float("nan"), "sentiment": float("inf")}).encode()
    if kind == 4:
        return json.dumps(
            {**base, time_field: rng.choice([-(10**15), 10**15, 253402300800])}
        ).encode()
    if kind == 5:
        return json.dumps({**base, time_field: "0001-01-01T00:00:00Z"}).encode()
    if kind == 6:
        return json.dumps({**base, "text": rng.choice(TEXTS)}).encode()
    if kind == 7:
        return json.dumps({**base, id_field: ["not", "a", "string"], "customer": 42}).encode()
    if kind == 8:  # a 5,000-digit integer and a 1e400 float, as JSON literals
        return (json.dumps(base)[:-1] + ', "big": ' + "9" * 5000 + ', "huge": 1e400}').encode()
    if kind == 9:
        return json.dumps([base, base]).encode()
    if kind == 10:
        return b'{"message_id": "\\ud800", "text": "lone surrogate"}'
    return b""


def test_hostile_input_through_the_broker(
    pipeline_settings: Settings, worker: WorkerProcess
) -> None:
    rng = random.Random(5)
    valid = generate(400, seed=31)
    hostile = [
        RawRecord(CHANNELS[i % len(CHANNELS)], None, _hostile(rng, i), "", None) for i in range(240)
    ]
    # Hostile records at random places; the valid ones keep their order (a duplicate's ground
    # truth depends on its original coming first).
    mixed = list(valid)
    for record in hostile:
        mixed.insert(rng.randrange(len(mixed) + 1), record)
    producer = Producer(pipeline_settings, mixed, rate=400.0)
    producer.start()
    delivered = producer.finish(timeout_s=120)
    started = time.monotonic()
    places = {(d.topic, d.partition, d.offset) for d in delivered}
    seen = read_outputs(pipeline_settings, places, timeout_s=240)
    assert worker.alive, worker.log_tail()
    # Valid records: the ground truth. Hostile ones: any single decision, with a reason if
    # rejected (check() skips their expectation when it is empty).
    report = check(
        "hostile",
        mixed,
        delivered,
        seen,
        recovery_s=0.0,
        drain_s=time.monotonic() - started,
    )
    print(report.line())
    assert report.problems == []
    hostile_places = [
        (d.topic, d.partition, d.offset)
        for d, r in zip(delivered, mixed, strict=True)
        if not r.expect
    ]
    rejected = [p for p in hostile_places if seen.decisions[p][0].startswith("deadletter:")]
    assert len(rejected) >= len(hostile_places) // 2
    assert "Traceback" not in worker.log_path.read_text()
