"""The Prometheus config, rules and Grafana dashboards in deploy/ are valid and name real metrics.

promtool comes from ``deploy/prometheus/fetch-prometheus.sh`` (PATH, or Debian's package
unpacked under ``.cache/prometheus``); no Kafka needed.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "rules" / "cxstream.rules.yml"
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
DATASOURCE_UID = "cxstream-prometheus"
METRIC_NAME = re.compile(r"cxstream_[a-z0-9_]+")


@pytest.fixture(scope="session")
def prometheus_bin() -> Path:
    """Directory holding ``prometheus`` and ``promtool`` (fetched once per machine)."""
    done = subprocess.run(
        ["bash", str(PROMETHEUS / "fetch-prometheus.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"fetch-prometheus.sh failed ({done.returncode}):\n{done.stderr}")
    bin_dir = Path(done.stdout.strip().splitlines()[-1])
    assert (bin_dir / "promtool").is_file(), f"no promtool in {bin_dir}: {done.stdout}"
    return bin_dir


def _promtool(bin_dir: Path, *args: str) -> None:
    done = subprocess.run(
        [str(bin_dir / "promtool"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, (
        f"promtool {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )


def test_prometheus_config_is_valid(prometheus_bin: Path) -> None:
    _promtool(prometheus_bin, "check", "config", "deploy/prometheus/prometheus.yml")


def test_rules_are_valid(prometheus_bin: Path) -> None:
    _promtool(prometheus_bin, "check", "rules", "deploy/prometheus/rules/cxstream.rules.yml")


def test_rules_unit_tests_pass(prometheus_bin: Path) -> None:
    _promtool(prometheus_bin, "test", "rules", "deploy/prometheus/tests/cxstream.rules.test.yml")


def _exported_names() -> set[str]:
    """Every sample name a worker can export, from the metric families in pipeline.metrics.

    A labelled family has no samples until a label set is used, so the suffixes its type adds
    (``_total``; ``_bucket``/``_sum``/``_count``) are added from the type as well.
    """
    names = {"cxstream_build_info"}
    for family in Metrics().registry.collect():
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count"))
        elif family.type == "gauge":
            names.add(family.name)
    return names


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _recorded_names() -> set[str]:
    return {rule["record"] for rule in _rules() if "record" in rule}


def _unknown_metrics(expr: str, recorded: set[str], exported: set[str]) -> set[str]:
    # Recording-rule names (`level:cxstream_…:op`) contain a cxstream_ fragment: drop them first.
    for name in sorted(recorded, key=len, reverse=True):
        expr = expr.replace(name, " ")
    return set(METRIC_NAME.findall(expr)) - exported


def _load(path: Path) -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(path.read_text())
    return dashboard


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Panels, including those nested in collapsed rows; rows themselves have no queries."""
    out: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        if panel.get("type") == "row":
            out.extend(panel.get("panels", []))
        else:
            out.append(panel)
    return out


def test_rules_name_only_exported_metrics() -> None:
    exported, recorded = _exported_names(), _recorded_names()
    for rule in _rules():
        unknown = _unknown_metrics(rule["expr"], recorded, exported)
        assert not unknown, f"{rule.get('record') or rule.get('alert')}: unknown {unknown}"


def test_every_alert_has_severity_and_annotations() -> None:
    alerts = [rule for rule in _rules() if "alert" in rule]
    assert {a["alert"] for a in alerts} >= {
        "CxstreamWorkerDown",
        "CxstreamConsumerLagGrowing",
        "CxstreamDeadLetterSpike",
        "CxstreamRecordsSkipped",
        "CxstreamStageBlocked",
        "CxstreamLatencySLOBreach",
        "CxstreamNegativeSentimentSpike",
    }
    for alert in alerts:
        assert alert["labels"]["severity"] in {"critical", "warning", "info"}, alert["alert"]
        assert {"summary", "description", "runbook"} <= set(alert["annotations"]), alert["alert"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_well_formed(path: Path) -> None:
    dashboard = _load(path)
    assert dashboard["schemaVersion"] == 39
    assert dashboard["title"].startswith("cxstream · ")
    panels = _panels(dashboard)
    rows = [panel for panel in dashboard["panels"] if panel.get("type") == "row"]
    ids = [panel["id"] for panel in rows + panels]
    assert len(ids) == len(set(ids)), f"duplicate panel ids in {path.name}: {sorted(ids)}"
    for panel in panels:
        title = panel["title"]
        assert panel["datasource"]["uid"] == DATASOURCE_UID, title
        exprs = [t.get("expr", "").strip() for t in panel.get("targets", [])]
        assert exprs, f"{title}: no targets"
        assert all(exprs), f"{title}: a target has no expr"
        for t in panel["targets"]:
            assert t.get("datasource", {"uid": DATASOURCE_UID})["uid"] == DATASOURCE_UID, title
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == DATASOURCE_UID, variable["name"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_names_only_exported_metrics(path: Path) -> None:
    exported, recorded = _exported_names(), _recorded_names()
    dashboard = _load(path)
    queries = [(p["title"], t["expr"]) for p in _panels(dashboard) for t in p["targets"]]
    queries += [
        (v["name"], v["definition"])
        for v in dashboard.get("templating", {}).get("list", [])
        if v["type"] == "query"
    ]
    for title, expr in queries:
        unknown = _unknown_metrics(expr, recorded, exported)
        assert not unknown, f"{path.name} / {title}: unknown metrics {unknown} in {expr}"


def test_both_dashboards_exist() -> None:
    titles = {_load(path)["title"] for path in DASHBOARDS}
    assert titles == {"cxstream · Pipeline health", "cxstream · Customer pulse"}
