"""`cxstream models eval` on the committed model reproduces the numbers in its card."""

from __future__ import annotations

import json
import subprocess
import sys

from pipeline.scoring.card import load_card
from pipeline.settings import Settings
from tests.unit.test_scoring import REQUIRED_METRICS

MACHINE_DEPENDENT = {"sequences_per_second"}


def test_models_eval_json_matches_the_committed_card() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "models", "eval", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    measured = json.loads(result.stdout)
    card = load_card(Settings().model_dir)
    required = REQUIRED_METRICS
    assert required <= set(measured)
    assert measured["sequences_per_second"] > 0
    for key in required - MACHINE_DEPENDENT:
        assert measured[key] == card.metrics[key], key
    assert measured["sst2_dev_accuracy"] >= 0.88
    assert measured["banking77_test_accuracy"] >= 0.85
    assert measured["sentiment3_macro_recall"] >= 0.65
    assert measured["ece"] <= 0.08
