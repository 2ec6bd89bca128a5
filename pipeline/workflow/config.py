"""The workflow rules file: alert thresholds, lifecycle limits, routing table, playbook.

One YAML file (default: ``pipeline/workflow/rules.yaml``; ``CXSTREAM_RULES_FILE`` points to
another) validated by these pydantic models. A bad file fails at start with the file name and
the path of every wrong field, never half-way through a stream.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from pipeline.contracts.languages import LanguageCode
from pipeline.contracts.workflow import (
    Priority,
    Severity,
    UrgencyLevel,
)
from pipeline.workflow.patterns import compile_rule_pattern

DEFAULT_RULES_FILE = Path(__file__).with_name("rules.yaml")

URGENCY_LEVELS: tuple[UrgencyLevel, ...] = ("low", "normal", "high", "critical")
HUMAN_PRIORITIES: tuple[Priority, ...] = ("P1", "P2")
DEFAULT_PRIORITIES: dict[UrgencyLevel, Priority] = {
    "low": "P4",
    "normal": "P3",
    "high": "P2",
    "critical": "P1",
}


def _runs_on_re2(pattern: str) -> str:
    # Fail when the file loads, not on the first message that reaches the bad pattern.
    compile_rule_pattern(pattern)
    return pattern


RulePattern = Annotated[str, AfterValidator(_runs_on_re2)]
"""A high-stakes regular expression that RE2 runs in linear time (``workflow/patterns.py``)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UrgentMessageRule(_Strict):
    """A single customer message the model scores at or above ``min_level``."""

    enabled: bool = True
    min_level: UrgencyLevel = "critical"
    severity: Severity = "high"


class NegativeStreakRule(_Strict):
    """``length`` consecutive negative customer messages in one conversation."""

    enabled: bool = True
    length: int = Field(3, ge=2)
    min_negative: float = Field(0.5, ge=0, le=1, description="P(negative) that counts.")
    severity: Severity = "medium"


class SentimentDropRule(_Strict):
    """Sentiment (P(pos) - P(neg), -1…1) falls ``drop`` below the customer's recent mean."""

    enabled: bool = True
    drop: float = Field(0.8, gt=0, le=2)
    baseline_messages: int = Field(2, ge=1, description="Earlier messages the mean needs.")
    baseline_window_h: float = Field(168, gt=0)
    severity: Severity = "medium"


class RepeatContactRule(_Strict):
    """Customer effort: ``contacts`` inbound contacts over ``channels`` channels in the window."""

    enabled: bool = True
    contacts: int = Field(3, ge=2)
    channels: int = Field(2, ge=1)
    window_h: float = Field(24, gt=0)
    severity: Severity = "medium"


class ChurnSignalRule(_Strict):
    """A cancellation intent said with negative sentiment."""

    enabled: bool = True
    intents: list[str] = Field(default_factory=lambda: ["cancellation"])
    min_intent_confidence: float = Field(0.4, ge=0, le=1)
    min_negative: float = Field(0.4, ge=0, le=1)
    severity: Severity = "high"


class VipAtRiskRule(_Strict):
    """A customer of a VIP tier writes negatively or urgently."""

    enabled: bool = True
    tiers: list[str] = Field(default_factory=lambda: ["vip", "platinum", "enterprise"])
    min_negative: float = Field(0.5, ge=0, le=1)
    min_urgency: UrgencyLevel = "high"
    severity: Severity = "critical"


class WaitingSlaRule(_Strict):
    """A customer message with no agent reply after the channel's SLA (checked by a timer)."""

    enabled: bool = True
    sla_s: dict[str, float] = Field(
        default_factory=lambda: {
            "chat": 300.0,
            "email": 86400.0,
            "voice": 3600.0,
            "web": 86400.0,
            "survey": 172800.0,
        }
    )
    severity: Severity = "medium"

    @field_validator("sla_s")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if v <= 0]
        if bad:
            raise ValueError(f"SLA seconds must be > 0 (channels {bad})")
        return value


class AlertRules(_Strict):
    urgent_message: UrgentMessageRule = UrgentMessageRule()
    negative_streak: NegativeStreakRule = NegativeStreakRule()
    sentiment_drop: SentimentDropRule = SentimentDropRule()
    repeat_contact: RepeatContactRule = RepeatContactRule()
    churn_signal: ChurnSignalRule = ChurnSignalRule()
    vip_at_risk: VipAtRiskRule = VipAtRiskRule()
    waiting_sla: WaitingSlaRule = WaitingSlaRule()


class Lifecycle(_Strict):
    """How alerts open, update, close, and how many a customer can get."""

    cooldown_s: float = Field(
        3600, ge=0, description="After an alert closes, the same type+entity stays quiet this long."
    )
    max_opened_per_window: int = Field(
        4, ge=1, description="Most new alerts per customer in rate_window_s (the rest suppressed)."
    )
    rate_window_s: float = Field(3600, gt=0)
    expire_after_s: float = Field(
        86400, gt=0, description="An open alert with no update this long expires."
    )
    max_evidence: int = Field(10, ge=1, description="Evidence items kept per alert (latest).")


