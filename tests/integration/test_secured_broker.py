"""The security settings against a secured broker: SASL_SSL with SCRAM users and ACLs.

The module starts its own local broker (pipeline/tools/broker_security.py) on free ports, with
certificates made here by openssl, the users ``worker`` and ``desk``, and the ACLs of
docs/security.md (pipeline/tools/acls.py): ``worker`` may do what the pipeline needs, ``desk``
may only read the alerts topic, nobody else anything.
"""

from __future__ import annotations

import base64
import secrets
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaTimeoutError, TopicAuthorizationFailedError
from pydantic import SecretStr

from pipeline.settings import Settings
from pipeline.streaming.admin import create_topics
from pipeline.streaming.security import client_config
from pipeline.tools import broker
from pipeline.tools.acls import apply_grants, desk_grants, worker_grants
from pipeline.tools.broker_security import BrokerSecurity
from pipeline.tools.output_accounting import collect
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.runner import WorkerProcess, settings_env
from pipeline.tools.synthetic import generate
from tests.conftest import free_port
from tests.tls import Issued, issue, make_ca, pkcs12

N_EVENTS = 300
CLI = [sys.executable, "-m", "pipeline.cli"]


@dataclass(frozen=True)
class Secured:
    """The running secured broker: the worker's settings, and the desk's password."""

    worker: Settings
    desk_password: str
    ca: Issued
    folder: Path

    def as_desk(self) -> Settings:
        return self.worker.model_copy(
            update={"kafka_username": "desk", "kafka_password": SecretStr(self.desk_password)}
        )


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    folder = tmp_path_factory.mktemp("secured")
    ca = make_ca(folder / "tls", "cxstream-test-ca")
    keystore_password, worker_password, desk_password = (secrets.token_hex(8) for _ in range(3))
    security = BrokerSecurity(
        keystore=pkcs12(
            issue(ca, folder / "tls", "broker", ("127.0.0.1", "localhost")),
            folder / "tls" / "broker.p12",
            keystore_password,
        ),
        keystore_password=keystore_password,
        cafile=ca.cert,
        admin_password=secrets.token_hex(8),
        users={"worker": worker_password, "desk": desk_password},
    )
    port = free_port()
    settings = Settings(
        state_dir=folder / "state",
        broker_port=port,
        controller_port=free_port(),
        bootstrap_servers=f"127.0.0.1:{port}",
        partitions=2,
        topic_prefix="sec.",
        app_id="cxsec",
        web_port=free_port(),
        metrics_port=free_port(),
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_username="worker",
        kafka_password=SecretStr(worker_password),
        kafka_ssl_cafile=ca.cert,
    )
    broker.start(settings, timeout_s=120, security=security)
    try:
        admin = KafkaAdminClient(**security.admin_client(settings.bootstrap_servers))
        try:
            apply_grants(admin, "User:worker", worker_grants(settings))
            apply_grants(admin, "User:desk", desk_grants(settings))
        finally:
            admin.close()
        create_topics(settings)  # as the worker: its ACLs allow it
        yield Secured(settings, desk_password, ca, folder)
    finally:
        broker.stop(settings)


def _cli(args: list[str], settings: Settings) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        CLI + args,
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr[-800:])
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr[-800:]
    return errors[0]


