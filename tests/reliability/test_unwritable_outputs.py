"""No input lost when its output cannot be written (pipeline/streaming/delivery.py), on the real
broker.

Two scenarios:

* payload sizes from a null value to the largest record the raw topic accepts, mixed into
  normal traffic: each gets exactly one decision with the right reason, dead letters of large
  payloads keep a bounded prefix with the whole payload's size and SHA-256, no agent restarts,
  and ``cxstream_deadletters_total`` equals the records on ``cx.deadletter``;
* faults in the write path made by the broker itself (topic configuration changed under the
  running worker): a permanent one (``max.message.bytes`` below the interactions:
  ``unwritable_output`` dead letters), and one where the dead letter cannot be written either
  (the stage stops at the input, ``cxstream_blocked_inputs`` = 1, and goes on once the topic
  is fixed). Every input is decided exactly once, none skipped. Transient faults (the broker
  away) are the broker-restart scenario of test_disruptions.py; the retry itself is unit-tested
  in tests/unit/test_delivery.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.request
import uuid
from collections.abc import Iterable

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError
from prometheus_client.parser import text_string_to_metric_families

from pipeline.settings import Settings
from pipeline.tools.runner import WorkerProcess
from pipeline.tools.synthetic import generate
from tests.reliability.accounting import Observed, Place, read_outputs
from tests.waiting import wait_until

TIMEOUT_S = 240


def _chat(size: int | None = None, *, tag: str = "") -> bytes:
    """A valid chat message; with ``size``, padded to exactly that many bytes."""
    ident = f"{tag or 'c'}-{uuid.uuid4().hex[:12]}"
    body = {
        "message_id": ident,
        "conversation_id": f"conv-{ident}",
        "sent_at": "2026-12-07T10:00:00Z",
        "customer": {"id": f"cust-{ident}"},
        "author_role": "customer",
        "text": f"Where is my parcel {ident}? ",
    }
    raw = json.dumps(body).encode()
    if size is None:
        return raw
    pad = size - len(raw)
    assert pad >= 0, f"{size} is too small for a chat message"
    body["text"] = str(body["text"]) + "x" * pad
    out = json.dumps(body).encode()
    assert len(out) == size
    return out


class Sender:
    """kafka-python producer that may write null values and records up to 4 MiB."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            acks="all",
            max_request_size=4 * 1024 * 1024,
            # an idempotent kafka-python producer treats a refused record as fatal for all
            # later sends; the probes below are refused on purpose
            enable_idempotence=False,
        )

    def send(self, channel: str, value: bytes | None, key: bytes | None = None) -> Place:
        topic = self.settings.topics.raw(channel)
        meta = self.producer.send(topic, key=key, value=value).get(timeout=60)
        return (meta.topic, meta.partition, meta.offset)

    def close(self) -> None:
        self.producer.close()


def _metrics(settings: Settings) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _deadletters_counted(settings: Settings) -> float:
    return sum(_metrics(settings).get("cxstream_deadletters_total", {}).values())


def _blocked(settings: Settings, stage: str) -> float:
    return _metrics(settings).get("cxstream_blocked_inputs", {}).get((("stage", stage),), 0.0)


def _decisions(seen: Observed, places: Iterable[Place]) -> dict[Place, list[str]]:
    return {p: seen.decisions.get(p, []) for p in places}


