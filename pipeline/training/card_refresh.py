"""Refresh a built model's card with ``cxstream models eval`` numbers (one code path for both).

``python -m pipeline.training.card_refresh models/cx-minilm-multihead`` runs the runtime
evaluator on the directory and writes its metrics into ``model_card.json`` and ``MODEL_CARD.md``,
so the committed card and ``cxstream models eval`` report the same numbers by construction.
Throughput is machine-dependent and kept from the build unless the card has none; the build's
int8-vs-fp32 fidelity measures are kept; any other metric the evaluator no longer reports is
dropped.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.scoring.card import load_card
from pipeline.scoring.evaluate import evaluate
from pipeline.training.card_text import write_card

MACHINE_DEPENDENT = ("sequences_per_second",)
BUILD_TIME = ("int8_fp32_", "sequences_per_second")


def refresh(
    model_dir: Path, *, data_dir: Path | None = None, limit: int | None = None
) -> dict[str, float]:
    """Evaluate ``model_dir`` and store the metrics in its card; return what was stored."""
    card = load_card(model_dir)
    measured = evaluate(
        model_dir,
        data_dir=data_dir,
        limit=limit,
        progress=lambda line: print(line, file=sys.stderr),
    )
    numbers = {
        k: float(v)
        for k, v in measured.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and k != "limit"
    }
    for key in MACHINE_DEPENDENT:
        if key in card.metrics:
            numbers.pop(key, None)
    kept = {k: v for k, v in card.metrics.items() if k.startswith(BUILD_TIME)}
    write_card(card.model_copy(update={"metrics": {**kept, **numbers}}), model_dir)
    return numbers


if __name__ == "__main__":
    for name, value in refresh(Path(sys.argv[1])).items():
        print(f"{name:<32} {value}")
