"""Chat conversations: customer messages (plain, HTML or Markdown), agent and bot replies."""

from __future__ import annotations

import html
import random
import re
from datetime import datetime, timedelta
from typing import Any

from pipeline.tools.synthetic.phrases import AGENT_REPLIES, Slots, customer_text, fill
from pipeline.tools.synthetic.population import Person, customer_object
from pipeline.tools.synthetic.records import Draft, TimestampStyle, new_draft
from pipeline.tools.synthetic.source import Source
from pipeline.tools.synthetic.weighted import WeightedTable

BOT_REPLIES = (
    "Hi! I'm the Acme virtual assistant 🤖 How can I help you today?",
    "I can help with orders, billing and account questions. Please choose: Orders / Billing / "
    "Account",
    "Thanks! Connecting you to a human agent, the average wait is 3 minutes.",
)
CUSTOMER_FOLLOWUPS = ("Any update on this?", "My order number is {order}.",
                      "Hello?? Is anyone there?", "ok thanks", "That worked, thank you!",
                      "It still doesn't work.", "Can I get a call back instead?")  # fmt: skip
CHAT_PLATFORMS = (("web-widget", 50.0), ("whatsapp", 20.0), ("messenger", 10.0),
                  ("ios-app", 10.0), ("android-app", 10.0))  # fmt: skip

_PLATFORMS = WeightedTable(CHAT_PLATFORMS)
_ORDER_RE = re.compile(r"#?A\d{5}\b|ORD-\d{6}")
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")


def chat_conversation(
    source: Source, p: Person, start: datetime, single: bool = False
) -> list[Draft]:
    """A conversation of ``p`` from ``start`` (``single``: only the customer's first message)."""
    rng = source.rng
    slots = Slots(rng, p)
    platform = _PLATFORMS.draw(rng)
    customer = customer_object(rng, p, prefer_phone=platform == "whatsapp")
    conversation = source.uid("conv_", 12)
    style = TimestampStyle.draw(rng)
    text, intent = customer_text(rng, p, slots)
    turns = [("customer", text)]
    if not single:
        turns += _later_turns(rng, slots, intent)
    drafts, when = [], start
    for role, body in turns:
        r = rng.random()
        if role == "customer" and r < 0.12:
            body = _to_html(rng, body)
        elif role == "customer" and r < 0.2:
            body = _to_markdown(rng, body)
        payload: dict[str, Any] = {
            "message_id": source.uid("msg_", 16),
            "conversation_id": conversation,
            "sent_at": style.render(when),
            "author_role": role,
            "customer": customer,
            "text": body,
            "platform": platform,
        }
        if rng.random() < 0.1:
            payload["widget_version"] = f"2.{rng.randint(0, 9)}.{rng.randint(0, 9)}"
        drafts.append(new_draft(rng, "chat", conversation, payload, p.pid, when, style))
        when += timedelta(milliseconds=rng.randint(20_000, 200_000))
    return drafts


def _later_turns(rng: random.Random, slots: Slots, intent: str) -> list[tuple[str, str]]:
    """The turns after the customer's first message: a reply, a follow-up, another reply."""
    turns: list[tuple[str, str]] = []
    if rng.random() < 0.5:
        reply = (
            fill(rng.choice(AGENT_REPLIES[intent]), slots)
            if rng.random() < 0.7
            else rng.choice(BOT_REPLIES)
        )
        turns.append(("agent" if reply not in BOT_REPLIES else "bot", reply))
    if rng.random() < 0.35:
        turns.append(("customer", fill(rng.choice(CUSTOMER_FOLLOWUPS), slots)))
    if len(turns) > 1 and rng.random() < 0.3:
        turns.append(("agent", fill(rng.choice(AGENT_REPLIES[intent]), slots)))
    return turns


def _to_html(rng: random.Random, text: str) -> str:
    body = html.escape(text, quote=False)
    if rng.random() < 0.5:
        body = _ORDER_RE.sub(
            lambda m: (
                f'<a href="https://shop.example.com/orders/{m.group(0).lstrip("#")}">'
                f"{m.group(0)}</a>"
            ),
            body,
        )
    else:
        body = _ORDER_RE.sub(lambda m: f"<b>{m.group(0)}</b>", body)
    sentences = _SENTENCE_RE.split(body)
    if len(sentences) > 1 and rng.random() < 0.5:
        return "<p>" + "<br>".join(sentences) + "</p>"
    if len(sentences) > 1:
        return "".join(f"<p>{s}</p>" for s in sentences)
    return f"<p>{body}</p>"


def _to_markdown(rng: random.Random, text: str) -> str:
    if _ORDER_RE.search(text) and rng.random() < 0.6:
        return _ORDER_RE.sub(
            lambda m: f"[{m.group(0)}](https://shop.example.com/orders/{m.group(0).lstrip('#')})",
            text,
        )
    first, *rest = _SENTENCE_RE.split(text, maxsplit=1)
    return " ".join([f"**{first}**", *rest])
