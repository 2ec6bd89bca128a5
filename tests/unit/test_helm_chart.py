"""The Helm chart (deploy/helm/cxstream) lints and renders what docs/deploy.md promises.

Rendered with the real ``helm`` binary (``make helm`` builds it into ``.cache/bin``): one
StatefulSet per role with its own consumer group, RocksDB state on volumes where a role keeps
tables, a locked web server, probes, a non-root read-only container, only real settings.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.settings import AGENTS, PROJECT_ROOT, Settings

CHART = PROJECT_ROOT / "deploy" / "helm" / "cxstream"
ROLES = ("spine", "scoring", "workflow")
STATEFUL = ("spine", "workflow")  # the roles that own tables


def _helm() -> str:
    for found in (os.environ.get("HELM"), PROJECT_ROOT / ".cache" / "bin" / "helm"):
        if found and Path(found).is_file():
            return str(found)
    on_path = shutil.which("helm")
    if on_path is None:
        pytest.fail("helm not found: `make helm` builds it into .cache/bin (Go toolchain)")
    return on_path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_helm(), *args], capture_output=True, text=True, timeout=120, check=False
    )


def _render(*sets: str) -> list[dict[str, Any]]:
    args = ["template", "cx", str(CHART), "--namespace", "cx"]
    for value in sets:
        args += ["--set", value]
    done = _run(*args)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def _of(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """Documents of one kind by their role (``app.kubernetes.io/component``) or name."""
    found = {}
    for doc in docs:
        if doc["kind"] == kind:
            labels = doc["metadata"].get("labels", {})
            found[labels.get("app.kubernetes.io/component", doc["metadata"]["name"])] = doc
    return found


def _container(statefulset: dict[str, Any]) -> dict[str, Any]:
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    return container


def _env(statefulset: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in _container(statefulset)["env"]}


def test_helm_lint_passes_strict() -> None:
    done = _run("lint", "--strict", str(CHART))
    assert done.returncode == 0, done.stdout + done.stderr


def test_one_statefulset_per_role_each_its_own_consumer_group() -> None:
    sets = _of(_render(), "StatefulSet")
    assert sorted(sets) == sorted(ROLES)
    envs = {role: _env(s) for role, s in sets.items()}
    app_ids = {role: env["CXSTREAM_APP_ID"] for role, env in envs.items()}
    assert app_ids == {r: f"cxstream-{r}" for r in ROLES}
    agents = {role: env["CXSTREAM_AGENTS"] for role, env in envs.items()}
    assert agents == {"spine": "standardise,resolve", "scoring": "score", "workflow": "workflow"}
    assert sets["spine"]["spec"]["replicas"] == 1  # resolve reads one partition
    assert not [env for env in envs.values() if "CXSTREAM_EMIT_EMBEDDINGS" in env]


def test_with_trends_every_agent_runs_in_exactly_one_role() -> None:
    sets = _of(_render("roles.trends.enabled=true"), "StatefulSet")
    assert sorted(sets) == sorted((*ROLES, "trends"))
    every = [a for s in sets.values() for a in _env(s)["CXSTREAM_AGENTS"].split(",")]
    assert sorted(every) == sorted(AGENTS)
    assert len({_env(s)["CXSTREAM_APP_ID"] for s in sets.values()}) == len(sets)
    # The detector reads embeddings the scoring role must put on cx.enriched.
    assert {_env(s)["CXSTREAM_EMIT_EMBEDDINGS"] for s in sets.values()} == {"true"}
    assert sets["trends"]["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "state"


SECURED = (
    "kafka.security.protocol=SASL_SSL",
    "kafka.security.username=cx-worker",
    "kafka.security.passwordSecret.name=kafka-password",
    "kafka.security.tlsSecret.name=kafka-tls",
    "kafka.security.tlsSecret.certKey=tls.crt",
    "kafka.security.tlsSecret.keyKey=tls.key",
    "kafka.security.checkHostname=false",
)


def test_every_cxstream_variable_the_chart_sets_is_a_real_setting() -> None:
    docs = _render(*SECURED, "env.CXSTREAM_LOG_LEVEL=warning")
    known = {f"CXSTREAM_{name.upper()}" for name in Settings.model_fields}
    for role, statefulset in _of(docs, "StatefulSet").items():
        used = {name for name in _env(statefulset) if name.startswith("CXSTREAM_")}
        assert used - known == set(), f"{role} sets unknown variables"


def test_stateful_roles_keep_rocksdb_on_persistent_volumes() -> None:
    for role, statefulset in _of(_render(), "StatefulSet").items():
        mounts = {m["name"]: m["mountPath"] for m in _container(statefulset)["volumeMounts"]}
        assert mounts["state"] == _env(statefulset)["CXSTREAM_STATE_DIR"]
        assert _env(statefulset)["CXSTREAM_STORE"] == "rocksdb://"
        claims = statefulset["spec"].get("volumeClaimTemplates", [])
        volumes = {v["name"]: v for v in statefulset["spec"]["template"]["spec"]["volumes"]}
        if role in STATEFUL:
            assert [c["metadata"]["name"] for c in claims] == ["state"]
            assert "state" not in volumes
        else:
            assert claims == []
            assert "emptyDir" in volumes["state"]


def test_the_web_server_is_reachable_only_with_the_token() -> None:
    docs = _render()
    (secret,) = _of(docs, "Secret").values()
    assert set(secret["data"]) == {"token"}
    for statefulset in _of(docs, "StatefulSet").values():
        env = _env(statefulset)
        assert env["CXSTREAM_WEB_HOST"] == "0.0.0.0"
        assert env["CXSTREAM_WEB_ADVERTISED_HOST"] == {"fieldRef": {"fieldPath": "status.podIP"}}
        mounts = {m["name"]: m["mountPath"] for m in _container(statefulset)["volumeMounts"]}
        assert env["CXSTREAM_WEB_TOKEN_FILE"] == f"{mounts['web-token']}/token"
        volumes = {v["name"]: v for v in statefulset["spec"]["template"]["spec"]["volumes"]}
        assert volumes["web-token"]["secret"]["secretName"] == secret["metadata"]["name"]


def test_probes_resources_and_a_locked_down_container() -> None:
    for statefulset in _of(_render(), "StatefulSet").values():
        container = _container(statefulset)
        for probe, path in [("startupProbe", "/livez"), ("livenessProbe", "/livez")]:
            assert container[probe]["httpGet"] == {"path": path, "port": "web"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "web"}
        assert {p["name"] for p in container["ports"]} == {"web", "metrics"}
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        pod = statefulset["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False


def test_kafka_credentials_come_from_mounted_secrets() -> None:
    plain = _of(_render(), "StatefulSet")
    assert not [n for s in plain.values() for n in _env(s) if n.startswith("CXSTREAM_KAFKA_")]
    for statefulset in _of(_render(*SECURED), "StatefulSet").values():
        env = _env(statefulset)
        mounts = {m["name"]: m["mountPath"] for m in _container(statefulset)["volumeMounts"]}
        volumes = {v["name"]: v for v in statefulset["spec"]["template"]["spec"]["volumes"]}
        assert env["CXSTREAM_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env["CXSTREAM_KAFKA_USERNAME"] == "cx-worker"
        assert "CXSTREAM_KAFKA_PASSWORD" not in env  # the password is a file, never a value
        assert env["CXSTREAM_KAFKA_PASSWORD_FILE"] == f"{mounts['kafka-sasl']}/password"
        assert volumes["kafka-sasl"]["secret"]["secretName"] == "kafka-password"
        assert env["CXSTREAM_KAFKA_SSL_CAFILE"] == f"{mounts['kafka-tls']}/ca.crt"
        assert env["CXSTREAM_KAFKA_SSL_KEYFILE"] == f"{mounts['kafka-tls']}/tls.key"
        assert volumes["kafka-tls"]["secret"]["secretName"] == "kafka-tls"
        assert env["CXSTREAM_KAFKA_SSL_CHECK_HOSTNAME"] == "false"


def test_a_sasl_protocol_without_its_password_secret_is_refused() -> None:
    done = _run(
        "template",
        "cx",
        str(CHART),
        "--set",
        "kafka.security.protocol=SASL_SSL",
        "--set",
        "kafka.security.username=cx-worker",
    )
    assert done.returncode != 0
    assert "kafka.security.passwordSecret.name" in done.stderr


def test_pod_monitor_and_lag_autoscaling_when_enabled() -> None:
    docs = _render(
        "metrics.podMonitor.enabled=true",
        "metrics.serviceMonitor.enabled=true",
        "roles.scoring.autoscaling.enabled=true",
        "roles.workflow.autoscaling.enabled=true",
    )
    (monitor,) = _of(docs, "PodMonitor").values()
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics"
    assert {"targetLabel": "job", "replacement": "cxstream"} in endpoint["relabelings"]
    assert len(_of(docs, "ServiceMonitor")) == 1
    scaled = _of(docs, "ScaledObject")
    assert sorted(scaled) == ["scoring", "workflow"]
    topics = {"scoring": "cx.interactions", "workflow": "cx.internal.scored"}
    for role, scaler in scaled.items():
        (trigger,) = scaler["spec"]["triggers"]
        assert trigger["metadata"]["consumerGroup"] == f"cxstream-{role}"
        assert trigger["metadata"]["topic"] == topics[role]
        assert scaler["spec"]["maxReplicaCount"] <= 6  # the default partitions
        assert "replicas" not in _of(docs, "StatefulSet")[role]["spec"]  # KEDA owns it


def test_autoscaling_beyond_the_partitions_is_refused() -> None:
    done = _run(
        "template",
        "cx",
        str(CHART),
        "--set",
        "roles.scoring.autoscaling.enabled=true",
        "--set",
        "roles.scoring.autoscaling.maxReplicas=12",
    )
    assert done.returncode != 0
    assert "more than kafka.partitions=6" in done.stderr
