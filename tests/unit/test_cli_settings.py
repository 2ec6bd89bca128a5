"""Bad configuration is one line on stderr naming the variable (or flag), never a traceback.

Each case runs a real ``cxstream`` command with one bad setting. Validation happens before any
connection, so none of this needs a broker (the bootstrap address points nowhere).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

NOWHERE = "127.0.0.1:1"  # a regression would try to connect here and fail differently


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("CXSTREAM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CXSTREAM_BOOTSTRAP_SERVERS", NOWHERE)
    monkeypatch.setenv("CXSTREAM_STATE_DIR", str(tmp_path / "state"))


def _not_a_directory(tmp_path: Path) -> str:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    return str(blocker / "state")


def _rules_file(tmp_path: Path, content: str) -> str:
    path = tmp_path / "rules.yaml"
    path.write_text(content, encoding="utf-8")
    return str(path)


TOPICS = ["topics", "create"]
CASES = [
    # (id, command, variable, value (or a function of tmp_path), expected in the line)
    ("partitions", TOPICS, "CXSTREAM_PARTITIONS", "-1", "must be a whole number at least 1"),
    ("not-a-number", TOPICS, "CXSTREAM_PARTITIONS", "six", "must be a whole number at least 1"),
    ("batch", TOPICS, "CXSTREAM_SCORE_BATCH_SIZE", "0", "at least 1"),
    ("port", TOPICS, "CXSTREAM_WEB_PORT", "70000", "from 0 to 65535"),
    ("wait", TOPICS, "CXSTREAM_SCORE_BATCH_WAIT_S", "0", "must be a number more than 0"),
    ("flag", TOPICS, "CXSTREAM_SCORING_ENABLED", "maybe", "true or false"),
    ("store", TOPICS, "CXSTREAM_STORE", "bogus://", "rocksdb:// or memory://"),
    ("region", TOPICS, "CXSTREAM_DEFAULT_REGION", "XX", "region code"),
    ("prefix-chars", TOPICS, "CXSTREAM_TOPIC_PREFIX", "cx/prod ", "'.', '_' and '-'"),
    ("prefix-length", TOPICS, "CXSTREAM_TOPIC_PREFIX", "p" * 240, "Kafka allows 249"),
    ("agents", TOPICS, "CXSTREAM_AGENTS", "scoring", "choose from"),
    ("tail", ["tail", "interactions"], "CXSTREAM_PARTITIONS", "0", "at least 1"),
    ("produce", ["produce", "--synthetic", "1"], "CXSTREAM_STORE", "redis://", "memory://"),
    ("state-dir", ["worker"], "CXSTREAM_STATE_DIR", _not_a_directory, "create and write"),
    ("rules-yaml", ["worker"], "CXSTREAM_RULES_FILE", "alerts: [x\n", "not valid YAML"),
    (
        "rules-regex",
        ["worker"],
        "CXSTREAM_RULES_FILE",
        "high_stakes:\n  patterns:\n    legal_threat: ['sue(?!d)']\n",
        "high_stakes.patterns.legal_threat.0",
    ),
    ("rules-missing", ["worker"], "CXSTREAM_RULES_FILE", "", "cannot read rules file"),
]


@pytest.mark.parametrize(
    ("command", "variable", "value", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    command: list[str],
    variable: str,
    value: object,
    expected: str,
) -> None:
    if callable(value):
        value = value(tmp_path)
    elif variable == "CXSTREAM_RULES_FILE":
        value = _rules_file(tmp_path, str(value)) if value else str(tmp_path / "missing.yaml")
    monkeypatch.setenv(variable, str(value))
    result = CliRunner().invoke(app, command)
    lines = result.stderr.splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert variable in lines[0]
    assert expected in lines[0]
    assert "Traceback" not in result.output
    assert NOWHERE not in result.output  # nothing tried to reach Kafka


def test_a_bad_flag_is_named_as_the_flag() -> None:
    result = CliRunner().invoke(app, ["topics", "create", "--prefix", "cx prod."])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: --prefix='cx prod.': topic names may hold only letters, digits, '.', '_' and '-' "
        "(not ' ')"
    ]


def test_the_console_script_prints_one_line_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CXSTREAM_")}
    env |= {"CXSTREAM_BOOTSTRAP_SERVERS": NOWHERE, "CXSTREAM_PARTITIONS": "-1"}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "topics", "create"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == "error: CXSTREAM_PARTITIONS=-1: must be a whole number at least 1\n"
    assert done.stdout == ""
