"""Hostile bytes through the real broker: the worker survives and decides each one as expected.

The parsers' own property tests (tests/unit/test_hostile_input.py, hypothesis) cover the
standardiser, normalisers and workflow engine in-process; here the same kinds of input travel
through Kafka into a running worker, mixed into valid traffic on every raw topic.
"""

from __future__ import annotations

import json
import random
import time

from pipeline.contracts.records import ReasonCode
from pipeline.settings import Settings
from pipeline.tools.runner import WorkerProcess
from pipeline.tools.synthetic import RawRecord, generate
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


def _dead(code: ReasonCode) -> str:
    return f"deadletter:{code.value}"


TEXT_FIELD = {"chat": "text", "email": "text", "voice": "transcript", "survey": "comment"}
"""Where each channel carries its customer text (web: ``properties.text``)."""
SHALLOW, TOO_DEEP = 100, (5_000, 60_000)
"""A 100-deep array parses (and is not an object); Python 3.11 (pinned in pyproject) gives up
with a RecursionError near 1,000 levels, which the standardiser reports as invalid JSON."""
KINDS = 12


def _hostile(rng: random.Random, i: int) -> tuple[bytes, str]:
    """One hostile payload of a kind chosen by ``i`` (every kind on every channel), and the one
    decision the pipeline must make about it.

    Each expectation follows from what the kind is, never from running the standardiser; where
    a kind draws at random, the draw decides the expectation too. Apart from the one hostile
    part, the payload is a valid event of its channel for a customer of its own (so an accepted
    one is an interaction, never a near-duplicate of another).
    """
    kind = i % KINDS
    channel = CHANNELS[i % len(CHANNELS)]
    id_field, time_field = VALID_ID[channel]
    base: dict[str, object] = {
        id_field: f"hostile-{i}",
        time_field: 1_795_000_000,
        "type": "track",
        "customer": {"id": f"h-{i}"},
        "anonymousId": f"h-{i}",
        "from": f"h{i}@example.com",
        "customer_id": f"h-{i}",
        "kind": "csat",
        "score": 3,
        "text": "fine",
    }
    if kind == 0:  # random bytes after 0xFF, a byte that never occurs in UTF-8
        return b"\xff" + rng.randbytes(rng.randint(0, 2000)), _dead(ReasonCode.INVALID_UTF8)
    if kind == 1:
        return b'{"text": "\xff\xfe broken utf-8 \xc3\x28"}', _dead(ReasonCode.INVALID_UTF8)
    if kind == 2:
        depth = rng.choice([SHALLOW, *TOO_DEEP])
        code = ReasonCode.NOT_AN_OBJECT if depth == SHALLOW else ReasonCode.INVALID_JSON
        return _nested(depth).encode(), _dead(code)
    if kind == 3:  # NaN and Infinity are not JSON
        event = json.dumps({**base, "score": float("nan"), "sentiment": float("inf")})
        return event.encode(), _dead(ReasonCode.INVALID_JSON)
    if kind == 4:  # epoch seconds or milliseconds far outside any plausible event time
        when = rng.choice([-(10**15), 10**15, 253402300800])
        return json.dumps({**base, time_field: when}).encode(), _dead(ReasonCode.INVALID_TIMESTAMP)
    if kind == 5:
        value = json.dumps({**base, time_field: "0001-01-01T00:00:00Z"})
        return value.encode(), _dead(ReasonCode.INVALID_TIMESTAMP)
    if kind == 6:  # hostile text where the channel reads it: kept, unless over the size limit
        text = rng.choice(TEXTS)
        if channel == "web":
            body = {**base, "properties": {"text": text}}
        else:
            body = {**base, TEXT_FIELD[channel]: text}
        payload = json.dumps(body).encode()
        oversize = len(payload) > Settings().max_payload_bytes
        return payload, _dead(ReasonCode.OVERSIZE) if oversize else "interaction"
    if kind == 7:
        value = json.dumps({**base, id_field: ["not", "a", "string"], "customer": 42})
        return value.encode(), _dead(ReasonCode.MISSING_ID)
    if kind == 8:  # a 5,000-digit integer: past Python's 4,300-digit limit, so not JSON it reads
        value = json.dumps(base)[:-1] + ', "big": ' + "9" * 5000 + ', "huge": 1e400}'
        return value.encode(), _dead(ReasonCode.INVALID_JSON)
    if kind == 9:
        return json.dumps([base, base]).encode(), _dead(ReasonCode.NOT_AN_OBJECT)
    if kind == 10:  # a lone surrogate escape: no UTF-8 text can carry it
        payload = b'{"message_id": "\\ud800", "text": "lone surrogate"}'
        return payload, _dead(ReasonCode.INVALID_UTF8)
    return b"", _dead(ReasonCode.EMPTY_PAYLOAD)


def test_hostile_input_through_the_broker(
    pipeline_settings: Settings, worker: WorkerProcess
) -> None:
    rng = random.Random(5)
    valid = generate(400, seed=31)
    hostile = [
        RawRecord(CHANNELS[i % len(CHANNELS)], None, *_hostile(rng, i), None) for i in range(240)
    ]
    # every kind on every channel (12 x 5 = 60 combinations), each with one exact expectation
    assert len({(i % KINDS, r.channel) for i, r in enumerate(hostile)}) == KINDS * len(CHANNELS)
    assert all(r.expect for r in hostile)
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
    # Every record, valid or hostile, against its one expected decision.
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
    kind_of = {id(r): i % KINDS for i, r in enumerate(hostile)}
    wrong = []
    for d, r in zip(delivered, mixed, strict=True):
        got = seen.decisions.get((d.topic, d.partition, d.offset), ["nothing"])[0]
        if id(r) in kind_of and got != r.expect:
            wrong.append(f"kind {kind_of[id(r)]} on {r.channel}: expected {r.expect}, got {got}")
    assert wrong == []
    assert "Traceback" not in worker.log_path.read_text()
