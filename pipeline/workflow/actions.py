"""Next-best-actions: a ranked list for one alert, each with its reason, confidence and control.

Candidates come from the playbook (the rules file), the risk scores, the offer on the alert,
the operator's own intent pack (its queue) and the approved reply templates (chosen by the
message's intent; placeholders for the agent, no generated text). They are ranked by confidence,
highest first; ``next_action`` on the alert stays the playbook's step (backwards compatible).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.contracts.records import Enriched
from pipeline.contracts.risk import RiskAssessment, RiskScore
from pipeline.contracts.workflow import Action, Alert

DEFAULT_TEMPLATES_FILE = Path(__file__).with_name("templates.yaml")
MAX_ACTIONS = 5


class ReplyTemplate(BaseModel):
    """One approved reply: the intents it answers and its text with {placeholders}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    intents: list[str] = Field(min_length=1)
    text: str = Field(min_length=1, max_length=500)


class ReplyTemplates(BaseModel):
    """The templates file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    templates: list[ReplyTemplate] = Field(default_factory=list)

    def for_intent(self, intent: str | None) -> ReplyTemplate | None:
        """The first template written for ``intent``."""
        return next((t for t in self.templates if intent in t.intents), None)


class TemplatesFileError(ValueError):
    """The templates file is missing, not YAML, or does not validate."""


def load_templates(path: Path | None = None) -> ReplyTemplates:
    """Read and validate a templates file (default: the bundled one)."""
    path = path or DEFAULT_TEMPLATES_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return ReplyTemplates.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise TemplatesFileError(f"reply templates {path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise TemplatesFileError(f"reply templates {path}: {problems}") from exc


def _drivers(score: RiskScore, n: int = 2) -> str:
    raising = [d.text for d in score.drivers if d.contribution > 0][:n]
    return "; ".join(raising) or "no single driver"


def _from_risk(alert: Alert, risk: RiskAssessment) -> list[Action]:
    out: list[Action] = []
    esc, churn = risk.escalation_risk, risk.churn_risk
    if esc.band == "high":
        out.append(
            Action(
                action="hand the case to a senior agent before it escalates",
                reason=f"escalation risk high ({esc.probability:.2f}): {_drivers(esc)}",
                confidence=esc.probability,
                requires_human=True,
            )
        )
    if churn.band == "high" and alert.offer is None:
        out.append(
            Action(
                action="call the customer back to keep them",
                reason=f"churn risk high ({churn.probability:.2f}): {_drivers(churn)}",
                confidence=churn.probability,
                requires_human=True,
            )
        )
    return out


def rank_actions(
    alert: Alert, event: Enriched | None, templates: ReplyTemplates | None
) -> list[Action]:
    """The alert's ranked next-best-actions (at most ``MAX_ACTIONS``)."""
    candidates = [
        Action(
            action=alert.next_action,
            reason=f"playbook step for this {alert.type} alert",
            confidence=alert.confidence,
            requires_human=alert.requires_human,
        )
    ]
    if alert.offer is not None and alert.risk is not None:
        candidates.append(
            Action(
                action=f"offer {alert.offer.text}",
                reason=alert.offer.reason,
                confidence=alert.risk.churn_risk.probability,
                requires_human=alert.offer.requires_human or alert.requires_human,
            )
        )
    if alert.risk is not None:
        candidates += _from_risk(alert, alert.risk)
    intent = event.scores.intent if event is not None and event.scores else None
    if intent is not None and intent.custom is not None and intent.custom.queue:
        custom = intent.custom
        candidates.append(
            Action(
                action=f"route to {custom.queue}",
                reason=f"custom intent {custom.label} ({custom.pack}): {custom.reason}",
                confidence=custom.confidence,
                requires_human=alert.requires_human,
            )
        )
    template = templates.for_intent(intent.label) if templates and intent else None
    if template is not None and intent is not None:
        candidates.append(
            Action(
                action=f"reply with template {template.name}: {template.text}",
                reason=f"approved template for intent {intent.label} ({intent.confidence:.2f})",
                confidence=intent.confidence,
                requires_human=True,  # placeholders: an agent fills and sends it
            )
        )
    candidates.sort(key=lambda a: -a.confidence)
    return candidates[:MAX_ACTIONS]