def test_pipeline_over_sasl_ssl_accounts_for_every_input(secured: Secured, tmp_path: Path) -> None:
    settings = secured.worker
    records = generate(N_EVENTS, seed=19)
    expected = Counter(r.expect for r in records)
    assert expected["interaction"] and any(k.startswith("deadletter:") for k in expected)
    delivered = produce(
        settings, [Outgoing(settings.topics.raw(r.channel), r.key, r.value) for r in records]
    )
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    try:
        worker.wait_ready(timeout_s=120)
        out = collect(settings, len(delivered), timeout_s=150, settle_s=3, wait_enriched=True)
        assert worker.alive, worker.log_tail()
    finally:
        worker.stop()
        print(f"--- worker log tail ---\n{worker.log_tail(60)}")

    # Exactly one outcome per input, found by its source topic/partition/offset.
    outcome: dict[tuple[str, int, int], str] = {}
    for kind, found in (
        ("interaction", [(r, "interaction") for r in out.interactions]),
        ("duplicate", [(r, r["kind"]) for r in out.duplicates]),
        ("deadletter", [(r, f"deadletter:{r['reason_code']}") for r in out.deadletters]),
    ):
        for rec, what in found:
            src = rec["source"]
            place = (src["topic"], src["partition"], src["offset"])
            assert place not in outcome, (kind, place)
            outcome[place] = what
    by_place = {
        (d.topic, d.partition, d.offset): r for d, r in zip(delivered, records, strict=True)
    }
    assert out.accounted == len(delivered) == N_EVENTS
    assert set(outcome) == set(by_place)
    assert [p for p, got in outcome.items() if by_place[p].expect != got] == []
    for rec in out.deadletters:
        place = (rec["source"]["topic"], rec["source"]["partition"], rec["source"]["offset"])
        assert base64.b64decode(rec["payload_b64"]) == by_place[place].value
    # ... and every interaction went on through scoring and the workflow (cx.enriched)
    assert sorted(e["interaction_id"] for e in out.enriched) == sorted(
        i["interaction_id"] for i in out.interactions
    )


def test_a_wrong_password_is_one_line_naming_the_setting(secured: Secured) -> None:
    wrong = secured.worker.model_copy(update={"kafka_password": SecretStr("not-the-password")})
    for args in (["topics", "create"], ["alerts", "--max", "1", "--idle-timeout", "1"]):
        line = _one_error_line(_cli(args, wrong))
        assert "CXSTREAM_KAFKA_PASSWORD" in line and "refused" in line, (args, line)
        assert "not-the-password" not in line


def test_an_untrusted_certificate_is_one_line_naming_the_setting(secured: Secured) -> None:
    rogue = make_ca(secured.folder / "rogue", "someone-else")
    untrusting = secured.worker.model_copy(update={"kafka_ssl_cafile": rogue.cert})
    line = _one_error_line(_cli(["produce", "--synthetic", "5"], untrusting))
    assert f"CXSTREAM_KAFKA_SSL_CAFILE={rogue.cert}" in line and "not trusted" in line, line


def test_the_desk_reads_alerts_and_is_refused_raw_chat(secured: Secured) -> None:
    settings = secured.worker
    marker = secrets.token_hex(4).encode()
    produce(settings, [Outgoing(settings.topics.alerts, marker, b'{"desk": "check"}')])
    desk = KafkaConsumer(
        **client_config(secured.as_desk()), enable_auto_commit=False, consumer_timeout_ms=3000
    )
    try:
        parts = [
            TopicPartition(settings.topics.alerts, p)
            for p in sorted(desk.partitions_for_topic(settings.topics.alerts) or [])
        ]
        assert parts
        desk.assign(parts)
        desk.seek_to_beginning(*parts)
        assert marker in [m.key for m in desk]
    finally:
        desk.close()
    admin = KafkaAdminClient(**client_config(secured.as_desk()))
    try:
        [raw_chat] = admin.describe_topics([settings.topics.raw("chat")])
    finally:
        admin.close()
    assert raw_chat["error_code"] == TopicAuthorizationFailedError.errno, raw_chat
    line = _one_error_line(_cli(["tail", "raw.chat", "--max", "1"], secured.as_desk()))
    assert "CXSTREAM_KAFKA_USERNAME=desk may not describe it" in line, line


def test_a_plaintext_client_cannot_connect(secured: Secured) -> None:
    with pytest.raises(KafkaTimeoutError, match="Unable to bootstrap"):
        KafkaAdminClient(
            bootstrap_servers=secured.worker.bootstrap_servers,
            bootstrap_timeout_ms=5000,
            request_timeout_ms=3000,
        )
