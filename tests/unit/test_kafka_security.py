"""Kafka security settings → client options (no broker; tests/integration/test_secured_broker.py
runs them against one)."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import pytest
from faust.auth import SASLCredentials, SSLCredentials
from pydantic import SecretStr

from pipeline.settings import PROJECT_ROOT, Settings, SettingsError, get_settings
from pipeline.streaming.security import check_access, client_config, faust_credentials
from pipeline.tools.acls import desk_grants, worker_grants
from tests.tls import make_ca


def test_plaintext_sends_no_security_options() -> None:
    config = client_config(Settings(bootstrap_servers="k1:9092,k2:9092"))
    assert config == {"bootstrap_servers": "k1:9092,k2:9092", "security_protocol": "PLAINTEXT"}
    assert faust_credentials(Settings()) is None
    check_access(Settings())  # nothing to check, nothing connects


def test_sasl_ssl_trusts_only_the_given_ca(tmp_path: Path) -> None:
    ca = make_ca(tmp_path, "only-this-ca")
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_username="worker",
        kafka_password=SecretStr("s3cret"),
        kafka_ssl_cafile=ca.cert,
    )
    config = client_config(settings)
    assert (config["security_protocol"], config["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-256")
    assert (config["sasl_plain_username"], config["sasl_plain_password"]) == ("worker", "s3cret")
    context = config["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "only-this-ca"),),)]
    credentials = faust_credentials(settings)
    assert isinstance(credentials, SASLCredentials)
    assert (
        credentials.protocol.value == "SASL_SSL" and credentials.mechanism.value == "SCRAM-SHA-256"
    )


def test_ssl_without_sasl_and_without_hostname_check(tmp_path: Path) -> None:
    settings = Settings(
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=make_ca(tmp_path, "ca").cert,
        kafka_ssl_check_hostname=False,
    )
    config = client_config(settings)
    assert "sasl_mechanism" not in config and not config["ssl_context"].check_hostname
    assert isinstance(faust_credentials(settings), SSLCredentials)


def test_the_password_can_come_from_a_mounted_secret(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("from file with spaces \n", encoding="utf-8")
    settings = Settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_username="worker",
        kafka_password_file=secret,
    )
    assert client_config(settings)["sasl_plain_password"] == "from file with spaces "
    assert "ssl_context" not in client_config(settings)


def test_sasl_without_credentials_is_refused_naming_the_variables() -> None:
    with pytest.raises(SettingsError) as caught:
        get_settings(kafka_security_protocol="SASL_SSL", kafka_username="worker")
    assert "CXSTREAM_KAFKA_PASSWORD" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unreadable_files_are_setting_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(SettingsError, match=r"CXSTREAM_KAFKA_SSL_CAFILE=.*nowhere\.pem"):
        client_config(Settings(kafka_security_protocol="SSL", kafka_ssl_cafile=missing))
    with pytest.raises(SettingsError, match=r"CXSTREAM_KAFKA_PASSWORD_FILE=.*nowhere\.pem"):
        client_config(
            Settings(
                kafka_security_protocol="SASL_SSL",
                kafka_username="worker",
                kafka_password_file=missing,
            )
        )


def test_the_security_docs_list_exactly_the_granted_acls() -> None:
    doc = (PROJECT_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| (worker|desk) \| (topic|group|cluster) `([^`]+)` \| (\w+) \| ([A-Z_, ]+) \|",
        doc,
        flags=re.M,
    )
    settings = Settings()
    names = {settings.topic_prefix: "<prefix>", f"{settings.app_id}-": "<app id>-"}
    names[settings.app_id] = "<app id>"
    names[settings.topics.alerts] = "<prefix>alerts"
    granted = [
        (
            who,
            g.resource.lower(),
            names.get(g.name, g.name),
            g.pattern.lower(),
            ", ".join(g.operations),
        )
        for who, grants in (("worker", worker_grants(settings)), ("desk", desk_grants(settings)))
        for g in grants
    ]
    assert rows == granted
