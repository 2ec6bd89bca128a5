"""Routing: which queue a customer message goes to, how fast, and whether only a human may act.

Pure functions over an ``Enriched`` event and the rules file; every decision carries a reason
in words and the rules version that made it.
"""

from __future__ import annotations

from functools import lru_cache

from pipeline.contracts.languages import UNSUPPORTED_LANGUAGE
from pipeline.contracts.records import Enriched
from pipeline.contracts.scores import OUT_OF_SCOPE, CustomIntentScore, Scores
from pipeline.contracts.workflow import PRIORITIES, Priority, Routing
from pipeline.workflow.config import HighStakes, RoutingTable, WorkflowRules
from pipeline.workflow.patterns import TextPattern, compile_rule_pattern

NOT_ROUTED_ROLES = frozenset({"agent", "bot", "system"})
DEFAULT_PRIORITY: Priority = "P3"
HIGH_STAKES_FLOOR: Priority = "P2"

_PatternKey = tuple[tuple[str, tuple[str, ...]], ...]


@lru_cache(maxsize=32)
def _compiled(key: _PatternKey) -> tuple[tuple[str, tuple[TextPattern, ...]], ...]:
    # Keyed by the patterns themselves (the frozen rules model holds dicts, so it is not
    # hashable): each rules file's regexes are compiled once, not once per message. RE2, not
    # ``re``: a user's pattern must not be able to take exponential time on a message.
    return tuple(
        (category, tuple(compile_rule_pattern(p) for p in patterns)) for category, patterns in key
    )


def high_stakes(text: str | None, intent: str | None, rules: HighStakes) -> list[str]:
    """The high-stakes categories a message falls in, sorted.

    A category matches when any of its regular expressions (case-insensitive, RE2: linear
    time in the text) is found in the text, or when the message's intent is listed for it
    under ``rules.intents``.
    """
    key = tuple((category, tuple(patterns)) for category, patterns in rules.patterns.items())
    found = {
        category
        for category, compiled in _compiled(key)
        if text and any(pattern.search(text) for pattern in compiled)
    }
    if intent is not None:
        found.update(category for category, intents in rules.intents.items() if intent in intents)
    return sorted(found)


def _raise(priority: Priority) -> Priority:
    """One step more urgent, capped at P1."""
    return PRIORITIES[max(PRIORITIES.index(priority) - 1, 0)]


def route(event: Enriched, tier: str | None, rules: WorkflowRules) -> Routing | None:
    """Queue, priority and human-only flag for one scored event; ``None`` if it is unscored
    (except a text in a language the model does not read: :func:`route_by_language`).

    Agent, bot and system messages go to ``agent_queue`` at P4. A customer message is queued
    by intent and prioritised by urgency, one step higher for strong negative sentiment and
    one more for a raised tier; a high-stakes match sends it to the human queue at P2 or above.
    A custom intent (``scores.intent.custom``, not ``out_of_scope``) with a queue in
    ``custom_queues`` or in its pack takes the queue, and its pack priority (low … critical,
    through ``priority_by_urgency``) is a floor: it can raise the priority, never lower it.
    """
    unreadable = event.unscored_reason == UNSUPPORTED_LANGUAGE
    if not unreadable and (not event.scored or event.scores is None):
        return None
    table = rules.routing
    version = f"{rules.version}@{rules.fingerprint}"
    if event.author_role in NOT_ROUTED_ROLES:
        return Routing(
            queue=table.agent_queue,
            priority="P4",
            reason=f"{event.author_role} message (agent/bot/system): not routed",
            human_only=False,
            rules_version=version,
        )
    scores = event.scores
    if unreadable or scores is None:  # here scores is None only for an unreadable text
        return route_by_language(event, tier, rules)

    intent = scores.intent.label if scores.intent else "other"
    custom = scores.intent.custom if scores.intent else None
    if custom is not None and custom.label == OUT_OF_SCOPE:
        custom = None
    queue, steps = _queue(intent, custom, table)
    priority = _priority(scores, custom, tier, table, steps)

    categories = high_stakes(event.text, intent, rules.high_stakes)
    if categories:
        queue = rules.high_stakes.queue
        floor = PRIORITIES.index(HIGH_STAKES_FLOOR)
        raised = PRIORITIES.index(priority) > floor
        priority = PRIORITIES[min(PRIORITIES.index(priority), floor)]
        steps.append(
            f"high-stakes {', '.join(categories)} → {queue}"
            + (f", {priority}" if raised else "")
            + " (human only)"
        )

    return Routing(
        queue=queue,
        priority=priority,
        reason="; ".join(steps),
        high_stakes=categories,
        human_only=bool(categories),
        rules_version=version,
    )