class HumanControl(_Strict):
    """Two thresholds on an alert's confidence: below ``suggest`` a human decides alone;
    at or above ``act`` (and nothing high-stakes, no opt-out, severity under ``human_from``)
    an automatic action is allowed; in between the action is suggested to a human."""

    suggest: float = Field(0.5, ge=0, le=1)
    act: float = Field(0.85, ge=0, le=1)
    human_from: Severity = Field("high", description="This severity and above: always a human.")
    human_priorities: list[Priority] = Field(
        default_factory=lambda: list(HUMAN_PRIORITIES),
        description="Cases routed at these priorities always need a human.",
    )


class HighStakes(_Strict):
    """Regular expressions (case-insensitive, run by RE2) per category that force a human queue."""

    queue: str = "specialist_human"
    patterns: dict[str, list[RulePattern]] = Field(
        default_factory=dict, description="category → regular expressions (RE2 syntax)"
    )
    intents: dict[str, list[str]] = Field(
        default_factory=dict, description="category → intents that are high-stakes by themselves"
    )


class RoutingTable(_Strict):
    """Queue by intent; priority by urgency level, raised for negative sentiment and VIP tier."""

    queues: dict[str, str] = Field(default_factory=dict, description="intent → queue")
    custom_queues: dict[str, str] = Field(
        default_factory=dict,
        description="custom intent (CXSTREAM_INTENT_PACK) → queue; replaces the pack's own queue",
    )
    default_queue: str = "general"
    priority_by_urgency: dict[UrgencyLevel, Priority] = Field(
        default_factory=lambda: dict(DEFAULT_PRIORITIES)
    )
    raise_if_negative: float = Field(
        0.7, ge=0, le=1, description="P(negative) at or above which priority goes up one step."
    )
    raise_for_tiers: list[str] = Field(default_factory=lambda: ["vip", "platinum", "enterprise"])
    agent_queue: str = Field("none", description="Queue for agent/bot messages (no routing).")
    language_queues: dict[LanguageCode, str] = Field(
        default_factory=dict,
        description="ISO 639-1 code → queue for texts the model does not read (unscored, "
        "unsupported_language): a person who reads the language, never an automatic action",
    )
    default_language_queue: str = Field(
        "multilingual", description="Queue for unsupported languages not in language_queues."
    )

    def language_queue(self, language: str | None) -> str:
        """The human queue for a text in ``language`` that the model does not read."""
        if language is None:
            return self.default_language_queue
        return self.language_queues.get(language, self.default_language_queue)


class Playbook(_Strict):
    """Next best action by ``intent`` x sentiment label, with a default per sentiment."""

    actions: dict[str, dict[str, str]] = Field(default_factory=dict)
    default: dict[str, str] = Field(default_factory=dict)
    by_alert: dict[str, str] = Field(
        default_factory=dict,
        description="alert type → action that replaces the intent x sentiment one",
    )

    def action(self, intent: str | None, sentiment: str | None) -> str:
        """The recommended action for one intent and sentiment label."""
        mood = sentiment or "neutral"
        by_mood = self.actions.get(intent or "other", {})
        return (
            by_mood.get(mood)
            or by_mood.get("any")
            or self.default.get(mood)
            or self.default.get("any")
            or "review the conversation"
        )


class WorkflowRules(_Strict):
    """The whole rules file."""

    version: str = Field("1", description="Your version label of this rules file.")
    alerts: AlertRules = AlertRules()
    lifecycle: Lifecycle = Lifecycle()
    human_control: HumanControl = HumanControl()
    high_stakes: HighStakes = HighStakes()
    routing: RoutingTable = RoutingTable()
    playbook: Playbook = Playbook()
    fingerprint: str = Field("", description="sha256 of the file (set on load).")


class RulesFileError(ValueError):
    """The rules file is missing, not YAML, or does not validate."""


def load_rules(path: Path | None = None) -> WorkflowRules:
    """Read and validate a rules file; ``RulesFileError`` says exactly what is wrong."""
    path = path or DEFAULT_RULES_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesFileError(f"cannot read rules file {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesFileError(f"{path} is not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesFileError(f"{path}: the top level must be a mapping, not {type(data).__name__}")
    data["fingerprint"] = hashlib.sha256(text.encode()).hexdigest()[:16]
    try:
        return WorkflowRules.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise RulesFileError(f"{path}: {problems}") from exc


@lru_cache(maxsize=8)
def cached_rules(path: Path | None = None) -> WorkflowRules:
    """``load_rules`` once per path (the worker and the CLI share one parsed file)."""
    return load_rules(path)
