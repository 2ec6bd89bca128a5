"""The CLI against the real broker: demo, topics, produce/tail, schemas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pipeline.settings import Settings
from pipeline.tools.demo import DEMO_PORT_ENV, DEMO_STATE_DIR_ENV
from pipeline.tools.runner import settings_env
from pipeline.topics import topic_specs
from tests.conftest import free_port

CLI = [sys.executable, "-m", "pipeline.cli"]


def _run(
    args: list[str],
    settings: Settings | None = None,
    *,
    extra_env: dict[str, str] | None = None,
    **kw: object,
) -> subprocess.CompletedProcess[str]:
    env = settings_env(settings) if settings is not None else dict(os.environ)
    env.update(extra_env or {})
    return subprocess.run(
        CLI + args,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **kw,  # type: ignore[call-overload]
    )


def test_demo_json_accounts_for_everything_and_leaves_nothing_running(tmp_path: Path) -> None:
    # Its own ports and state dir: a `make demo` (or another test run) may be running beside it.
    place = {
        DEMO_STATE_DIR_ENV: str(tmp_path / "demo"),
        **{name: str(free_port()) for name in DEMO_PORT_ENV.values()},
    }
    result = _run(["demo", "--events", "400", "--json"], extra_env=place)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["produced"] == 400
    assert summary["unaccounted"] == 0
    assert (
        summary["interactions"]
        + sum(summary["duplicates"].values())
        + sum(summary["deadletters"].values())
        == 400
    )
    assert set(summary["duplicates"]) == {"redelivery", "cross_relay", "near_duplicate"}
    assert sum(summary["deadletters"].values()) == sum(
        v for k, v in summary["expected"].items() if k.startswith("deadletter:")
    )
    assert set(summary["channels"]) == {"web", "chat", "email", "voice", "survey"}
    # alerts: counted by type, within the per-customer limit, never the same id opened twice
    assert sum(summary["alerts_opened"].values()) > 0
    limit = int(summary["alert_limit_per_customer"].split()[0])
    # the rate limit holds per window of event time; the demo's traffic spans more than one
    assert 0 < summary["max_alerts_per_customer_in_window"] <= limit
    assert summary["max_alerts_per_customer"] >= summary["max_alerts_per_customer_in_window"]
    assert summary["duplicate_alert_ids"] == 0
    # every scored text is routed, and so is every text in a language the model cannot read
    routed = summary["scored"] + summary["unsupported_language"]
    assert sum(summary["routing_queues"].values()) == routed
    state_dir = tmp_path / "demo"
    assert summary["worker_log"] == str(state_dir / "worker.log")  # it ran where it was told
    # it ends by writing the lake and a report of the demo traffic
    assert summary["lake"]["path"] == str(state_dir / "lake")
    assert summary["lake"]["rows"]["enriched"] == summary["enriched"]
    assert "Customer experience report" in Path(summary["report"]).read_text(encoding="utf-8")
    assert not (state_dir / "broker" / "broker.pid").exists()
    leftover = subprocess.run(
        ["pgrep", "-f", str(state_dir)], capture_output=True, text=True, check=False
    )
    assert leftover.stdout.strip() == ""


def test_topics_create_is_idempotent(pipeline_settings: Settings) -> None:
    first = _run(["topics", "create"], pipeline_settings)
    assert first.returncode == 0, first.stderr
    assert "exists " in first.stdout  # the fixture created them already
    lines = first.stdout.strip().splitlines()
    assert len(lines) == len(topic_specs(pipeline_settings.topics, 4)) == 18
    assert any(f"{pipeline_settings.topics.interactions}  (4 partitions)" in line for line in lines)
    assert any(f"{pipeline_settings.topics.resolve}  (1 partitions)" in line for line in lines)


def test_produce_file_then_tail_shows_clean_interaction_and_dead_letter(
    pipeline_settings: Settings, worker: object, tmp_path: Path
) -> None:
    events = tmp_path / "chat.jsonl"
    events.write_text(
        json.dumps(
            {
                "message_id": "cli-1",
                "conversation_id": "c-1",
                "sent_at": "2026-11-29T10:00:00+02:00",
                "customer": {"email": "Ana@Example.com"},
                "text": "<p>My parcel <b>never</b> arrived &amp; nobody answers</p>",
            }
        )
        + "\n{not json\n"
    )
    produced = _run(["produce", str(events), "--channel", "chat"], pipeline_settings)
    assert produced.returncode == 0, produced.stderr
    assert "produced 2 messages" in produced.stdout
    tail = _run(
        ["tail", "interactions", "--from-beginning", "--max", "1", "--json"], pipeline_settings
    )
    assert tail.returncode == 0, tail.stderr
    record = json.loads(tail.stdout)
    assert record["text"] == "My parcel never arrived & nobody answers"
    assert record["identifiers"]["email"] == "ana@example.com"
    assert record["occurred_at"].startswith("2026-11-29T08:00:00")
    dead = _run(["tail", "deadletter", "--from-beginning", "--max", "1"], pipeline_settings)
    assert dead.returncode == 0, dead.stderr
    assert "invalid_json" in dead.stdout and "{not json" in dead.stdout


def test_produce_needs_a_source() -> None:
    result = _run(["produce"])
    assert result.returncode == 2
    assert "give either a JSONL FILE" in result.stderr


def test_schemas_are_in_sync_with_models() -> None:
    result = _run(["schemas", "--check"])
    assert result.returncode == 0, result.stderr


def test_commands_say_in_one_line_when_kafka_cannot_be_reached() -> None:
    """No broker on the port: one `error:` line naming the address, exit 1, no traceback."""
    address = f"127.0.0.1:{free_port()}"
    for args, said in (
        (["alerts", "--bootstrap-servers", address], f"error: cannot reach Kafka at {address}"),
        (["tail", "cx.alerts", "--bootstrap-servers", address], "error: "),
        (
            ["topics", "create", "--bootstrap-servers", address],
            f"error: cannot create topics on {address}",
        ),
    ):
        result = _run(args)
        assert result.returncode == 1, (args, result.returncode, result.stderr[-500:])
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and errors[0].startswith(said), (args, result.stderr[-800:])
        assert "Traceback" not in result.stderr, args