def _queue(
    intent: str, custom: CustomIntentScore | None, table: RoutingTable
) -> tuple[str, list[str]]:
    """The queue by intent (a custom intent's queue first) and the step that chose it."""
    queue = table.queues.get(intent, table.default_queue)
    steps = [f"intent {intent} → {queue}" + ("" if intent in table.queues else " (default)")]
    custom_queue = table.custom_queues.get(custom.label, custom.queue) if custom else None
    if custom is not None and custom_queue:
        queue = custom_queue
        steps = [f"custom intent {custom.label} ({custom.pack}) → {queue}"]
    return queue, steps


def _priority(
    scores: Scores,
    custom: CustomIntentScore | None,
    tier: str | None,
    table: RoutingTable,
    steps: list[str],
) -> Priority:
    """The priority by urgency, raised by a custom intent's floor, strong negative sentiment
    and a raised tier; each step appended to ``steps``."""
    level = scores.urgency.level if scores.urgency else None
    by_level = {str(known): p for known, p in table.priority_by_urgency.items()}
    if level in by_level:
        priority = by_level[level]
        steps.append(f"urgency {level} → {priority}")
    else:
        priority = DEFAULT_PRIORITY
        steps.append(f"urgency {level or 'unknown'} → {priority} (default)")

    if custom is not None and custom.priority in by_level:
        pack_priority = by_level[custom.priority]
        if PRIORITIES.index(pack_priority) < PRIORITIES.index(priority):
            priority = pack_priority
            steps.append(f"custom intent priority {custom.priority} → {priority}")

    negative = scores.sentiment.probabilities.get("negative", 0.0) if scores.sentiment else 0.0
    if negative >= table.raise_if_negative:
        priority = _raise(priority)
        steps.append(f"negative {negative:.2f} ≥ {table.raise_if_negative:.2f} → {priority}")

    if tier and tier.casefold() in {t.casefold() for t in table.raise_for_tiers}:
        priority = _raise(priority)
        steps.append(f"tier {tier} → {priority}")
    return priority


def route_by_language(event: Enriched, tier: str | None, rules: WorkflowRules) -> Routing:
    """A customer message the model cannot read: to a person who reads its language.

    The queue comes from ``language_queues`` (else ``default_language_queue``); the priority
    is the default P3 (urgency is unknown without scores), raised for a raised tier, and at
    least P2 when a high-stakes pattern matches (the patterns are English, so a match is
    rare). The queue stays the language queue even then: the specialist team may not read
    it. Always human only, so no alert on it allows an automatic action.
    """
    table = rules.routing
    language = event.language or "unknown"
    queue = table.language_queue(event.language)
    listed = event.language in table.language_queues
    steps = [
        f"language {language} is not one the model reads (unscored) → {queue}"
        + ("" if listed else " (default language queue)"),
        f"urgency unknown → {DEFAULT_PRIORITY} (default)",
    ]
    priority = DEFAULT_PRIORITY
    if tier and tier.casefold() in {t.casefold() for t in table.raise_for_tiers}:
        priority = _raise(priority)
        steps.append(f"tier {tier} → {priority}")
    categories = high_stakes(event.text, None, rules.high_stakes)
    if categories:
        priority = PRIORITIES[min(PRIORITIES.index(priority), PRIORITIES.index(HIGH_STAKES_FLOOR))]
        steps.append(f"high-stakes {', '.join(categories)} → {priority}")
    steps.append("human only")
    return Routing(
        queue=queue,
        priority=priority,
        reason="; ".join(steps),
        high_stakes=categories,
        human_only=True,
        rules_version=f"{rules.version}@{rules.fingerprint}",
    )
