"""One ``cxstream risk fit`` run: history → examples → fit → coefficients file and card."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pipeline.contracts.records import Enriched
from pipeline.risk.model import RiskModel
from pipeline.tools.risk_fit.card import card_markdown
from pipeline.tools.risk_fit.examples import build_examples
from pipeline.tools.risk_fit.fit import fit
from pipeline.workflow.config import WorkflowRules


@dataclass(frozen=True)
class FitRun:
    """What a fit wrote: the model and its files."""

    model: RiskModel
    model_file: Path
    card_file: Path
    records: int
    examples: int


def fit_history(
    history: Sequence[Enriched],
    rules: WorkflowRules,
    out: Path,
    *,
    source: str,
    churn_horizon_days: float,
    escalation_horizon_h: float,
    train_share: float,
) -> FitRun:
    """Fit both risks on ``history`` and write ``risk_model.json`` and ``RISK_CARD.md``."""
    examples = build_examples(
        history,
        rules,
        timedelta(days=churn_horizon_days),
        timedelta(hours=escalation_horizon_h),
    )
    model = fit(
        examples,
        churn_horizon_days=churn_horizon_days,
        escalation_horizon_h=escalation_horizon_h,
        train_share=train_share,
    )
    out.mkdir(parents=True, exist_ok=True)
    model_file, card_file = out / "risk_model.json", out / "RISK_CARD.md"
    model_file.write_text(model.model_dump_json(indent=2) + "\n", encoding="utf-8")
    card_file.write_text(card_markdown(model, source), encoding="utf-8")
    return FitRun(model, model_file, card_file, len(history), len(examples))
