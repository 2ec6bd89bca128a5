"""``cxstream audit`` on the bundled model: the JSON report, the exit status, the errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipeline.fairness.corpus import DIALECT_PAIRS, NAMES, REFERENCE_GROUP

AXES = {"gender_words", "gender_names", "names", "dialect"}
METRICS = {"p_negative", "urgency_score", "top_intent_share", "intent_agreement"}


def cxstream(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_audit_json_reports_every_gap_of_the_bundled_model_with_intervals() -> None:
    result = cxstream("audit", "--json")
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["model"]["name"] == "cx-minilm-multihead"
    assert report["thresholds_file"] == "data/audit/thresholds.yaml"
    assert report["corpus"]["sentences"] > 2000
    assert report["passed"] is (result.returncode == 0)
    gaps = report["gaps"]
    assert {g["axis"] for g in gaps} == AXES
    assert {g["metric"] for g in gaps} == METRICS
    compared = {(g["axis"], g["group_a"], g["group_b"]) for g in gaps}
    for group in NAMES.keys() - {REFERENCE_GROUP}:
        assert ("names", group, REFERENCE_GROUP) in compared
    assert {a for axis, a, _ in compared if axis == "dialect"} == set(DIALECT_PAIRS)
    for gap in gaps:
        assert gap["ci_low"] <= gap["gap"] <= gap["ci_high"], gap
        assert gap["units"] > 0
        assert gap["status"] in ({"info"} if gap["threshold"] is None else {"pass", "fail"})
    slices = report["slices"]
    assert {s["by"] for s in slices} == {"channel", "language"}
    assert {s["slice"] for s in slices if s["by"] == "channel"} >= {"chat", "email", "voice"}
    assert all(s["ci_low"] <= s["accuracy"] <= s["ci_high"] for s in slices)
    failed = [g for g in gaps if g["status"] == "fail"] + [
        s for s in slices if s["status"] == "fail"
    ]
    assert len(report["failures"]) == len(failed)


def test_audit_help_and_a_bad_thresholds_file(tmp_path: Path) -> None:
    shown = cxstream("audit", "--help").stdout
    for option in ("--json", "--model", "--thresholds", "--seed", "Exit status"):
        assert option in shown
    bad = tmp_path / "limits.yaml"
    bad.write_text("confidence: 2\n", encoding="utf-8")
    result = cxstream("audit", "--thresholds", str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr and "confidence" in result.stderr
