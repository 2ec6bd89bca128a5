"""``cxstream demo``: a fresh local broker, the worker and synthetic traffic, then a summary."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.lake.files import list_files
from pipeline.lake.sink import LakeSink
from pipeline.lake.store import LakeStore
from pipeline.offers.policy import DEFAULT_POLICY_FILE
from pipeline.report import queries
from pipeline.report.build import write_report
from pipeline.report.lake_views import connect
from pipeline.report.period import Period
from pipeline.settings import Settings, local_settings
from pipeline.streaming.admin import create_topics, end_offsets
from pipeline.tools.local_stack import local_stack
from pipeline.tools.output_accounting import (
    Outputs,
    alert_summary,
    collect,
    output_topics,
    read_all,
)
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.synthetic import generate
from pipeline.tools.tail import render_alert
from pipeline.workflow.config import cached_rules


class DemoError(RuntimeError):
    """The demo could not finish; the message says where it stopped."""


# Where the demo runs, for a second demo beside the first (the tests run one beside `make demo`).
# Demo-only on purpose: the demo wipes its state dir, so a user's CXSTREAM_STATE_DIR or
# CXSTREAM_BROKER_PORT must never aim it at their own broker.
DEMO_STATE_DIR_ENV = "CXSTREAM_DEMO_STATE_DIR"
DEMO_PORT_ENV = {
    "broker": "CXSTREAM_DEMO_BROKER_PORT",
    "controller": "CXSTREAM_DEMO_CONTROLLER_PORT",
    "web": "CXSTREAM_DEMO_WEB_PORT",
    "metrics": "CXSTREAM_DEMO_METRICS_PORT",
}


TAKEOVER_MARK = "changed the email on my account"
"""The sample chat the model issue checks: it must come out as fraud/security, high or critical."""


def _demo_port(role: str, default: int) -> int:
    name = DEMO_PORT_ENV[role]
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise DemoError(f"{name}={raw!r} is not a TCP port")
    return int(raw)


def demo_settings() -> Settings:
    """The embedded default: its own state dir and ports, so it never touches a user's broker
    (``CXSTREAM_DEMO_STATE_DIR`` and ``CXSTREAM_DEMO_*_PORT`` move it)."""
    broker_port = _demo_port("broker", 19092)
    state_dir = os.environ.get(DEMO_STATE_DIR_ENV, "").strip()
    return local_settings(
        "demo",
        broker_port,
        _demo_port("web", 16066),
        state_dir=Path(state_dir) if state_dir else None,
        controller_port=_demo_port("controller", broker_port + 1),
        metrics_port=_demo_port("metrics", 19464),
        app_id="cxstream-demo",
        topic_prefix="cx.",
    ).model_copy(update={"offer_policy": DEFAULT_POLICY_FILE})  # the example offer policy


def run_demo(
    *, events: int = 2000, seed: int = 7, timeout_s: float = 180.0, quiet: bool = False
) -> dict[str, Any]:
    """Run the whole pipeline once on fresh state; return the summary (also printed)."""

    def say(line: str) -> None:
        print(line, file=sys.stderr if quiet else sys.stdout, flush=True)

    settings = demo_settings()
    announce = (
        "[1/6] fetching broker jars (first run only) and starting Kafka on "
        f"{settings.bootstrap_servers} …"
    )
    with local_stack(settings, announce=announce, say=say) as stack:
        started = stack.started_at
        say("[2/6] creating topics …")
        create_topics(settings)
        start = end_offsets(settings, output_topics(settings))
        metrics_url = f"http://127.0.0.1:{settings.metrics_port}/metrics"
        say(f"[3/6] starting the worker … (Prometheus metrics: {metrics_url})")
        stack.start_worker().wait_ready(timeout_s=90)
        records = generate(events, seed)
        say(f"[4/6] producing {len(records)} synthetic events on 5 channels …")
        produced_at = time.monotonic()
        delivered = produce(
            settings, (Outgoing(settings.topics.raw(r.channel), r.key, r.value) for r in records)
        )
        say("[5/6] waiting until every event is accounted for …")

        last_said = [0.0]

        def progress(out: Outputs) -> None:  # at most one line every 3 s
            if not quiet and time.monotonic() - last_said[0] >= 3.0:
                last_said[0] = time.monotonic()
                say(
                    f"      {out.accounted}/{len(delivered)} accounted, "
                    f"{len(out.enriched)} enriched"
                )

        out = collect(
            settings,
            len(delivered),
            start=start,
            timeout_s=timeout_s,
            progress=progress,
            wait_enriched=settings.scoring_enabled,
        )
        processing_s = time.monotonic() - produced_at
        time.sleep(2.0)  # the last profiles and alerts follow the last enriched event
        alerts = read_all(settings, settings.topics.alerts)
        profiles = read_all(settings, settings.topics.profiles)
        live = _live_profile(settings, alerts)
        families = _metric_families(metrics_url)
        say("[6/6] writing the Parquet lake (cxstream sink) and the CX report …")
        lake = _write_lake(settings)
    report = _write_report(settings)
    summary = _summary(out, len(delivered), records_expect=Counter(r.expect for r in records))
    rules = cached_rules(settings.rules_file)
    summary.update(alert_summary(alerts, profiles, rules.lifecycle.rate_window_s))
    summary["alert_limit_per_customer"] = (
        f"{rules.lifecycle.max_opened_per_window} per {rules.lifecycle.rate_window_s:g} s"
    )
    summary["routing_queues"] = dict(
        sorted(Counter(e["routing"]["queue"] for e in out.enriched if e.get("routing")).items())
    )
    summary["profile_url"] = live[0] if live else None
    summary["metrics_url"] = metrics_url
    summary["metric_families"] = families
    summary["elapsed_s"] = round(time.monotonic() - started, 1)
    summary["events_per_second"] = round(len(delivered) / processing_s, 1)
    summary["worker_log"] = str(settings.state_dir / "worker.log")
    summary["lake"] = lake
    summary["report"] = str(report)
    if not quiet:
        _print(summary, out, alerts, live)
    return summary


def _write_lake(settings: Settings) -> dict[str, Any]:
    """Sink the demo's output topics into ``<state dir>/lake`` (until their current ends)."""
    store = LakeStore.open(settings.state_dir / "lake")
    stats = LakeSink(settings, store).run(until_end=True)
    sizes: Counter[str] = Counter()
    for lake_file in list_files(store.fs, store.root):
        sizes[lake_file.path[len(store.root) + 1 :].split("/", 1)[0]] += lake_file.size
    return {
        "path": store.root,
        "rows": dict(sorted(stats.rows.items())),
        "files": stats.files,
        "bytes": dict(sorted(sizes.items())),
        "sink_records_per_s": round(stats.total_rows / max(stats.seconds, 1e-9), 1),
    }


