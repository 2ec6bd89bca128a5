"""The model build's fairness gate: audit the built model, store the audit in its card, and
stop the build when a gap exceeds its threshold (``cxstream audit``, docs/fairness.md).

It runs after the card refresh, so the card keeps the evaluation numbers and gains a
``fairness`` entry (every gap with its interval and verdict) and, through ``write_card``, the
"Fairness audit" section of MODEL_CARD.md. The audit is the runtime one (``pipeline.fairness``
on the int8 ONNX model through ``Scorer``), so the card and ``cxstream audit`` agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.fairness.audit import DEFAULT_SEED, AuditReport, run_audit
from pipeline.fairness.gate import default_thresholds_file, load_thresholds, shown_path
from pipeline.fairness.scoring import TextScorer
from pipeline.scoring.card import load_card
from pipeline.scoring.evaluate import EVAL_BUCKET
from pipeline.scoring.labelled import LabelledMessage
from pipeline.scoring.scorer import Scorer
from pipeline.training.card_text import write_card


class FairnessGateFailed(RuntimeError):
    """The built model has a gap above a threshold; the message lists every one."""

    def __init__(self, model_dir: Path, report: AuditReport) -> None:
        self.report = report
        lines = "\n".join(f"  - {failure}" for failure in report.failures)
        super().__init__(
            f"fairness audit failed for {model_dir} ({len(report.failures)} threshold(s) "
            f"exceeded; {report.rule}; thresholds {report.thresholds_file}):\n{lines}\n"
            "The card records the audit. Fix the model or its data; change a threshold only "
            "with a reason written beside it (docs/fairness.md)."
        )


def gate(
    model_dir: Path,
    *,
    thresholds: Path | None = None,
    seed: int = DEFAULT_SEED,
    scorer: TextScorer | None = None,
    messages: Sequence[LabelledMessage] | None = None,
    enforce: bool = True,
) -> AuditReport:
    """Audit ``model_dir`` (or ``scorer``, e.g. a toy in a test; ``messages``: see
    :func:`~pipeline.fairness.audit.run_audit`), write the audit into its card, and raise
    :class:`FairnessGateFailed` when a threshold is exceeded.

    ``enforce=False`` records the audit without failing: for smoke builds (``--max-eval``),
    whose 48-row models are not meant to be fair, only to exercise the build.
    """
    path = thresholds if thresholds is not None else default_thresholds_file()
    card = load_card(model_dir)
    report = run_audit(
        scorer if scorer is not None else Scorer(model_dir, bucket_size=EVAL_BUCKET),
        load_thresholds(path),
        seed=seed,
        model={"name": card.name, "version": card.version, "sha256": card.sha256},
        thresholds_file=shown_path(path),
        messages=messages,
    )
    write_card(card.model_copy(update={"fairness": report.model_dump(mode="json")}), model_dir)
    if enforce and not report.passed:
        raise FairnessGateFailed(model_dir, report)
    return report
