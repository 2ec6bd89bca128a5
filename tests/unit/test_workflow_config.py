"""``load_rules``: the default file loads; every kind of bad file fails naming file and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.workflow.config import (
    DEFAULT_RULES_FILE,
    Playbook,
    RulesFileError,
    WorkflowRules,
    load_rules,
)


def test_default_file_loads_with_a_fingerprint() -> None:
    rules = load_rules()
    assert isinstance(rules, WorkflowRules)
    assert re.fullmatch(r"[0-9a-f]{16}", rules.fingerprint)
    assert rules == load_rules(DEFAULT_RULES_FILE)
    assert rules.high_stakes.patterns
    assert rules.routing.queues


def test_fingerprint_follows_the_file_contents(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: a\n", encoding="utf-8")
    first = load_rules(path).fingerprint
    path.write_text("version: b\n", encoding="utf-8")
    assert load_rules(path).fingerprint != first


def test_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    rules = load_rules(path)
    assert rules.lifecycle.cooldown_s == 3600
    assert rules.routing.default_queue == "general"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(RulesFileError, match="cannot read rules file") as caught:
        load_rules(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("not_yaml.yaml", "alerts: [unclosed\n  lifecycle: {", "is not valid YAML"),
        ("list.yaml", "- alerts\n- lifecycle\n", "the top level must be a mapping, not list"),
        (
            "unknown.yaml",
            "alerts:\n  urgent_message:\n    bogus: 1\n",
            "alerts.urgent_message.bogus",
        ),
        ("type.yaml", "lifecycle:\n  cooldown_s: soon\n", "lifecycle.cooldown_s"),
        (
            "severity.yaml",
            "alerts:\n  churn_signal:\n    severity: urgent\n",
            "churn_signal.severity",
        ),
        ("range.yaml", "human_control:\n  act: 1.5\n", "human_control.act"),
        (
            "priority.yaml",
            "routing:\n  priority_by_urgency: {low: P9}\n",
            "priority_by_urgency.low",
        ),
        ("top.yaml", "alarms: {}\n", "alarms"),
    ],
)
def test_bad_file_names_file_and_field(
    tmp_path: Path, name: str, content: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RulesFileError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message


def test_bad_regex_names_category_and_pattern(tmp_path: Path) -> None:
    path = tmp_path / "regex.yaml"
    path.write_text(
        "high_stakes:\n  patterns:\n    legal_threat: ['\\b(sue|lawyer\\b']\n", encoding="utf-8"
    )
    with pytest.raises(RulesFileError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert str(path) in message
    assert "high_stakes.patterns" in message
    assert "legal_threat" in message
    assert r"\b(sue|lawyer\b" in message.replace("\\\\", "\\")


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("sue(?=d)", "(?="),  # lookahead
        ("(?<!not )lawyer", "(?<!"),  # lookbehind
        (r"(court)s? \1", r"\1"),  # backreference
    ],
)
def test_a_pattern_re2_cannot_run_is_rejected_naming_file_and_field(
    tmp_path: Path, pattern: str, reason: str
) -> None:
    path = tmp_path / "re2.yaml"
    path.write_text(
        f"high_stakes:\n  patterns:\n    legal_threat: ['lawyer', '{pattern}']\n",
        encoding="utf-8",
    )
    with pytest.raises(RulesFileError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert str(path) in message
    assert "high_stakes.patterns.legal_threat.1" in message
    assert "RE2" in message
    assert reason in message


def test_a_catastrophic_pattern_for_backtracking_loads(tmp_path: Path) -> None:
    # Accepted: RE2 runs it in linear time (tests/unit/test_routing.py runs it on 100k chars).
    path = tmp_path / "nested.yaml"
    path.write_text("high_stakes:\n  patterns:\n    legal_threat: ['(a+)+$']\n", encoding="utf-8")
    assert load_rules(path).high_stakes.patterns == {"legal_threat": ["(a+)+$"]}


def test_waiting_sla_must_be_positive(tmp_path: Path) -> None:
    path = tmp_path / "sla.yaml"
    path.write_text("alerts:\n  waiting_sla:\n    sla_s: {chat: 0}\n", encoding="utf-8")
    with pytest.raises(RulesFileError, match=r"alerts\.waiting_sla\.sla_s"):
        load_rules(path)


PLAYBOOK = Playbook(
    actions={
        "billing": {"negative": "refund the error", "any": "explain the charge"},
        "praise": {"positive": "thank them"},
    },
    default={"negative": "apologise", "any": "answer the question"},
)


@pytest.mark.parametrize(
    ("intent", "sentiment", "action"),
    [
        ("billing", "negative", "refund the error"),  # intent, sentiment
        ("billing", "positive", "explain the charge"),  # intent, any
        ("praise", "negative", "apologise"),  # default, sentiment
        ("praise", "neutral", "answer the question"),  # default, any
        ("astrology", "negative", "apologise"),  # unknown intent
        (None, None, "answer the question"),  # neutral, intent "other"
    ],
)
def test_playbook_falls_back(intent: str | None, sentiment: str | None, action: str) -> None:
    assert PLAYBOOK.action(intent, sentiment) == action


def test_empty_playbook_says_review() -> None:
    assert Playbook().action("billing", "negative") == "review the conversation"


def test_default_playbook_has_an_answer_for_every_routed_intent() -> None:
    rules = load_rules()
    for intent in rules.routing.queues:
        for mood in ("negative", "neutral", "positive"):
            assert rules.playbook.action(intent, mood) != "review the conversation"
