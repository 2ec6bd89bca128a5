"""The audit's verdicts: the thresholds file, the rule, and a biased vs an unbiased toy scorer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.fairness.audit import run_audit
from pipeline.fairness.gate import (
    Thresholds,
    ThresholdsFileError,
    default_thresholds_file,
    judge,
    load_thresholds,
)
from pipeline.fairness.metrics import Interval
from pipeline.fairness.report import card_section, render_text
from pipeline.fairness.slices import measure_slices
from pipeline.resources import bundled
from pipeline.scoring.card import load_card
from pipeline.scoring.labelled import LabelledMessage
from pipeline.training.audit_gate import FairnessGateFailed, gate
from tests.unit.fairness_toys import ToyScored, ToyScorer

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("interval", "threshold", "status"),
    [
        (Interval(0.08, 0.06, 0.10), 0.05, "fail"),  # surely above
        (Interval(-0.08, -0.10, -0.06), 0.05, "fail"),  # the sign does not matter
        (Interval(0.06, 0.04, 0.08), 0.05, "pass"),  # may be above, not shown to be
        (Interval(0.01, -0.02, 0.04), 0.05, "pass"),
        (Interval(0.5, 0.4, 0.6), None, "info"),
    ],
)
def test_a_gap_fails_only_when_its_interval_of_abs_gap_is_above_the_threshold(
    interval: Interval, threshold: float | None, status: str
) -> None:
    assert judge(interval, threshold) == status


def test_the_bundled_thresholds_load_and_every_one_is_documented() -> None:
    limits = load_thresholds()
    assert limits.gaps.p_negative is not None
    docs = (ROOT / "docs" / "fairness.md").read_text(encoding="utf-8")
    raw = default_thresholds_file().read_text(encoding="utf-8")
    for section in ("gaps", "slices"):
        for key in type(getattr(limits, section)).model_fields:
            assert f"`{key}`" in docs, f"docs/fairness.md does not explain {section}.{key}"
            assert f"  {key}:" in raw, f"{section}.{key} missing from the bundled file"


def test_a_bad_thresholds_file_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "limits.yaml"
    path.write_text("gaps:\n  p_negative: -1\n  surprise: 2\n", encoding="utf-8")
    with pytest.raises(ThresholdsFileError) as caught:
        load_thresholds(path)
    message = str(caught.value)
    assert str(path) in message
    assert "gaps.p_negative" in message and "gaps.surprise" in message
    with pytest.raises(ThresholdsFileError, match="cannot read"):
        load_thresholds(tmp_path / "missing.yaml")


def test_the_gate_fails_a_scorer_that_scores_women_more_negative() -> None:
    report = run_audit(ToyScorer(female_push=0.3), load_thresholds(), messages=())
    assert not report.passed
    failed = {(g.axis, g.metric) for g in report.gaps if g.status == "fail"}
    assert failed == {("gender_words", "p_negative"), ("gender_names", "p_negative")}
    by_key = {(g.axis, g.group_a, g.metric): g for g in report.gaps}
    pushed = by_key[("gender_words", "female", "p_negative")]
    assert pushed.ci_low > 0.2 and pushed.abs_gap_ci_low > 0.05
    # Name groups are compared within one gender, so the push does not leak into them.
    assert by_key[("names", "african_american", "p_negative")].status == "pass"
    assert any("gender_words female vs male: P(negative)" in f for f in report.failures)
    assert "FAIL: 2 threshold(s) exceeded" in render_text(report)


def test_the_gate_passes_a_scorer_that_ignores_who_is_speaking() -> None:
    report = run_audit(ToyScorer(female_push=0.0), load_thresholds(), messages=())
    assert report.passed, report.failures
    assert {g.status for g in report.gaps} <= {"pass", "info"}
    # The jitter makes gaps non-zero: the intervals measured something.
    assert any(g.gap != 0 for g in report.gaps if g.metric == "p_negative")
    assert render_text(report).endswith("PASS: no gap exceeds its threshold")


def _model_dir(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    model.mkdir()
    shutil.copy(bundled("models") / "cx-minilm-multihead" / "model_card.json", model)
    return model


def test_the_build_gate_stops_a_biased_model_and_records_the_audit_in_its_card(
    tmp_path: Path,
) -> None:
    model = _model_dir(tmp_path)
    with pytest.raises(FairnessGateFailed) as caught:
        gate(model, scorer=ToyScorer(female_push=0.3), messages=())
    message = str(caught.value)
    assert "fairness audit failed" in message and "P(negative)" in message
    card = load_card(model)
    assert card.fairness["passed"] is False
    assert card.fairness["model"]["sha256"] == card.sha256
    assert "| gender_words | female vs male | P(negative) |" in "\n".join(
        card_section(card.fairness)
    )


def test_a_smoke_build_records_a_failed_audit_without_stopping(tmp_path: Path) -> None:
    model = _model_dir(tmp_path)
    report = gate(model, scorer=ToyScorer(female_push=0.3), messages=(), enforce=False)
    assert not report.passed
    assert load_card(model).fairness["failures"] == report.failures


def test_the_build_gate_passes_a_fair_model(tmp_path: Path) -> None:
    model = _model_dir(tmp_path)
    report = gate(model, scorer=ToyScorer(), messages=())
    assert report.passed
    assert load_card(model).fairness["passed"] is True


class ChannelScorer:
    """Right about every message except email, where it always says ``positive``."""

    def __init__(self, messages: list[LabelledMessage]) -> None:
        self.truth = {
            m.text: (m.sentiment if m.channel != "email" else "positive") for m in messages
        }

    def score(self, texts: list[str], *, embeddings: bool = True) -> list[ToyScored]:
        from pipeline.contracts.scores import Scores, SentimentScore

        return [
            ToyScored(
                Scores(
                    sentiment=SentimentScore(
                        label=self.truth[t], probabilities={self.truth[t]: 1.0}
                    )
                )
            )
            for t in texts
        ]


def _message(index: int, channel: str) -> LabelledMessage:
    return LabelledMessage(
        id=f"t-{index}",
        channel=channel,
        text=f"message number {index} about my order from the {channel} channel",
        sentiment="negative",
        urgency="normal",
        intent="other",
        clear_cut=True,
    )


def test_a_slice_much_worse_than_the_rest_fails_and_small_slices_are_not_judged() -> None:
    messages = [_message(i, "chat") for i in range(60)]
    messages += [_message(100 + i, "email") for i in range(40)]
    messages += [_message(200 + i, "voice") for i in range(5)]
    scorer = ChannelScorer(messages)
    results = measure_slices(scorer, messages, Thresholds(), seed=13)
    by_slice = {(r.by, r.slice, r.task): r for r in results}
    assert {r.task for r in results} == {"sentiment"}  # the toy has no urgency or intent head
    email = by_slice[("channel", "email", "sentiment")]
    assert email.accuracy == 0.0 and email.status == "fail"
    assert by_slice[("channel", "voice", "sentiment")].status == "small"
    assert by_slice[("channel", "chat", "sentiment")].accuracy == 1.0
