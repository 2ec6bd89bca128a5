"""A real Prometheus server scrapes a real worker while synthetic traffic flows.

Every PromQL expression of both Grafana dashboards and every rule of the rules file is sent to
the server's query API: each must evaluate without error, every dashboard panel must return a
non-empty series, and the server must report every rule healthy.
"""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.runner import WorkerProcess
from pipeline.tools.synthetic import generate
from tests.conftest import free_port
from tests.waiting import wait_until

DEPLOY = PROJECT_ROOT / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
RULES = DEPLOY / "prometheus" / "rules" / "cxstream.rules.yml"
GRAFANA_VARS = {"$__rate_interval": "1m", "$__interval": "15s", "$channel": ".*"}


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def _query(url: str, expr: str) -> dict[str, Any]:
    return _get(f"{url}/api/v1/query?query=" + urllib.parse.quote(expr))


def _empty_panels(url: str) -> list[tuple[str, str]]:
    """Dashboard panels whose query returns no series (or fails)."""
    return [
        (where, expr)
        for where, expr in _panel_exprs()
        if not _query(url, expr).get("data", {}).get("result")
    ]


def _unhealthy_rules(url: str) -> list[tuple[str, str, str | None]]:
    """Rules that errored, and rules of frequent groups that have not yet run cleanly (the
    1-day baseline group runs once a minute and may not have run yet)."""
    groups = _get(f"{url}/api/v1/rules")["data"]["groups"]
    return [
        (r["name"], r["health"], r.get("lastError"))
        for g in groups
        for r in g["rules"]
        if r["health"] == "err" or (g["interval"] <= 10 and r["health"] != "ok")
    ]


def _panel_exprs() -> list[tuple[str, str]]:
    out = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        panels = list(board["panels"])
        for panel in list(panels):
            panels.extend(panel.get("panels", []))  # rows may nest panels
        for panel in panels:
            for target in panel.get("targets", []):
                expr = target.get("expr", "")
                for var, value in GRAFANA_VARS.items():
                    expr = expr.replace("${" + var[1:] + "}", value).replace(var, value)
                if expr:
                    out.append((f"{path.stem}: {panel.get('title')}", expr))
    return out


def _rule_exprs() -> list[tuple[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [
        (rule.get("alert") or rule.get("record"), rule["expr"])
        for group in groups
        for rule in group["rules"]
    ]


@pytest.fixture(scope="module")
def prometheus_bin() -> Path:
    """Directory with ``prometheus`` (Debian package, extracted by the fetch script)."""
    out = subprocess.run(
        ["bash", str(DEPLOY / "prometheus" / "fetch-prometheus.sh")],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    return Path(out.stdout.strip().splitlines()[-1])


@pytest.fixture
def scraped_worker(
    pipeline_settings: Settings, tmp_path: Path, prometheus_bin: Path
) -> Iterator[str]:
    """A worker with /metrics, traffic flowing, and a Prometheus scraping it; yields its URL."""
    settings = pipeline_settings.model_copy(update={"metrics_port": free_port()})
    worker = WorkerProcess(settings, tmp_path / "worker.log").start()
    prom: subprocess.Popen[bytes] | None = None
    stop = threading.Event()
    try:
        worker.wait_ready(timeout_s=90)
        port = free_port()
        config = {
            "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [
                {
                    "job_name": "cxstream",
                    "static_configs": [{"targets": [f"127.0.0.1:{settings.metrics_port}"]}],
                }
            ],
        }
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        prom = subprocess.Popen(
            [
                str(prometheus_bin / "prometheus"),
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "prometheus.log").open("wb"),
        )
        url = f"http://127.0.0.1:{port}"
        wait_until(
            "Prometheus ready",
            lambda: _answers(f"{url}/-/ready"),
            60,
            detail=lambda: (tmp_path / "prometheus.log").read_text()[-2000:],
        )

        records = generate(1200, seed=11)

        def traffic() -> None:  # ~40 s of steady traffic at 30 events/s, bounded
            for start in range(0, len(records), 60):
                if stop.is_set():
                    return
                produce(
                    settings,
                    [
                        Outgoing(settings.topics.raw(r.channel), r.key, r.value)
                        for r in records[start : start + 60]
                    ],
                    rate=30.0,
                )

        thread = threading.Thread(target=traffic, daemon=True)
        thread.start()
        # Until every panel has a series and every frequent rule has run cleanly: several
        # scrapes, rule evaluations and rate windows with data (the test then checks all).
        wait_until(
            "every dashboard panel with a series and every frequent rule evaluated",
            lambda: not _empty_panels(url) and not _unhealthy_rules(url),
            120,
            every_s=2.0,
            detail=lambda: (_empty_panels(url), _unhealthy_rules(url)),
        )
        yield url
        stop.set()
        thread.join(timeout=30)
    finally:
        if prom is not None:
            prom.terminate()
            prom.wait(timeout=30)
        worker.stop()
        print(f"--- worker log tail ---\n{worker.log_tail(40)}")


def test_dashboards_and_rules_evaluate_against_a_real_prometheus(scraped_worker: str) -> None:
    url = scraped_worker
    up = _get(f"{url}/api/v1/query?query=" + urllib.parse.quote('up{job="cxstream"}'))
    assert [r["value"][1] for r in up["data"]["result"]] == ["1"], up

    failed = []
    for where, expr in _panel_exprs() + _rule_exprs():
        answer = _query(url, expr)
        if answer.get("status") != "success":
            failed.append((where, expr, answer))
    assert not failed, failed
    empty = _empty_panels(url)
    assert not empty, f"panels with no series while traffic flows: {empty}"
    assert len(_panel_exprs()) >= 12 and len(_rule_exprs()) >= 5

    # No rule may error; rules of groups evaluated every few seconds must have run cleanly.
    assert _get(f"{url}/api/v1/rules")["data"]["groups"]
    unhealthy = _unhealthy_rules(url)
    assert not unhealthy, unhealthy
    families = _get(f"{url}/api/v1/label/__name__/values")["data"]
    for family in (
        "cxstream_stage_events_in_total",
        "cxstream_duplicates_total",
        "cxstream_deadletters_total",
        "cxstream_end_to_end_latency_seconds_bucket",
        "cxstream_model_inference_seconds_bucket",
        "cxstream_model_batch_texts_bucket",
        "cxstream_alerts_total",
        "cxstream_consumer_lag_messages",
        "cxstream_table_keys",
        "cxstream_build_info",
        "cxstream_sentiment_total",
        "cxstream_urgency_total",
        "cxstream_intent_total",
        "cxstream_routed_total",
        "cxstream_repeat_contacts_total",
    ):
        assert family in families, family
