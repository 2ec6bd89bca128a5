"""Writes the report: the sections as one self-contained HTML page (no scripts, no network)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

from pipeline.lake.store import LakeStore
from pipeline.report import queries
from pipeline.report.lake_views import connect
from pipeline.report.period import Period
from pipeline.report.sections import Section, all_sections

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 60rem; color: #1d2733; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #d5dde6; }
.meta { color: #5a6878; }
.says { background: #eef3f9; border-left: 4px solid #2f6db5; padding: 0.4rem 0.7rem; }
img { max-width: 100%; }
table { border-collapse: collapse; margin: 0.6rem 0; }
th, td { border-bottom: 1px solid #e3e8ee; padding: 0.2rem 0.8rem; text-align: left; }
"""


class ReportError(RuntimeError):
    """The report cannot be written (e.g. the lake holds nothing)."""


def render(sections: list[Section], period: Period, lake: str) -> str:
    """The HTML page."""
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # no scripts, styles only inline, images only as data: URIs
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">",
        f"<title>CX report {html.escape(period.describe())}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Customer experience report</h1>",
        f'<p class="meta">{html.escape(period.describe())} compared with '
        f"{html.escape(period.previous.describe())}. Lake: {html.escape(lake)}. "
        f"Written {made} by cxstream report.</p>",
    ]
    for section in sections:
        parts.append(f"<section><h2>{html.escape(section.title)}</h2>")
        parts.append(f'<p class="says">{html.escape(section.says)}</p>')
        if section.chart:
            parts.append(f'<img alt="{html.escape(section.title)}" src="{section.chart}">')
        if section.table:
            parts.append("<table>")
            if section.header:
                cells = "".join(f"<th>{html.escape(h)}</th>" for h in section.header)
                parts.append(f"<tr>{cells}</tr>")
            for row in section.table:
                parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
            parts.append("</table>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(store: LakeStore, period: Period, out: Path) -> Path:
    """Query the lake and write the report to ``out``; return its path."""
    con = connect(store)
    try:
        if not any(queries.lake_tables(con).values()):
            raise ReportError(f"the lake at {store.root} holds no records (run cxstream sink)")
        page = render(all_sections(con, period), period, store.root)
    finally:
        con.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
