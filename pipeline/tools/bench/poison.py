"""Poison-input benchmark: the slowest known inputs through ``Standardiser.standardise``.

``python -m pipeline.tools.bench.poison [--repeat N] [--only NAME ...]`` prints, per trigger, the
input size, the best and worst of ``N`` runs in CPU milliseconds of the calling thread (what the
worker spends; other processes on the host do not inflate it), the worst wall-clock time, and
the outcome (kept, or the dead-letter reason). The triggers are the ones that froze a worker
(issue 20: reply/quote stripping whose time grew with the square of the input) plus the worst
inputs found for each bound that replaced it (docs/reliability.md, "Poison inputs"). Exits 1
when the slowest exceeds ``BUDGET_MS``. Pure: no broker, no worker.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pipeline.settings import Settings
from pipeline.standardise.normalise.emails import MAX_HEADER_LINE_CHARS, MAX_REPLY_PARSE_CHARS
from pipeline.standardise.normalise.errors import InputError
from pipeline.standardise.standardiser import RawMessage, Standardiser

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
BUDGET_MS = 100.0
"""The per-record target for standardising one hostile input on one core."""


def _email(**fields: str) -> dict[str, Any]:
    return {"message_id": "poison-1", "from": "ana@example.com", **fields}


def _chat(text: str) -> dict[str, Any]:
    return {"message_id": "poison-1", "customer": {"email": "ana@example.com"}, "text": text}


def _lines(line: str, total: int) -> str:
    """``line`` repeated (newline-separated) to about ``total`` characters."""
    return "\n".join([line] * max(1, total // (len(line) + 1)))


def _short(words: str, limit: int = MAX_HEADER_LINE_CHARS, tail: str = "") -> str:
    """``words`` repeated, then ``tail``: the longest line still shown to the parser."""
    return (words * (limit // len(words) + 1))[: limit - len(tail)].rstrip() + tail


SPACES = "a" + " " * 240_000 + "b\n> x"
TRIGGERS: dict[str, Callable[[], tuple[str, dict[str, Any]]]] = {
    # The four inputs of issue 20.
    "on-mon-wrote": lambda: ("email", _email(text="On Mon wrote " * 19_000)),
    "spaces-text": lambda: ("email", _email(text=SPACES)),
    "spaces-html": lambda: ("email", _email(html=SPACES)),
    "am-am-am": lambda: ("email", _email(text="Am " * 20_000)),
    # The worst inputs found within the bounds (a fuzz over header words, verbs and colons):
    # lines just under the header-line limit that are shown to the parser as header candidates
    # and fail slowly, and lines that look like headers but are hidden.
    "on-on-candidates": lambda: (
        "email",
        _email(text=_lines(_short("On On ", tail="escribió:"), MAX_REPLY_PARSE_CHARS)),
    ),
    "op-el-candidates": lambda: (
        "email",
        _email(text=_lines(_short("Op El El ", tail="ha scritto:"), MAX_REPLY_PARSE_CHARS)),
    ),
    "on-dots-candidates": lambda: (
        "email",
        _email(text=_lines(_short("On On . . ", tail="wrote:"), MAX_REPLY_PARSE_CHARS)),
    ),
    "am-schrieb-hidden": lambda: (
        "email",
        _email(text=_lines(_short("Am schrieb ", tail=" schrieb x"), MAX_REPLY_PARSE_CHARS)),
    ),
    "on-two-lines": lambda: (
        "email",
        _email(text=_lines(_short("On x ") + "\n" + _short("y wrote "), MAX_REPLY_PARSE_CHARS)),
    ),
    "blank-lines": lambda: ("email", _email(text="a" + "\n" * 120_000 + "b")),
    "from-headers": lambda: ("email", _email(text="From: a\n" * 28_000)),
    "quote-marks": lambda: ("email", _email(text=_lines("> " * 120 + "x", 240_000))),
    "disclaimer-mail": lambda: (
        "email",
        _email(text=_lines(_short("Disclaimer: mail "), MAX_REPLY_PARSE_CHARS)),
    ),
    "from-parens": lambda: ("email", {"message_id": "poison-1", "from": "(" * 240_000}),
    "html-nested": lambda: ("email", _email(html="<div>" * 40_000 + "x")),
    "html-tables": lambda: ("email", _email(html="<table><tr><td>x" * 15_000)),
    "chat-html-entities": lambda: ("chat", _chat("&amp; <b>x</b> " * 16_000)),
    "chat-long-text": lambda: ("chat", _chat("parcel never arrived " * 12_000)),
}


def run(names: list[str], repeat: int) -> list[dict[str, Any]]:
    """Time each named trigger ``repeat`` times; one result row per trigger."""
    std = Standardiser(Settings())
    warm = json.dumps(_email(text="Hi,\n\nwhere is my parcel?", html="<p>x</p>")).encode()
    std.standardise(RawMessage(std.topics.raw("email"), 0, 0, None, warm, None), NOW)
    rows = []
    for name in names:
        channel, payload = TRIGGERS[name]()
        value = json.dumps(payload).encode()
        raw = RawMessage(std.topics.raw(channel), 0, 0, None, value, None)
        cpu, wall, outcome = [], [], ""
        for _ in range(repeat):
            start_cpu, start_wall = time.thread_time(), time.perf_counter()
            try:
                ix = std.standardise(raw, NOW)
                outcome = f"kept ({ix.text_original_chars} chars of text)"
            except InputError as exc:
                outcome = f"dead letter: {exc.code.value}"
            cpu.append((time.thread_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start_wall) * 1000)
        rows.append(
            {
                "trigger": name,
                "bytes": len(value),
                "best_ms": min(cpu),
                "worst_ms": max(cpu),
                "wall_ms": max(wall),
                "outcome": outcome,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per trigger (default 5)")
    parser.add_argument("--only", nargs="*", choices=sorted(TRIGGERS), help="these triggers only")
    args = parser.parse_args(argv)
    rows = run(args.only or list(TRIGGERS), args.repeat)
    print(
        f"{'trigger':<22}{'bytes':>8}{'cpu best':>10}{'cpu worst':>11}{'wall worst':>12}  outcome"
    )
    for row in rows:
        print(
            f"{row['trigger']:<22}{row['bytes']:>8}{row['best_ms']:>10.1f}"
            f"{row['worst_ms']:>11.1f}{row['wall_ms']:>12.1f}  {row['outcome']}"
        )
    slowest = max(row["worst_ms"] for row in rows)
    print(f"slowest: {slowest:.1f} ms of CPU (budget {BUDGET_MS:.0f} ms)")
    return 0 if slowest <= BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