def _set_topic_config(settings: Settings, topic: str, config: dict[str, str]) -> None:
    """Replace the topic's dynamic configuration (kafka-python's non-incremental alter) and
    wait until the broker describes the topic with it."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=config)])

        def applied() -> bool:
            resource = ConfigResource(ConfigResourceType.TOPIC, topic)
            described = admin.describe_configs([resource], config_filter="all")
            now = described["topic"][topic]
            return all(now.get(name, {}).get("value") == value for name, value in config.items())

        wait_until(f"{topic} configured with {config}", applied, 30)
    finally:
        admin.close()


def _largest_accepted(sender: Sender, settings: Settings) -> tuple[Place, int]:
    """Write the largest chat message the raw topic takes (found from the configured limit
    down); also check that a record over the limit is refused at produce time."""
    try:
        sender.send("chat", _chat(settings.max_record_bytes + 1024))
    except KafkaError as exc:
        assert "MessageSizeTooLarge" in type(exc).__name__ or "TooLarge" in repr(exc), exc
    else:
        raise AssertionError("a record over the topic's max.message.bytes was accepted")
    size = settings.max_record_bytes
    while size > settings.max_record_bytes - 400:
        try:
            return sender.send("chat", _chat(size)), size
        except KafkaError:
            size -= 16
    raise AssertionError("no size near the topic limit was accepted")


def test_every_payload_size_gets_one_decision(
    pipeline_settings: Settings, worker: WorkerProcess
) -> None:
    settings = pipeline_settings
    limit = settings.max_payload_bytes
    sender = Sender(settings)
    expected: dict[Place, str] = {}
    sizes: dict[Place, int] = {}
    normal = generate(60, seed=17)
    try:
        for i, rec in enumerate(normal):
            place = sender.send(rec.channel, rec.value, rec.key)
            expected[place] = rec.expect
            if i == 10:
                expected[sender.send("chat", None, b"a-tombstone")] = "deadletter:empty_payload"
                expected[sender.send("web", b"")] = "deadletter:empty_payload"
                expected[sender.send("chat", b"{")] = "deadletter:invalid_json"
            if i == 20:
                for size, decision in (
                    (limit - 1, "interaction"),
                    (limit, "interaction"),
                    (limit + 1, "deadletter:oversize"),
                    (900_000, "deadletter:oversize"),
                ):
                    place = sender.send("chat", _chat(size))
                    expected[place], sizes[place] = decision, size
            if i == 30:
                place, size = _largest_accepted(sender, settings)
                expected[place], sizes[place] = "deadletter:oversize", size
    finally:
        sender.close()

    seen = read_outputs(settings, set(expected), timeout_s=TIMEOUT_S)
    got = _decisions(seen, expected)
    wrong = {p: (want, got[p]) for p, want in expected.items() if want and got[p] != [want]}
    assert not wrong, wrong
    assert all(len(set(d)) == 1 for d in got.values()), got

    for letter in seen.deadletters:
        src = letter["source"]
        place = (src["topic"], src["partition"], src["offset"])
        if place in sizes and sizes[place] > limit:
            kept = base64.b64decode(letter["payload_b64"])
            assert letter["payload_truncated"] is True
            assert letter["payload_bytes"] == sizes[place]
            assert len(kept) == limit
            assert kept.startswith(b'{"message_id": "c-')
            assert len(letter["payload_sha256"]) == 64
            assert letter["reason_code"] == "oversize"

    # what the metric says was written is what the topic holds
    on_topic = len(seen.deadletters)
    wait_until("dead-letter counter", lambda: _deadletters_counted(settings) == on_topic, 30)
    log = worker.log_text()
    for sign in ("ProducerSendError", "Traceback", "crashed"):
        assert sign not in log, f"{sign!r} in the worker log"


def test_write_faults_never_skip_an_input(
    pipeline_settings: Settings, worker: WorkerProcess
) -> None:
    settings = pipeline_settings
    topics = settings.topics
    normal = {"max.message.bytes": str(settings.max_record_bytes)}
    sender = Sender(settings)
    try:
        # 1. normal traffic
        first = {sender.send("chat", _chat(tag="before")) for _ in range(10)}
        _expect_all(settings, first, "interaction")

        # 2. permanent: the interaction can never be written; the input is dead-lettered
        _set_topic_config(settings, topics.interactions, {"max.message.bytes": "256"})
        canaries = _until_refused(settings, sender)
        refused = {sender.send("chat", _chat(tag="refused")) for _ in range(10)}
        seen = _expect_all(settings, refused, "deadletter:unwritable_output")
        reasons = [d["reason"] for d in seen.deadletters if d["reason_code"] == "unwritable_output"]
        assert all(topics.interactions in r for r in reasons), reasons[:2]

        # 3. the dead letter cannot be written either: the stage stops at the input, loudly
        _set_topic_config(settings, topics.deadletter, {"max.message.bytes": "256"})
        blocked = {sender.send("chat", _chat(tag="blocked"))}
        wait_until("resolve blocked", lambda: _blocked(settings, "resolve") == 1, 60)
        assert "STOPPED at" in worker.log_text()
        while_blocked = read_outputs(settings, blocked, timeout_s=10, idle_s=10)
        assert not any(while_blocked.decisions.get(p) for p in blocked), "decided while blocked"
        _set_topic_config(settings, topics.deadletter, normal)
        _set_topic_config(settings, topics.interactions, normal)
        _expect_all(settings, blocked, "deadletter:unwritable_output")
        wait_until("resolve unblocked", lambda: _blocked(settings, "resolve") == 0, 30)

        # 4. fixed: normal again
        after = {sender.send("chat", _chat(tag="after")) for _ in range(10)}
    finally:
        sender.close()
    everything = first | set(canaries) | refused | blocked | after
    seen = _expect_all(
        settings,
        everything,
        None,
        want={
            **dict.fromkeys(first | after, "interaction"),
            **dict.fromkeys(refused | blocked, "deadletter:unwritable_output"),
            **canaries,
        },
    )
    # No counter check here: the payload test above checks cxstream_deadletters_total against
    # the topic. Under these faults the worker may be restarted by the stall watchdog (a stall
    # after a producer renewal, docs/reliability.md "Limits"), which resets its counters; what
    # this test proves is that every input is still decided exactly once.
    assert len(seen.deadletters) >= len(refused | blocked)
    assert worker.alive


def _until_refused(settings: Settings, sender: Sender, tries: int = 20) -> dict[Place, str]:
    """Send one chat at a time until one is refused by cx.interactions (the partition leader
    applies a topic configuration a moment after the controller describes it); return each
    canary with the decision it got."""
    got: dict[Place, str] = {}
    for _ in range(tries):
        place = sender.send("chat", _chat(tag="canary"))
        decision = read_outputs(settings, {place}, timeout_s=TIMEOUT_S).decisions[place][0]
        got[place] = decision
        if decision == "deadletter:unwritable_output":
            return got
    raise AssertionError(f"cx.interactions still took records after {tries} tries: {got}")


def _expect_all(
    settings: Settings,
    places: set[Place],
    decision: str | None,
    *,
    want: dict[Place, str] | None = None,
) -> Observed:
    """Every place decided exactly once (redeliveries of the same decision allowed), as wanted."""
    wanted = want if want is not None else dict.fromkeys(places, decision)
    seen = read_outputs(settings, places, timeout_s=TIMEOUT_S)
    got = _decisions(seen, places)
    wrong = {p: (wanted[p], d) for p, d in got.items() if set(d) != {wanted[p]}}
    assert not wrong, wrong
    return seen


def test_dead_letter_fingerprint_is_of_the_whole_payload() -> None:
    """The SHA-256 on a truncated dead letter lets an operator find the whole on the raw
    topic: it is the digest of every byte, not of the kept prefix (no broker needed)."""
    from pipeline.contracts.records import ReasonCode, Stage
    from pipeline.streaming.delivery import Source, bounded_dead_letter

    value = b"y" * 5000
    letter = bounded_dead_letter(
        Stage.STANDARDISE,
        ReasonCode.OVERSIZE,
        "too big",
        "InputError",
        Source("cx.raw.chat", 0, 7, b"k" * 5000, value),
        payload_limit=1024,
    )
    assert letter.payload_sha256 == hashlib.sha256(value).hexdigest()
    assert base64.b64decode(letter.payload_b64) == value[:1024]
    assert letter.key_truncated and len(base64.b64decode(letter.key_b64 or "")) == 1024
