"""Copies the pipeline must drop: redeliveries, cross-relayed mails and chat double-submits."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

from pipeline.tools.synthetic.records import Draft, serialise
from pipeline.tools.synthetic.source import Source


def duplicate_records(
    source: Source, base: list[Draft], redeliveries: int, relays: int, near: int
) -> list[Draft]:
    """Redeliveries, cross-relayed mails and chat double-submits of ``base`` records.

    Where ``base`` has too few mails or customer chat messages, the missing copies become
    redeliveries, so the count stays ``redeliveries + relays + near``.
    """
    rng = source.rng
    emails = [d for d in base if d.channel == "email"]
    chats = [
        d
        for d in base
        if d.channel == "chat"
        and d.payload["author_role"] == "customer"
        and d.payload["text"].strip()
    ]
    relay_src = rng.sample(emails, min(relays, len(emails)))
    near_src = rng.sample(chats, min(near, len(chats)))
    redeliveries += relays - len(relay_src) + near - len(near_src)
    used = {id(d) for d in relay_src + near_src}
    pool = [d for d in base if id(d) not in used] or base
    if redeliveries <= len(pool):
        again = rng.sample(pool, redeliveries)
    else:
        again = [rng.choice(pool) for _ in range(redeliveries)]
    out = [replace(d, expect="redelivery", order=d.order + rng.uniform(0.5, 600.0)) for d in again]
    out += [_relayed(rng, d) for d in relay_src]
    out += [_double_submit(source, d) for d in near_src]
    return out


def _relayed(rng: random.Random, d: Draft) -> Draft:
    """The same mail through a second gateway, a few seconds later."""
    when = d.when + timedelta(milliseconds=rng.randint(2_000, 30_000))
    payload = {**d.payload, "received_at": d.style.render(when), "gateway": "relay-b"}
    return Draft(
        "email",
        d.key,
        payload,
        d.person,
        when,
        d.style,
        serialise("email", payload),
        "cross_relay",
        when.timestamp(),
    )


def _double_submit(source: Source, d: Draft) -> Draft:
    """The same chat text sent again under a new message id (maybe respaced or lower-cased)."""
    rng = source.rng
    when = d.when + timedelta(milliseconds=rng.randint(1_000, 5_000))
    payload = {
        **d.payload,
        "message_id": source.uid("msg_", 16),
        "sent_at": d.style.render(when),
        "text": _respace(rng, d.payload["text"]),
    }
    return Draft(
        "chat",
        d.key,
        payload,
        d.person,
        when,
        d.style,
        serialise("chat", payload),
        "near_duplicate",
        when.timestamp(),
    )


def _respace(rng: random.Random, text: str) -> str:
    """The same text, possibly differing in whitespace or letter case only."""
    kind = rng.randrange(5)
    if kind == 1:
        return text + " "
    if kind == 2:
        return text + "\n"
    if kind == 3:
        return text.lower()
    if kind == 4:
        return text.replace(" ", "  ", 1)
    return text
