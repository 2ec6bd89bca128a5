"""The risk model card: what was fitted on what, and how it did on the later window."""

from __future__ import annotations

from pipeline.risk.model import Coefficients, RiskModel

SYNTHETIC_NOTE = (
    "On synthetic history the AUC shows that the mechanics work (features, labels, time split, "
    "fit); it says nothing about accuracy on real customers, whose behaviour the generator "
    "does not know."
)


def metrics_lines(model: RiskModel) -> list[str]:
    """One block per risk: fitted vs prior on the evaluation window, then calibration."""
    lines: list[str] = []
    split = model.evaluation.get("split", {})
    lines.append(
        f"time split at {model.evaluated_from:%Y-%m-%d %H:%M} UTC: "
        f"{split.get('train')} decisions to fit, {split.get('test')} to evaluate"
        if model.evaluated_from
        else "no evaluation"
    )
    for risk in ("churn", "escalation"):
        fitted, prior = (
            model.evaluation.get(risk),
            model.evaluation.get(f"{risk}_prior"),
        )
        if not fitted or not prior:
            continue
        lines.append(
            f"{risk}: AUC {fitted['auc']} (prior {prior['auc']}), Brier {fitted['brier']} "
            f"(prior {prior['brier']}), top-decile lift {fitted['top_decile_lift']}x "
            f"(prior {prior['top_decile_lift']}x), base rate {fitted['base_rate']} over "
            f"{fitted['decisions']} decisions"
        )
        bins = fitted["calibration"]
        assert isinstance(bins, list)
        lines.append(
            "  calibration (predicted → observed, n): "
            + "; ".join(f"{b[0]:.3f} → {b[1]:.3f} ({b[2]:g})" for b in bins)
        )
    return lines


def _weights(c: Coefficients) -> list[str]:
    rows = sorted(c.weights.items(), key=lambda kv: -abs(kv[1]))
    return [f"| intercept | {c.intercept:+.4f} |"] + [f"| `{n}` | {w:+.4f} |" for n, w in rows]


def card_markdown(model: RiskModel, source: str) -> str:
    """The card (Markdown) written beside the coefficients file."""
    out = [
        f"# Risk model {model.version}",
        "",
        f"Fitted {model.fitted_at:%Y-%m-%d %H:%M} UTC by `cxstream risk fit` from {source}. "
        f"Churn: the customer cancels or closes within {model.churn_horizon_days:g} days of a "
        f"message; escalation: an urgent, negative-streak, churn or VIP alert opens within "
        f"{model.escalation_horizon_h:g} h. Logistic regression on the features of "
        "docs/risk.md, each taken as of the message (no later event).",
        "",
        "## Held-out (later time window)",
        "",
        *[f"- {line}" for line in metrics_lines(model)],
        "",
        SYNTHETIC_NOTE if "synthetic" in source else "",
        "",
    ]
    for risk in ("churn", "escalation"):
        out += [
            f"## {risk} weights (log-odds per unit)",
            "",
            "| feature | weight |",
            "|---|---|",
        ]
        out += [*_weights(getattr(model, risk)), ""]
    return "\n".join(out)
