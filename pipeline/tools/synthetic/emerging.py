"""A scenario for emerging-issue detection: steady customer traffic over many hours, and an
injected new issue that ramps up (a promo code rejected at checkout, written in varied words
across chat, email and voice).

Steady messages are the generator's own customer texts (:func:`phrases.customer_text`, every
intent in its usual share); the injected ones come from :data:`PROMO_TEMPLATES`. Arrivals are a
Poisson process in event time (exponential gaps), the ramp's rate rising linearly from zero to
``peak_per_hour``. Only ``random.Random(seed)`` is used: equal arguments give equal messages.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipeline.tools.synthetic.phrases import Slots, customer_text
from pipeline.tools.synthetic.population import new_person
from pipeline.tools.synthetic.source import Source

PROMO_TEMPLATES = (
    "The promo code {code} is rejected at checkout, it says the code is invalid.",
    "I tried to use the discount code from your email but checkout says the promo code is not "
    "valid.",
    "Your promo code {code} doesn't work at checkout. I get an error every time I pay.",
    "Why is my promo code not accepted? Checkout says it expired but it is valid until {day}.",
    "Checkout keeps rejecting my promo code {code}, so I paid full price. Please refund the "
    "difference.",
    "so um the promo code from the newsletter won't apply at checkout it just says invalid code",
    "Promo code {code} was declined at checkout twice today. Is the promotion still running?",
    "Entered the promo code {code} at checkout and got 'code not recognised'. What's wrong?",
    "Your checkout page refuses the promo code I got in the {percent} off email.",
    "The {percent} promo code fails at checkout on the app and on the website.",
)
PROMO_KEYWORDS = ("promo", "code", "checkout")
"""Words a good label of the injected issue contains."""
CODES = ("SAVE20", "WELCOME10", "SPRING25", "FREESHIP", "VIP15")
DAYS = ("Friday", "Sunday", "the end of the month", "next week")
PERCENTS = ("10%", "15%", "20%", "25%")
CHANNELS = ("chat", "chat", "email", "voice")
SUPPORT = "support@acme.example"


@dataclass(frozen=True)
class ScenarioMessage:
    """One customer message of the scenario."""

    message_id: str
    channel: str
    at: datetime
    text: str
    customer: str
    injected: bool


def steady(start: datetime, hours: float, per_hour: float, seed: int) -> list[ScenarioMessage]:
    """Ordinary traffic: ``per_hour`` customer messages an hour on average, for ``hours``."""
    source = Source(random.Random(seed))
    people = [p for p in (new_person(source, i) for i in range(400)) if p.lang == "en"]
    rng = source.rng
    messages = []
    for n, at in enumerate(_arrivals(rng, start, hours * 3600, lambda _: per_hour)):
        person = rng.choice(people)
        text, _ = customer_text(rng, person, Slots(rng, person))
        messages.append(
            ScenarioMessage(f"steady-{seed}-{n}", rng.choice(CHANNELS), at, text, person.pid, False)
        )
    return messages


def ramp(start: datetime, minutes: float, peak_per_hour: float, seed: int) -> list[ScenarioMessage]:
    """The injected issue: its rate rises linearly from 0 to ``peak_per_hour`` over ``minutes``."""
    rng = random.Random(seed)
    length = minutes * 60

    def rate(elapsed: float) -> float:
        return peak_per_hour * min(1.0, elapsed / length)

    messages = []
    for n, at in enumerate(_arrivals(rng, start, length, rate, peak_per_hour)):
        text = rng.choice(PROMO_TEMPLATES).format(
            code=rng.choice(CODES), day=rng.choice(DAYS), percent=rng.choice(PERCENTS)
        )
        customer = f"promo-{seed}-{rng.randrange(10**6):06d}"
        messages.append(
            ScenarioMessage(f"promo-{seed}-{n}", rng.choice(CHANNELS), at, text, customer, True)
        )
    return messages


def _arrivals(
    rng: random.Random, start: datetime, length_s: float, rate: Any, most: float | None = None
) -> list[datetime]:
    """Event times of a Poisson process with ``rate(elapsed)`` per hour (thinning)."""
    top = most if most is not None else rate(0.0)
    times: list[datetime] = []
    elapsed = 0.0
    while top > 0:
        elapsed += rng.expovariate(top / 3600)
        if elapsed >= length_s:
            break
        if rng.random() * top <= rate(elapsed):
            times.append(start + timedelta(seconds=elapsed))
    return times


def raw_message(message: ScenarioMessage) -> tuple[str, dict[str, Any]]:
    """The raw event of ``message`` on its channel (docs/contract.md): a chat message, an email
    or a one-utterance call transcript."""
    at = message.at.isoformat()
    email = f"{message.customer.lower()}@example.com"
    if message.channel == "email":
        return "email", {
            "message_id": f"<{message.message_id}@mail.example>",
            "received_at": at,
            "from": email,
            "to": SUPPORT,
            "subject": "Help",
            "text": message.text,
        }
    if message.channel == "voice":
        return "voice", {
            "call_id": message.message_id,
            "started_at": at,
            "duration_s": 30,
            "customer_id": message.customer,
            "utterances": [
                {"speaker": "customer", "text": message.text, "start_s": 0, "end_s": 20},
            ],
        }
    return "chat", {
        "message_id": message.message_id,
        "conversation_id": f"conv-{message.message_id}",
        "sent_at": at,
        "author_role": "customer",
        "customer": {"id": message.customer, "email": email},
        "text": message.text,
    }
