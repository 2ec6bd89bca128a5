"""``cxstream risk fit`` reads its history from ``cx.enriched`` on the real broker."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.risk.model import load_model
from pipeline.settings import Settings
from pipeline.tools.produce import Outgoing, produce
from pipeline.tools.synthetic.outcomes import outcome_history


def test_risk_fit_replays_cx_enriched_and_prints_the_held_out_metrics(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    history = outcome_history(200, 75, seed=5)
    topic = pipeline_settings.topics.enriched
    produce(
        pipeline_settings,
        [
            Outgoing(topic, (e.customer_key or "").encode(), e.model_dump_json().encode())
            for e in history
        ],
    )
    produce(pipeline_settings, [Outgoing(topic, b"x", b"not json")])  # skipped, not fatal
    result = CliRunner().invoke(
        app,
        [
            "risk",
            "fit",
            "--churn-horizon-days",
            "14",
            "--out",
            str(tmp_path),
            "--bootstrap-servers",
            pipeline_settings.bootstrap_servers,
            "--prefix",
            pipeline_settings.topic_prefix,
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"{len(history)} records of {topic}" in result.output
    model = load_model(tmp_path / "risk_model.json")
    churn = model.evaluation["churn"]
    assert f"churn: AUC {churn['auc']}" in result.output
    assert "calibration (predicted → observed, n)" in result.output
    card = json.loads((tmp_path / "risk_model.json").read_text("utf-8"))
    assert card["kind"] == "fitted" and card["version"] == model.version
