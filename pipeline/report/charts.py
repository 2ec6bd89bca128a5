"""Charts as SVG data URIs (matplotlib, no network, no files beside the report)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from datetime import UTC

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

CURRENT = "#2f6db5"
PREVIOUS = "#b9c6d6"
SECONDS_PER_DAY = 86400.0
PALETTE = ("#2f6db5", "#d9822b", "#3a9e5c", "#c23b3b", "#7d5ba6", "#8c6d46")
plt.rcParams.update(
    {
        "svg.hashsalt": "cxstream-report",  # the same numbers give the same file
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def _data_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def bars(
    categories: Sequence[str],
    current: Sequence[float],
    previous: Sequence[float] | None = None,
    *,
    label: str,
    percent: bool = False,
) -> str:
    """Horizontal bars of this period (and the previous one, paler, when given)."""
    height = max(1.6, 0.32 * len(categories) * (2 if previous is not None else 1) + 0.8)
    fig, ax = plt.subplots(figsize=(7.0, height))
    positions = list(range(len(categories)))
    scale = 100.0 if percent else 1.0
    width = 0.4 if previous is not None else 0.7
    ax.barh(
        [p - (width / 2 if previous is not None else 0) for p in positions],
        [v * scale for v in current],
        height=width,
        color=CURRENT,
        label="this period",
    )
    if previous is not None:
        ax.barh(
            [p + width / 2 for p in positions],
            [v * scale for v in previous],
            height=width,
            color=PREVIOUS,
            label="previous period",
        )
        ax.legend(frameon=False, loc="lower right")
    ax.set_yticks(positions, list(categories))
    ax.invert_yaxis()
    ax.set_xlabel(label + (" (%)" if percent else ""))
    return _data_uri(fig)


def lines(series: dict[str, list[tuple[float, int]]], *, label: str) -> str:
    """One line per series over time (x: epoch seconds, UTC)."""
    fig, ax = plt.subplots(figsize=(7.0, 2.8))
    for colour, (name, points) in zip(PALETTE * 4, sorted(series.items()), strict=False):
        xs = [x / SECONDS_PER_DAY for x, _ in points]  # matplotlib dates: days since 1970
        ax.plot(xs, [y for _, y in points], marker="o", markersize=3, color=colour, label=name)
    formatter = mdates.DateFormatter("%m-%d %H:%M", tz=UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(formatter)
    fig.autofmt_xdate()
    ax.set_ylabel(label)
    ax.legend(frameon=False, ncols=min(len(series), 5), loc="upper left", bbox_to_anchor=(0, 1.18))
    return _data_uri(fig)