def _write_report(settings: Settings) -> Path:
    """The CX report of the demo traffic: its last hour vs the hour before (the synthetic
    events happened over about two hours up to now)."""
    store = LakeStore.open(settings.state_dir / "lake")
    con = connect(store)
    try:
        newest = queries.latest_event(con) or datetime.now(UTC)
    finally:
        con.close()
    end = newest.replace(second=0, microsecond=0) + timedelta(minutes=1)
    period = Period(end - timedelta(hours=1), end)
    return write_report(store, period, settings.state_dir / "report.html")


def _metric_families(url: str) -> list[str]:
    """The ``cxstream_*`` metric families the worker serves (scraped once, before it stops)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return []
    return sorted(
        {
            line.split()[2]
            for line in text.splitlines()
            if line.startswith("# TYPE cxstream_") and not line.split()[2].endswith("_created")
        }
    )


def _live_profile(
    settings: Settings, alerts: list[dict[str, Any]]
) -> tuple[str, dict[str, Any]] | None:
    """The live profile of the most alerted customer, fetched from the worker's web server."""
    counts = Counter(a["customer_key"] for a in alerts if a["status"] == "opened")
    if not counts:
        return None
    key = counts.most_common(1)[0][0]
    url = f"http://127.0.0.1:{settings.web_port}/customers/{key}"
    token = settings.web_bearer_token()
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return url, json.loads(response.read())
    except OSError:
        return None


