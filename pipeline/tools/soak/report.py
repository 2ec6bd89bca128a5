"""The soak's report: judged, saved with its machine under the results dir, printed as a table."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from pipeline.machine import describe
from pipeline.tools.bench.suite import RESULTS_DIR
from pipeline.tools.soak.measurement import Run
from pipeline.tools.soak.scenario import (
    DEDUPE_WINDOW_S,
    DRAIN_TIMEOUT_S,
    NEAR_DUPLICATE_WINDOW_S,
    SWEEP_INTERVAL_S,
)
from pipeline.tools.soak.verdict import (
    LAG_GROWTH_MAX_S,
    RSS_SLOPE_MAX,
    TABLE_GROWTH_FLOOR,
    TABLE_GROWTH_MAX,
    judge,
)


def finish(report: dict[str, Any], run: Run, *, duration_s: float, rate: float) -> dict[str, Any]:
    """Judge, add the verdict and the machine to the report, save it, return it."""
    checks = judge(run.samples, duration_s=duration_s, rate=rate)
    final = run.final
    unaccounted = run.produced - final.accounted
    reasons = [f"{c.name}: {c.reason}" for c in checks if not c.flat]
    if unaccounted > 0:
        reasons.append(f"{unaccounted} events unaccounted for {DRAIN_TIMEOUT_S:g} s after the end")
    report.update(
        produced=run.produced,
        accounted=final.accounted,
        worker_peak_rss_mb=run.peak_rss_mb,
        unaccounted=unaccounted,
        not_enriched=final.interactions - final.enriched,
        thresholds={
            "rss_slope_mib_per_min": RSS_SLOPE_MAX,
            "table_growth_share": TABLE_GROWTH_MAX,
            "table_growth_floor_keys": TABLE_GROWTH_FLOOR,
            "lag_growth_traffic_s": LAG_GROWTH_MAX_S,
        },
        settings={
            "dedupe_window_s": DEDUPE_WINDOW_S,
            "near_duplicate_window_s": NEAR_DUPLICATE_WINDOW_S,
            "sweep_interval_s": SWEEP_INTERVAL_S,
        },
        checks=[asdict(c) for c in checks],
        samples=[asdict(s) for s in run.samples],
        flat=not reasons,
        reasons=reasons,
        machine=describe(),
        measured_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"soak-{report['measured_at'].replace(':', '')}.json"
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    report["saved_to"] = str(path)
    return report


def render(report: dict[str, Any]) -> str:
    """The verdict as a table: each series' second-half slope against its limit."""
    max_eps = report.get("max_eps")
    of = f" = 50 % of the measured max {max_eps:,.1f}" if max_eps else " (given)"
    lines = [
        f"\nSoak: {report['minutes']:g} min at {report['rate_eps']:,.1f} events/s{of}, "
        f"{report['customers']} customers; slopes over the second half (first half = warm-up)",
        f"  {'series':<30} {'slope/min':>12} {'limit/min':>11} {'mean size':>11}  verdict",
    ]
    for c in report["checks"]:
        slope = "n/a" if c["slope_per_min"] is None else f"{c['slope_per_min']:+,.2f}"
        size = "n/a" if c["size"] is None else f"{c['size']:,.1f}"
        verdict = "flat" if c["flat"] else "NOT flat"
        name = f"{c['name']} ({c['unit']})"
        lines.append(f"  {name:<30} {slope:>12} {c['limit_per_min']:>11,.2f} {size:>11}  {verdict}")
    lines.append(
        f"  produced {report['produced']:,}, accounted {report['accounted']:,}, unaccounted "
        f"{report['unaccounted']}, not enriched {report['not_enriched']}; worker peak RSS "
        f"{report.get('worker_peak_rss_mb')} MiB"
    )
    m = report["machine"]
    lines.append(
        f"  machine: {m.get('cpu')}, {m.get('cores')} cores; saved to {report['saved_to']}"
    )
    if report["flat"]:
        lines.append("FLAT: memory, state tables and lag stay flat at 50 % load")
    else:
        lines.append("NOT FLAT:")
        lines.extend(f"  - {reason}" for reason in report["reasons"])
    return "\n".join(lines)
