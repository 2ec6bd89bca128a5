"""The audit for people: a text table for the terminal and a section for MODEL_CARD.md."""

from __future__ import annotations

from typing import Any

from pipeline.fairness.audit import AuditReport
from pipeline.fairness.gaps import METRIC_NAMES, RATES


def _threshold(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _signed(metric: str) -> str:
    """Sign option of a gap's format: signed for differences, plain for a rate (agreement)."""
    return "" if metric in RATES else "+"


def render_text(report: AuditReport) -> str:
    """A readable table of every gap and slice, then the verdict."""
    model = report.model
    lines = [
        f"Fairness audit of {model.get('name', 'a scorer')} {model.get('version', '')} "
        f"(seed {report.seed}, {report.resamples} bootstrap resamples, "
        f"{report.confidence:.0%} intervals)".replace("  ", " "),
        f"Corpus: {report.corpus['sentences']} template sentences; rule: {report.rule}.",
        "",
        f"{'axis':<13} {'A vs B':<52} {'measure':<17} {'units':>5} {'gap':>7} "
        f"{'CI':>17} {'|gap|≥':>7} {'limit':>6}  result",
    ]
    for g in report.gaps:
        pair = f"{g.group_a} vs {g.group_b}"
        f = _signed(g.metric)
        ci = f"[{g.ci_low:{f}.3f},{g.ci_high:{f}.3f}]"
        lines.append(
            f"{g.axis:<13} {pair:<52} {METRIC_NAMES[g.metric]:<17} {g.units:>5} {g.gap:>{f}7.3f} "
            f"{ci:>17} {g.abs_gap_ci_low:>7.3f} {_threshold(g.threshold):>6}  {g.status}"
        )
    if report.slices:
        lines += [
            "",
            f"Labelled set ({report.labelled['split']} split, {report.labelled['messages']} "
            "messages): accuracy by slice, and its gap to the rest of the set",
            f"{'by':<9} {'slice':<8} {'task':<10} {'n':>4} {'accuracy':>8} {'CI':>15} "
            f"{'gap':>7} {'gap CI':>17} {'limit':>6}  result",
        ]
        for s in report.slices:
            ci = f"[{s.ci_low:.3f},{s.ci_high:.3f}]"
            gap = "-" if s.gap is None else f"{s.gap:+.3f}"
            gap_ci = "-" if s.gap_ci_low is None else f"[{s.gap_ci_low:+.3f},{s.gap_ci_high:+.3f}]"
            lines.append(
                f"{s.by:<9} {s.slice:<8} {s.task:<10} {s.n:>4} {s.accuracy:>8.3f} {ci:>15} "
                f"{gap:>7} {gap_ci:>17} {_threshold(s.threshold):>6}  {s.status}"
            )
        if any(s.status == "small" for s in report.slices):
            lines.append("small: fewer messages than min_slice_size, shown but not judged")
    lines.append("")
    if report.passed:
        lines.append("PASS: no gap exceeds its threshold")
    else:
        lines.append(f"FAIL: {len(report.failures)} threshold(s) exceeded:")
        lines += [f"  - {failure}" for failure in report.failures]
    return "\n".join(lines)


def card_section(fairness: dict[str, Any]) -> list[str]:
    """The "Fairness audit" section of MODEL_CARD.md from the card's ``fairness`` entry
    (an :class:`AuditReport` as JSON); no lines when the card has none."""
    if not fairness:
        return []
    report = AuditReport.model_validate(fairness)
    verdict = "passed" if report.passed else f"FAILED ({len(report.failures)} thresholds exceeded)"
    lines = [
        "## Fairness audit",
        "",
        f"`cxstream audit` (docs/fairness.md): {verdict}. {report.corpus['sentences']} template "
        "sentences that differ only in a gendered word, a first name or a dialect's phrasing; "
        f"gap = group A - group B, paired by template, {report.confidence:.0%} bootstrap "
        f"intervals ({report.resamples} resamples, seed {report.seed}); {report.rule}.",
        "",
        "| axis | A vs B | measure | gap | CI | threshold | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in report.gaps:
        f = _signed(g.metric)
        lines.append(
            f"| {g.axis} | {g.group_a} vs {g.group_b} | {METRIC_NAMES[g.metric]} | "
            f"{g.gap:{f}.3f} | {g.ci_low:{f}.3f} … {g.ci_high:{f}.3f} | "
            f"{_threshold(g.threshold)} | {g.status} |"
        )
    judged = [s for s in report.slices if s.status in ("pass", "fail")]
    small = sorted({f"{s.by}={s.slice}" for s in report.slices if s.status == "small"})
    if report.slices:
        lines += [
            "",
            f"Labelled set ({report.labelled['split']} split, {report.labelled['messages']} "
            f"messages) by channel and language: {len(judged)} slice accuracies judged, "
            f"{sum(s.status == 'fail' for s in judged)} failed"
            + (f"; too small to judge: {', '.join(small)}" if small else "")
            + ".",
        ]
    if report.failures:
        lines += ["", *[f"- {failure}" for failure in report.failures]]
    return [*lines, ""]
