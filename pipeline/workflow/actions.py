"""Next-best-actions: a ranked list for one alert, each with its reason, confidence and control.

Candidates come from the playbook (the rules file), the risk scores, the offer on the alert,
the operator's own intent pack (its queue) and the approved reply templates (the one the score
stage chose by intent and sentence similarity, ``scores.reply_template``; by intent alone when
a record has none; placeholders for the agent, no generated text). They are ranked by confidence,
highest first; ``next_action`` on the alert stays the playbook's step (backwards compatible).
"""

from __future__ import annotations

from pipeline.contracts.records import Enriched
from pipeline.contracts.risk import RiskAssessment, RiskScore
from pipeline.contracts.scores import IntentScore, ReplyTemplateScore
from pipeline.contracts.workflow import Action, Alert
from pipeline.replies.library import ReplyTemplates

MAX_ACTIONS = 5


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
    suggested = event.scores.reply_template if event is not None and event.scores else None
    reply = _reply(templates, intent, suggested)
    if reply is not None:
        candidates.append(reply)
    candidates.sort(key=lambda a: -a.confidence)
    return candidates[:MAX_ACTIONS]


def _reply(
    templates: ReplyTemplates | None,
    intent: IntentScore | None,
    suggested: ReplyTemplateScore | None,
) -> Action | None:
    """The reply template to suggest: the score stage's choice by intent and similarity when
    this library has it, else the first template written for the intent."""
    if templates is None or intent is None:
        return None
    said = f"intent {intent.label} ({intent.confidence:.2f})"
    confidence = intent.confidence
    template = templates.named(suggested.name) if suggested is not None else None
    if template is not None and suggested is not None:
        if intent.label in template.intents:
            among = (
                f"closest of {suggested.candidates} templates"
                if suggested.candidates > 1
                else "its only template"
            )
            reason = (
                f"approved template for {said}: {among} (similarity {suggested.similarity:.2f})"
            )
        else:
            reason = (
                f"approved template for {', '.join(template.intents)}: the message nearly "
                f"restates one of its examples (similarity {suggested.similarity:.2f}) though "
                f"the model reads {said}"
            )
            confidence = max(0.0, suggested.similarity)  # the evidence it was chosen on
    else:
        template = templates.for_intent(intent.label)
        if template is None:
            return None
        reason = f"approved template for {said}"
    return Action(
        action=f"reply with template {template.name}: {template.text}",
        reason=reason,
        confidence=confidence,
        requires_human=True,  # placeholders: an agent fills and sends it
    )
