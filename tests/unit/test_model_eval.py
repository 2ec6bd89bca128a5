"""`cxstream models eval` on the committed model reproduces the numbers in its card."""

from __future__ import annotations

import json
import subprocess
import sys

from pipeline.scoring.card import load_card
from pipeline.settings import Settings
from tests.unit.test_scoring import REQUIRED_METRICS

MACHINE_DEPENDENT = {"sequences_per_second"}
RUN_TO_RUN = 0.01
"""Dynamic int8 quantisation under onnxruntime's thread pool is not bit-reproducible between
runs: observed spreads of a few examples per set (e.g. SST-2 0.8865 vs 0.8888, GoEmotions F1
0.4415 vs 0.442, urgency F1 0.4248 vs 0.4289 on the same model, same machine)."""


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
        assert abs(measured[key] - card.metrics[key]) <= RUN_TO_RUN, (key, measured[key])
    assert measured["sst2_dev_accuracy"] >= 0.88
    assert measured["banking77_test_accuracy"] >= 0.85
    assert measured["sentiment3_macro_recall"] >= 0.65
    assert measured["ece"] <= 0.08
