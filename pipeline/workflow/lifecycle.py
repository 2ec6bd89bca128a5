"""Signals → alert changes: open, update, resolve, expire; cooldown and rate limit; idempotent.

``alert_id`` = sha256(type, entity, the interaction that opened it): replaying the same input
reaches the same ids, and an update needs evidence the alert does not hold yet, so a redelivered
interaction changes nothing. Each (type, entity) has at most one open alert; after it closes the
pair stays quiet for ``cooldown_s``; a customer gets at most ``max_opened_per_window`` new alerts
per ``rate_window_s`` (further ones are counted as suppressed, never emitted), and at most
``MAX_OPEN_ALERTS`` open at once (alerts kept alive by updates would otherwise grow the
customer's state without bound; see :mod:`pipeline.workflow.state`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from pipeline.contracts.workflow import SEVERITIES, Alert, Routing
from pipeline.workflow.config import WorkflowRules
from pipeline.workflow.rules import Clear, Signal
from pipeline.workflow.state import MAX_OPEN_ALERTS, CustomerState, conversation_entity


def alert_id(alert_type: str, entity: str, trigger: str) -> str:
    """Deterministic id of the alert a trigger interaction opens."""
    digest = hashlib.sha256(f"{alert_type}|{entity}|{trigger}".encode()).hexdigest()
    return f"al_{digest[:24]}"


def human_control(
    severity: str, confidence: float, route: Routing, opted_out: bool, rules: WorkflowRules
) -> tuple[bool, bool, str]:
    """``(requires_human, auto_action_allowed, why)`` from the two thresholds and the stakes."""
    ctl = rules.human_control
    if route.high_stakes:
        return True, False, "high-stakes (" + ", ".join(route.high_stakes) + "): a person decides"
    if route.human_only:
        return True, False, f"routed human only to {route.queue}: a person decides"
    if opted_out:
        return True, False, "the customer opted out of automated decisions"
    if SEVERITIES.index(severity) >= SEVERITIES.index(ctl.human_from):
        return True, False, f"severity {severity} ≥ {ctl.human_from}: a person decides"
    if route.priority in ctl.human_priorities:
        return True, False, f"routed {route.priority}: a person decides"
    if confidence < ctl.suggest:
        return True, False, f"confidence {confidence:.2f} < {ctl.suggest:.2f}: a person decides"
    if confidence < ctl.act:
        return (
            False,
            False,
            f"confidence {confidence:.2f} in [{ctl.suggest:.2f}, {ctl.act:.2f}): suggest to agent",
        )
    return False, True, f"confidence {confidence:.2f} ≥ {ctl.act:.2f}: automatic action allowed"


def _key(alert_type: str, entity: str) -> str:
    return f"{alert_type}|{entity}"


def _open_for(state: CustomerState, alert_type: str, entity: str) -> Alert | None:
    for alert in state.open_alerts.values():
        if alert.type == alert_type and alert.entity == entity:
            return alert
    return None


def _close(state: CustomerState, alert: Alert, status: str, reason: str, at: datetime) -> Alert:
    closed = alert.model_copy(
        update={
            "status": status,
            "revision": alert.revision + 1,
            "updated_at": max(at, alert.updated_at),
            "closed_at": max(at, alert.updated_at),
            "close_reason": reason,
        }
    )
    state.open_alerts.pop(alert.alert_id, None)
    state.closed[_key(alert.type, alert.entity)] = closed.closed_at or at
    return closed


def apply(
    state: CustomerState,
    outcomes: list[Signal | Clear],
    *,
    at: datetime,
    route: Routing,
    next_action: str,
    rules: WorkflowRules,
) -> list[Alert]:
    """Apply rule outcomes to the customer's open alerts; the changes to emit, in order.

    A clear resolves the open alert of its (type, entity); a signal updates the open one, or
    opens a new one unless cooldown or a limit suppresses it."""
    changes: list[Alert] = []
    for outcome in outcomes:
        current = _open_for(state, outcome.type, outcome.entity)
        change: Alert | None
        if isinstance(outcome, Clear):
            change = (
                None if current is None else _close(state, current, "resolved", outcome.reason, at)
            )
        elif current is not None:
            change = _update(state, current, outcome, at=at, route=route, rules=rules)
        else:
            change = _open(state, outcome, at=at, route=route, next_action=next_action, rules=rules)
        if change is not None:
            changes.append(change)
    return changes


def _update(
    state: CustomerState,
    current: Alert,
    outcome: Signal,
    *,
    at: datetime,
    route: Routing,
    rules: WorkflowRules,
) -> Alert | None:
    """The next revision of an open alert, or None when the signal brings no new evidence."""
    known = {e.interaction_id for e in current.evidence}
    # Evidence comes oldest first and the alert keeps only the latest max_evidence
    # items: what precedes the newest item it holds was trimmed, not new.
    held = [i for i, e in enumerate(outcome.evidence) if e.interaction_id in known]
    after = held[-1] + 1 if held else 0
    fresh = [e for e in outcome.evidence[after:] if e.interaction_id not in known]
    if not fresh:
        return None  # a redelivery or a repeat of the same situation: nothing new
    severity = max(current.severity, outcome.severity, key=SEVERITIES.index)
    confidence = max(current.confidence, outcome.confidence)
    # A high-stakes message (a legal threat in a running streak) or one the model cannot read
    # escalates the open alert to its human-only queue; otherwise the alert keeps the route it
    # opened with.
    escalated = route if route.high_stakes or route.human_only else current.route
    requires, auto, why = human_control(severity, confidence, escalated, state.opted_out, rules)
    updated = current.model_copy(
        update={
            "status": "updated",
            "revision": current.revision + 1,
            "severity": severity,
            "confidence": confidence,
            "reasons": outcome.reasons,
            "evidence": [*current.evidence, *fresh][-rules.lifecycle.max_evidence :],
            "updated_at": max(at, current.updated_at),
            "route": escalated,
            "requires_human": requires,
            "auto_action_allowed": auto,
            "control_reason": why,
        }
    )
    state.open_alerts[updated.alert_id] = updated
    return updated


def _open(
    state: CustomerState,
    outcome: Signal,
    *,
    at: datetime,
    route: Routing,
    next_action: str,
    rules: WorkflowRules,
) -> Alert | None:
    """A new alert, or None (counted as suppressed) within the pair's cooldown, over the
    customer's rate limit or at ``MAX_OPEN_ALERTS``."""
    life = rules.lifecycle
    closed_at = state.closed.get(_key(outcome.type, outcome.entity))
    if closed_at is not None and at - closed_at < timedelta(seconds=life.cooldown_s):
        state.alerts_suppressed += 1
        return None
    window = timedelta(seconds=life.rate_window_s)
    recent = [t for t in state.opened_times if at - t < window]
    if len(recent) >= life.max_opened_per_window or len(state.open_alerts) >= MAX_OPEN_ALERTS:
        state.alerts_suppressed += 1
        return None
    requires, auto, why = human_control(
        outcome.severity, outcome.confidence, route, state.opted_out, rules
    )
    alert = Alert(
        alert_id=alert_id(outcome.type, outcome.entity, outcome.trigger),
        type=outcome.type,
        status="opened",
        revision=1,
        customer_key=state.customer_key,
        entity=outcome.entity,
        severity=outcome.severity,
        confidence=outcome.confidence,
        reasons=outcome.reasons,
        evidence=outcome.evidence[-life.max_evidence :],
        next_action=rules.playbook.by_alert.get(outcome.type, next_action),
        route=route,
        requires_human=requires,
        auto_action_allowed=auto,
        control_reason=why,
        opened_at=at,
        updated_at=at,
        rules_version=route.rules_version,
    )
    state.open_alerts[alert.alert_id] = alert
    state.opened_times = [*recent, at]
    state.alerts_opened += 1
    return alert


def close_all(state: CustomerState, reason: str, at: datetime) -> list[Alert]:
    """Resolve every open alert of the customer (e.g. consent to profiling withdrawn)."""
    return [_close(state, a, "resolved", reason, at) for a in list(state.open_alerts.values())]


def still_waiting(state: CustomerState, alert: Alert) -> bool:
    """True for a ``waiting_sla`` alert whose conversation has had no reply yet."""
    if alert.type != "waiting_sla":
        return False
    return any(
        conversation_entity(state.customer_key, name) == alert.entity for name in state.waiting
    )


def expire(state: CustomerState, now: datetime, rules: WorkflowRules) -> list[Alert]:
    """Open alerts with no update for ``expire_after_s`` at ``now`` close as expired.

    A ``waiting_sla`` alert never expires while its customer still waits: the situation is not
    over, and reopening it later would reuse its id (the id comes from the waiting message).
    """
    limit = timedelta(seconds=rules.lifecycle.expire_after_s)
    stale = [
        a
        for a in state.open_alerts.values()
        if now - a.updated_at >= limit and not still_waiting(state, a)
    ]
    return [
        _close(state, a, "expired", f"no update for {limit.total_seconds():g} s", now)
        for a in stale
    ]
