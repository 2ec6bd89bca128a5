"""Poison inputs through the real broker: nothing a producer sends can hold or kill a worker.

* the crafted emails that froze the worker for 14 minutes, a catastrophic pattern in the rules
  file meeting the text it backtracks on, identifiers that would grow one customer's identity
  record past what its changelog takes, and placeholder ids that merged strangers — mixed into
  normal traffic: each gets exactly one decision, normal inputs behind them are decided within
  the per-record budget plus a margin, ``/metrics`` answers all along, nothing crashes;
* an input the supervisor found hanging a stage (its poison list) is dead-lettered as
  ``processing_timeout`` by the next worker instead of being decided again;
* a worker whose event loop stops (SIGSTOP: nothing inside it can run) is killed and started
  again by its supervisor and goes on deciding; SIGTERM stops a stopped worker within
  ``CXSTREAM_STOP_TIMEOUT_S`` + 1 s.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml

from pipeline.contracts.records import ReasonCode
from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.streaming.liveness import Place, add_to_poison_list, poison_path
from pipeline.tools.runner import WorkerProcess
from pipeline.tools.synthetic import generate
from tests.reliability.accounting import place_of, read_outputs, wait_for
from tests.reliability.scenario import start_worker
from tests.reliability.test_unwritable_outputs import Sender

NOW = "2026-12-07T10:00:00Z"
MARGIN_S = 30.0
"""Room beyond the per-record budget for a loaded 2-core CI machine to decide a few records."""


def _email(text: str | None = None, html: str | None = None) -> bytes:
    ident = uuid.uuid4().hex[:12]
    body = {"message_id": f"<{ident}@mail.example>", "from": f"{ident}@example.com"}
    body |= {"received_at": NOW, "subject": "hostile", "text": text, "html": html}
    return json.dumps(body).encode()


def _chat(text: str, **customer: str) -> bytes:
    ident = uuid.uuid4().hex[:12]
    body = {"message_id": ident, "conversation_id": f"conv-{ident}", "sent_at": NOW}
    body |= {"customer": customer or {"id": f"cust-{ident}"}, "text": text}
    return json.dumps(body).encode()


def _identify(user_id: str, anonymous_id: str) -> bytes:
    ident = uuid.uuid4().hex[:12]
    body = {"messageId": ident, "type": "identify", "timestamp": NOW, "userId": user_id}
    return json.dumps(body | {"anonymousId": anonymous_id}).encode()


def _rules_with_catastrophic_pattern(tmp_path: Path) -> Path:
    rules = yaml.safe_load((PROJECT_ROOT / "pipeline" / "workflow" / "rules.yaml").read_text())
    rules["high_stakes"]["patterns"]["legal_threat"].append("(a+)+$")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    return path


def _metrics_answer(settings: Settings) -> bool:
    url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status == 200 and b"cxstream_stage_events_in_total" in response.read()


def _metric(settings: Settings, name: str) -> float:
    url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        lines = response.read().decode().splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.startswith(name + " "))


def test_poison_inputs_get_one_decision_each(
    pipeline_settings: Settings, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    settings = pipeline_settings.model_copy(
        update={"rules_file": _rules_with_catastrophic_pattern(tmp_path)}
    )
    worker = start_worker(settings, tmp_path / "worker.log", workers)
    sender = Sender(settings)
    expected: dict[Place, str] = {}
    try:
        for rec in generate(80, seed=23):
            expected[sender.send(rec.channel, rec.value, rec.key)] = rec.expect
        poison = [
            ("email", _email(text="On Mon wrote " * 19000), "interaction"),
            ("email", _email(text="a" + " " * 240_000 + "b\n> x"), "interaction"),
            ("email", _email(html="a" + " " * 240_000 + "b\n> x"), "interaction"),
            ("email", _email(text="Am " * 20000), "interaction"),
            ("chat", _chat("a" * 36 + "!"), "interaction"),
            ("chat", _chat("a" * 100_000 + "!"), "interaction"),
        ]
        poison += [
            ("web", _identify("u-fat", f"anon-{i}-" + "z" * 180_000), "deadletter:schema_violation")
            for i in range(7)
        ]
        poison += [
            ("web", _identify("u-long", f"{i:04d}-" + "y" * 240), "interaction") for i in range(150)
        ]
        poison += [
            ("chat", _chat("hello", id="undefined", email="alice@example.com"), "interaction"),
            ("chat", _chat("hello", id="undefined", email="bob@example.com"), "interaction"),
        ]
        places_of_poison: list[Place] = []
        for channel, value, decision in poison:
            place = sender.send(channel, value)
            expected[place] = decision
            places_of_poison.append(place)
        assert _metrics_answer(settings)
        sent_probes = time.monotonic()
        probes = {sender.send("chat", _chat(f"probe {i}")) for i in range(5)}
    finally:
        sender.close()
    for place in probes:
        expected[place] = "interaction"

    # normal inputs behind the poison are decided within the budget plus a margin
    budget = settings.record_budget_s + MARGIN_S
    seen = read_outputs(settings, probes, timeout_s=budget)
    assert probes <= seen.decisions.keys(), f"probes not decided within {budget:.0f} s"
    print(f"probes decided {time.monotonic() - sent_probes:.1f} s after they were sent")
    assert _metrics_answer(settings)

    seen = read_outputs(settings, set(expected), timeout_s=300)
    got = {p: seen.decisions.get(p, []) for p in expected}
    wrong = {p: (want, got[p]) for p, want in expected.items() if want and set(got[p]) != {want}}
    assert not wrong, wrong
    keys = {
        ix["identifiers"].get("email"): ix["customer_key"]
        for ix in _interactions(settings, places_of_poison[-2:])
    }
    assert keys.keys() == {"alice@example.com", "bob@example.com"}
    assert len(set(keys.values())) == 2, "two strangers behind one placeholder id were merged"
    assert _metric(settings, "cxstream_identity_evictions_total") >= 50
    log = worker.log_text()
    for sign in ("Traceback", "crashed", "ProducerSendError", "STOPPED at"):
        assert sign not in log, sign


def _interactions(settings: Settings, places: list[Place]) -> list[dict[str, Any]]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    topic = settings.topics.interactions
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        found = [json.loads(m.value) for m in consumer]
    finally:
        consumer.close()
    wanted = set(places)
    return [ix for ix in found if place_of(ix) in wanted]


def test_an_input_on_the_poison_list_is_dead_lettered_not_decided(
    pipeline_settings: Settings, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    settings = pipeline_settings
    topic = settings.topics.raw("chat")
    # where the next record of partition 0 will land: the list is written before the worker
    # starts, as the supervisor writes it before it starts the next worker
    place: Place = (topic, 0, 0)
    reason = "the standardise stage spent more than 10 s on this input (test)"
    add_to_poison_list(poison_path(settings), place, ReasonCode.PROCESSING_TIMEOUT, reason)
    worker = start_worker(settings, tmp_path / "worker.log", workers)
    sender = Sender(settings)
    try:
        meta = sender.producer.send(topic, value=_chat("hello"), partition=0).get(timeout=60)
        other = sender.send("chat", _chat("hello again"))
    finally:
        sender.close()
    assert (meta.topic, meta.partition, meta.offset) == place
    seen = read_outputs(settings, {place, other}, timeout_s=120)
    assert seen.decisions[place] == ["deadletter:processing_timeout"]
    assert seen.decisions[other] == ["interaction"]
    (letter,) = [d for d in seen.deadletters if d["reason_code"] == "processing_timeout"]
    assert letter["reason"] == reason

    # only documented endpoints on the worker's web port; a malformed request is one quiet line
    web = f"http://127.0.0.1:{settings.web_port}"
    for path in ("/table/", "/table/identity-members/x/", "/router/", "/router/nosuch/", "/graph/"):
        assert _status(web + path) == 404, path
    assert _status(web + "/livez") == 200
    assert _status(web + "/readyz") == 200
    with socket.create_connection(("127.0.0.1", settings.web_port), timeout=5) as raw:
        raw.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        raw.recv(1024)
    assert "Traceback" not in worker.log_text()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_a_stopped_worker_is_restarted_and_sigterm_bounds_the_stop(
    pipeline_settings: Settings, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    settings = pipeline_settings.model_copy(
        update={"loop_stall_timeout_s": 5.0, "stop_timeout_s": 3.0, "session_timeout_s": 10.0}
    )
    worker = start_worker(settings, tmp_path / "worker.log", workers)
    first = worker.worker_pid()
    assert first is not None
    os.kill(first, signal.SIGSTOP)  # its interpreter, loop and signal handlers all stop
    wait_for(
        "a new worker",
        lambda: worker.worker_pid() not in (None, first),
        timeout_s=settings.loop_stall_timeout_s + MARGIN_S,
    )
    assert "event loop made no progress" in worker.log_text()
    sender = Sender(settings)
    try:
        after = {sender.send("chat", _chat(f"after restart {i}")) for i in range(5)}
    finally:
        sender.close()
    seen = read_outputs(settings, after, timeout_s=180)
    assert all(seen.decisions.get(p) == ["interaction"] for p in after), seen.decisions

    second = worker.worker_pid()
    assert second is not None and worker.proc is not None
    os.kill(second, signal.SIGSTOP)
    os.kill(worker.proc.pid, signal.SIGTERM)  # the supervisor only: as Kubernetes stops a pod
    worker.proc.wait(timeout=settings.stop_timeout_s + 1 + 10)
    assert not Path(f"/proc/{second}").exists() or _is_zombie(second)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True
