"""``cxstream risk fit``: decision-time features (no leakage), a time split, printed metrics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cache
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.contracts.records import Enriched
from pipeline.contracts.workflow import Profile
from pipeline.risk.features import features_of
from pipeline.risk.model import load_model
from pipeline.tools.risk_fit.examples import build_examples, check_no_leakage
from pipeline.tools.synthetic.outcomes import outcome_history
from pipeline.workflow.config import load_rules
from pipeline.workflow.engine import Workflow

RULES = load_rules()
DAY = timedelta(days=1)


@cache
def history() -> list[Enriched]:
    return outcome_history(60, 40, seed=3)


def test_features_as_of_each_decision_do_not_change_when_the_future_is_cut_away() -> None:
    events = history()
    cutoff = min(e.occurred_at for e in events) + 20 * DAY
    assert sum(e.occurred_at <= cutoff and e.scored for e in events) > 100
    assert check_no_leakage(events, RULES, cutoff) == []


def test_the_leakage_check_catches_a_feature_that_reads_the_rest_of_the_history() -> None:
    """The check can fail: a batch feature (the customer's message count over the whole
    history it is given) differs once the history is cut."""

    def leaky(
        history: list[Enriched],
    ) -> Callable[[Profile, Enriched], dict[str, float]]:
        totals: dict[str, int] = {}
        for e in history:
            totals[e.customer_key or ""] = totals.get(e.customer_key or "", 0) + 1

        def features(profile: Profile, message: Enriched) -> dict[str, float]:
            out = features_of(profile, message)
            out["contacts_7d"] = float(totals[message.customer_key or ""])
            return out

        return features

    events = history()
    cutoff = min(e.occurred_at for e in events) + 20 * DAY
    assert check_no_leakage(events, RULES, cutoff, leaky)


def test_labels_look_forward_and_censored_decisions_are_left_out() -> None:
    events = history()
    end = max(e.occurred_at for e in events)
    examples = build_examples(events, RULES, 7 * DAY, timedelta(hours=24))
    assert examples and all(e.at + 7 * DAY <= end for e in examples)
    churned = {e.customer_key for e in events if e.event_name == "Subscription Cancelled"}
    for example in examples:
        if example.churned:
            assert example.customer_key in churned
    assert any(e.churned for e in examples) and not all(e.churned for e in examples)


def test_risk_fit_prints_time_split_auc_and_calibration_and_the_worker_loads_it(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "risk",
            "fit",
            "--synthetic",
            "200",
            "--days",
            "75",
            "--seed",
            "5",
            "--churn-horizon-days",
            "14",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "time split at" in out and "calibration (predicted → observed, n)" in out
    assert "mechanics" in out  # synthetic AUC is said to show mechanics only
    model = load_model(tmp_path / "risk_model.json")
    churn = model.evaluation["churn"]
    assert isinstance(churn["auc"], float) and churn["auc"] > 0.6  # the planted signal
    assert f"churn: AUC {churn['auc']}" in out
    assert (
        (tmp_path / "RISK_CARD.md").read_text("utf-8").startswith(f"# Risk model {model.version}")
    )
    message = next(e for e in history() if e.scored and e.author_role == "customer")
    risk = Workflow(RULES, model).on_event(message, None, None).customer.risk
    assert risk is not None and risk.model_version == model.version