def _summary(out: Outputs, produced: int, records_expect: Counter[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {"produced": produced}
    summary.update(out.summary())
    summary["unaccounted"] = produced - out.accounted
    summary["not_enriched"] = len(out.interactions) - len(out.enriched)
    summary["expected"] = dict(sorted(records_expect.items()))
    return summary


def _print_scored(event: dict[str, Any]) -> None:
    text = event["text"].replace("\n", " ")[:80]
    print(f"  [{event['channel']}] {text!r}")
    for name, reason in event["ai"]["reasons"].items():
        print(f"      {name:<9} {reason}")


def _print_risk(alerts: list[dict[str, Any]]) -> None:
    """The riskiest customer on an alert (one with an offer first): churn drivers and offer."""
    risky = [a for a in alerts if a.get("risk")]
    if not risky:
        return
    top = max(
        risky,
        key=lambda a: (a.get("offer") is not None, a["risk"]["churn_risk"]["probability"]),
    )
    churn = top["risk"]["churn_risk"]
    print(
        f"\nRiskiest customer {top['customer_key']}: churn risk {churn['probability']:.2f} "
        f"({churn['band']}; model {top['risk']['model_version']}), drivers:"
    )
    for driver in churn["drivers"][:5]:
        print(f"    {driver['text']}")
    offer = top.get("offer")
    print(f"  offer: {offer['text']} ({offer['reason']})" if offer else "  offer: none eligible")


def _print(
    summary: dict[str, Any],
    out: Outputs,
    alerts: list[dict[str, Any]],
    live: tuple[str, dict[str, Any]] | None,
) -> None:
    print("\nSample interactions:")
    shown: set[str] = set()
    for ix in out.interactions:
        if ix["text"] and ix["channel"] not in shown:
            shown.add(ix["channel"])
            text = ix["text"].replace("\n", " ")[:90]
            print(f"  {ix['channel']:<6} {ix['customer_key']}  {ix['language'] or '--'}  {text!r}")
    shown_levels: set[str] = set()
    scored = [e for e in out.enriched if e["scored"]]
    if scored:
        print("\nScored (one per urgency level):")
    for e in sorted(scored, key=lambda e: -e["scores"]["urgency"]["score"]):
        level = e["scores"]["urgency"]["level"]
        if level in shown_levels:
            continue
        shown_levels.add(level)
        _print_scored(e)
    takeover = next((e for e in scored if TAKEOVER_MARK in e["text"]), None)
    if takeover is not None:
        print("\nAccount takeover chat (intent and urgency the model gave it):")
        _print_scored(takeover)
    if scored:
        first = scored[0]["ai"]
        print(f"  model: {first['model']} {first['version']} sha256 {first['sha256'][:12]}…")
    shown_types: set[str] = set()
    opened = [a for a in alerts if a["status"] == "opened"]
    if opened:
        print("\nAlerts (one per type; `cxstream alerts --from-beginning` shows them all):")
    for alert in opened:
        if alert["type"] not in shown_types:
            shown_types.add(alert["type"])
            print(render_alert(alert))
    _print_risk(alerts)
    if live is not None:
        url, profile = live
        print(f"\nLive profile: GET {url}")
        print(
            f"  interactions {profile['interactions']}, contacts "
            f"{[(c['channel'], c['last_24h']) for c in profile['contacts']]}, sentiment mean "
            f"{profile['sentiment_mean']}, open alerts "
            f"{[a['type'] for a in profile['open_alerts']]}"
        )
    _print_summary(summary)


def _print_summary(summary: dict[str, Any]) -> None:
    """The demo's closing table: counts, limits, metrics, throughput, lake and report."""
    print("\nSummary")
    print(f"  produced            {summary['produced']}")
    print(f"  interactions        {summary['interactions']}  {summary['channels']}")
    print(f"  duplicates dropped  {sum(summary['duplicates'].values())}  {summary['duplicates']}")
    print(f"  dead letters        {sum(summary['deadletters'].values())}  {summary['deadletters']}")
    merges = summary["identity_merges"]
    print(f"  customers           {summary['customers']} (identity merges: {merges})")
    print(
        f"  enriched            {summary['enriched']} ({summary['scored']} scored, "
        f"{summary['unsupported_language']} in a language the model cannot read)"
    )
    print(f"  urgency levels      {summary['urgency_levels']}")
    print(f"  routing queues      {summary['routing_queues']}")
    print(
        f"  alerts opened       {sum(summary['alerts_opened'].values())}  "
        f"{summary['alerts_opened']}"
    )
    print(
        f"  alerts per customer max {summary['max_alerts_per_customer']}, "
        f"{summary['max_alerts_per_customer_in_window']} within one rate window "
        f"(limit {summary['alert_limit_per_customer']}; {summary['alerted_customers']} customers, "
        f"{summary['alerts_suppressed']} suppressed by cooldown/rate limit, "
        f"{summary['duplicate_alert_ids']} duplicate ids)"
    )
    emerging = summary["emerging_issues"]
    print(f"  emerging issues     {len(emerging)}" + "".join(f"\n    - {e}" for e in emerging))
    print(f"  unaccounted         {summary['unaccounted']}")
    print(
        f"  metrics             {summary['metrics_url']} "
        f"({len(summary['metric_families'])} cxstream_* families scraped before the worker stopped)"
    )
    print(f"  throughput          {summary['events_per_second']} events/s end to end")
    print(f"  took                {summary['elapsed_s']} s (worker log: {summary['worker_log']})")
    lake = summary["lake"]
    rows = ", ".join(f"{table} {n}" for table, n in lake["rows"].items())
    print(
        f"  lake                {lake['path']} ({rows}; {lake['files']} Parquet files; "
        f"sink {lake['sink_records_per_s']} records/s)"
    )
    print(f"  report              {summary['report']}")
