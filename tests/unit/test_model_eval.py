"""`cxstream models eval` on the committed model reproduces the numbers in its card."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pipeline.scoring.card import load_card
from pipeline.settings import Settings
from tests.unit.test_scoring import REQUIRED_METRICS

MACHINE_DEPENDENT = {"sequences_per_second"}
RUN_TO_RUN = 0.01
"""Dynamic int8 quantisation under onnxruntime's thread pool is not bit-reproducible between
runs: observed spreads of a few examples per set (e.g. SST-2 0.8865 vs 0.8888, GoEmotions F1
0.4415 vs 0.442, urgency F1 0.4248 vs 0.4289 on the same model, same machine)."""


MINIMA = {
    "tweeteval_test_macro_recall": 0.66,
    "tweeteval_test_negative_recall": 0.70,
    "urgency_macro_f1_heldout": 0.60,
    "labelled_heldout_negative_recall": 0.83,
    "labelled_heldout_sentiment_accuracy": 0.72,
    "sst2_dev_accuracy": 0.88,
    "banking77_test_accuracy": 0.90,
    "goemotions_test_macro_f1": 0.42,
    "custom_intent_accuracy_retail": 0.88,
    "custom_intent_accuracy_banking": 0.87,
    "custom_intent_accuracy_travel": 0.90,
}
"""What the committed model is documented to reach (README "How good the scores are"); a rebuilt
model below one, by more than half the run-to-run tolerance, fails here. The model issue's
target for TweetEval macro recall (0.68) is higher: the committed model (1.2.0: the 1.0.0 graph
with the sentiment layer, the decision rule and the urgency layer) reaches 0.672."""
MAXIMA = {"tweeteval_test_ece": 0.05, "ece": 0.08}


@pytest.mark.timeout(1500)  # the whole evaluation: ~6 min on 2 idle cores, >10 min on busy ones
def test_models_eval_json_matches_the_committed_card() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "models", "eval", "--json"],
        capture_output=True,
        text=True,
        timeout=1400,
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
    low = {k: measured[k] for k, floor in MINIMA.items() if measured[k] < floor - RUN_TO_RUN / 2}
    assert not low, f"below the documented minimum: {low} (minima {MINIMA})"
    high = {k: measured[k] for k, cap in MAXIMA.items() if measured[k] > cap}
    assert not high, f"above the documented maximum: {high} (maxima {MAXIMA})"
