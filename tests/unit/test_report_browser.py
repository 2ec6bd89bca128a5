"""The report in a real browser: headless Chromium (Debian package ``chromium``) renders it
without a console message and draws something.

Chromium prints every console message and uncaught error of the page on stderr with
``--enable-logging=stderr`` (``INFO:CONSOLE…``); a control page that logs an error proves the
check can fail. The report has no scripts, so any console line is a problem (its
Content-Security-Policy also reports any attempt to load something from outside this way).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from PIL import Image

from pipeline.report.build import write_report
from tests.unit.test_report import PERIOD, hand_built_lake

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _render(page: Path, screenshot: Path) -> list[str]:
    """Open ``page`` headless, save a screenshot; return the console lines Chromium logged."""
    assert CHROMIUM, "headless Chromium is needed: apt-get install -y chromium"
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",  # tests may run as root in a container
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1100,1600",
            f"--screenshot={screenshot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [line for line in done.stderr.splitlines() if ":CONSOLE" in line]


def test_the_check_sees_console_errors(tmp_path: Path) -> None:
    control = tmp_path / "control.html"
    control.write_text("<html><body><script>console.error('control error');</script></body>")
    console = _render(control, tmp_path / "control.png")
    assert any("control error" in line for line in console), console


def test_the_report_renders_without_console_errors(tmp_path: Path) -> None:
    page = write_report(hand_built_lake(tmp_path), PERIOD, tmp_path / "report.html")
    shot = tmp_path / "report.png"
    assert _render(page, shot) == []
    image = Image.open(shot).convert("L")
    assert image.size == (1100, 1600)
    histogram = image.histogram()
    light = sum(histogram[200:])
    dark = sum(histogram[:120])  # text and the bars of the charts
    assert dark > 0.01 * image.size[0] * image.size[1], "the screenshot is (almost) blank"
    assert light > 0.5 * image.size[0] * image.size[1]
