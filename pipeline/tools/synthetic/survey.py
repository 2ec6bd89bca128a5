"""Survey answers: NPS, CSAT or CES scores, often with a comment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.tools.synthetic.phrases import NEGATIVE_INTENTS, Slots, customer_text
from pipeline.tools.synthetic.population import Person, customer_object
from pipeline.tools.synthetic.records import Draft, TimestampStyle, new_draft
from pipeline.tools.synthetic.source import Source
from pipeline.tools.synthetic.weighted import WeightedTable

SURVEY_KINDS = (("nps", 50.0), ("csat", 30.0), ("ces", 20.0))
SURVEY_SCORES = {  # kind -> sentiment -> inclusive score range
    "nps": {"positive": (9, 10), "neutral": (7, 8), "negative": (0, 6)},
    "csat": {"positive": (4, 5), "neutral": (3, 3), "negative": (1, 2)},
    "ces": {"positive": (6, 7), "neutral": (4, 5), "negative": (1, 3)},
}
NEUTRAL_COMMENTS = ("It was ok.", "Average experience, nothing special.",
                    "Delivery took a bit long but fine.",
                    "The agent was polite but I had to explain twice.")  # fmt: skip

_SURVEY_KINDS = WeightedTable(SURVEY_KINDS)


def survey_response(
    source: Source, p: Person, start: datetime, single: bool = False
) -> list[Draft]:
    """One survey answer of ``p`` at ``start`` (``single`` is accepted for a uniform signature)."""
    rng = source.rng
    slots = Slots(rng, p)
    kind = _SURVEY_KINDS.draw(rng)
    sentiment = rng.choices(("positive", "neutral", "negative"), weights=(55, 20, 25))[0]
    low, high = SURVEY_SCORES[kind][sentiment]
    style = TimestampStyle.draw(rng)
    response_id = f"R_{source.uid('', 15)}"
    payload: dict[str, Any] = {
        "response_id": response_id,
        "submitted_at": style.render(start),
        "customer": customer_object(rng, p),
        "kind": kind,
        "score": rng.randint(low, high),
    }
    if rng.random() < 0.6:
        if sentiment == "positive":
            comment, _ = customer_text(rng, p, slots, "praise", chatty=False)
        elif sentiment == "negative":
            intent = rng.choice((*NEGATIVE_INTENTS, "complaint"))
            comment, _ = customer_text(rng, p, slots, intent, chatty=False)
        else:
            comment = rng.choice(NEUTRAL_COMMENTS)
        payload["comment"] = comment
    if rng.random() < 0.3:
        payload["touchpoint"] = rng.choice(("chat", "email", "voice", "delivery"))
    return [new_draft(rng, "survey", response_id, payload, p.pid, start, style)]
