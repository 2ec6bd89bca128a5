"""Voice calls: a transcribed call, as utterances or one transcript, sometimes in segments."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from typing import Any

from pipeline.tools.synthetic.phrases import AGENT_REPLIES, Slots, customer_text, fill
from pipeline.tools.synthetic.population import Person
from pipeline.tools.synthetic.records import Draft, TimestampStyle, new_draft
from pipeline.tools.synthetic.source import Source

VOICE_GREETINGS = ("Thank you for calling Acme, my name is {agent}, how can I help you today?",
                   "Acme customer service, this is {agent} speaking.")  # fmt: skip
VOICE_CLOSINGS = {
    "positive": ("Okay great, thank you.", "Perfect, thanks for your help."),
    "negative": ("This is ridiculous, I've called three times already.", "Fine. Whatever."),
    "neutral": ("Okay.", "Alright, thanks."),
}
VOICE_FILLERS = ("um", "uh", "so", "yeah")

Utterance = dict[str, Any]


def voice_call(source: Source, p: Person, start: datetime, single: bool = False) -> list[Draft]:
    """A call of ``p`` at ``start`` (``single``: never split into segments)."""
    rng = source.rng
    assert p.phone is not None
    utterances = _utterances(rng, _script(rng, p))
    call_id = f"CA{source.uid('', 32)}"
    caller = p.phone.display(rng)
    with_customer_id = p.customer_id is not None and rng.random() < 0.45
    confidence = round(rng.uniform(0.62, 0.98), 3) if rng.random() < 0.85 else None
    chunks = _segments(rng, utterances, single)
    style = TimestampStyle.draw(rng)
    drafts = []
    for index, chunk in enumerate(chunks, start=1):
        offset = chunk[0]["start_s"] if len(chunks) > 1 else 0.0
        when = start + timedelta(seconds=offset)
        payload: dict[str, Any] = {"call_id": call_id}
        if len(chunks) > 1:
            payload["segment_id"] = f"seg-{index:02d}"
        payload["started_at"] = style.render(when)
        payload["duration_s"] = round(chunk[-1]["end_s"] - offset + 0.8, 1)
        payload["caller_number"] = caller
        if with_customer_id:
            payload["customer_id"] = p.customer_id
        _add_transcript(rng, payload, chunk, offset, whole=len(chunks) == 1)
        if confidence is not None:
            payload["asr_confidence"] = confidence
        if rng.random() < 0.2:
            payload["queue"] = rng.choice(("billing", "orders", "general"))
        drafts.append(new_draft(rng, "voice", call_id, payload, p.pid, when, style))
    return drafts


def _script(rng: random.Random, p: Person) -> list[tuple[str, str]]:
    """Who says what in the call: greeting, the customer's matter, the answer, the goodbye."""
    slots = Slots(rng, p)
    text, intent = customer_text(rng, p, slots)
    mood = (
        "positive"
        if intent == "praise"
        else "negative"
        if intent == "complaint"
        else rng.choice(("positive", "neutral", "negative"))
    )
    lines = [
        ("agent", fill(rng.choice(VOICE_GREETINGS), slots)),
        ("customer", text),
        ("agent", fill(rng.choice(AGENT_REPLIES[intent]), slots)),
        ("customer", rng.choice(VOICE_CLOSINGS[mood])),
    ]
    if rng.random() < 0.4:
        lines += [
            ("agent", "Is there anything else I can help you with?"),
            ("customer", "No, that's all, thanks."),
        ]
    return lines


def _utterances(rng: random.Random, lines: list[tuple[str, str]]) -> list[Utterance]:
    """The lines with their times, as clean text or as raw recognition output."""
    raw = rng.random() < 0.5
    utterances: list[Utterance] = []
    clock = round(rng.uniform(0.3, 2.0), 2)
    for speaker, line in lines:
        said = _asr(line) if raw else line
        if raw and speaker == "customer" and rng.random() < 0.4:
            said = f"{rng.choice(VOICE_FILLERS)} {said}"
        end = round(clock + max(1.0, len(said.split()) / 2.6) + rng.uniform(0.0, 1.0), 2)
        utterances.append({"speaker": speaker, "text": said, "start_s": clock, "end_s": end})
        clock = round(end + rng.uniform(0.2, 1.5), 2)
    return utterances


def _segments(
    rng: random.Random, utterances: list[Utterance], single: bool
) -> list[list[Utterance]]:
    """The call as one record, or cut into two or three segments."""
    if single or len(utterances) < 4 or rng.random() >= 0.35:
        return [utterances]
    k = rng.choice((2, 3))
    cuts = sorted(rng.sample(range(1, len(utterances)), k - 1))
    return [utterances[i:j] for i, j in zip([0, *cuts], [*cuts, len(utterances)], strict=True)]


def _add_transcript(
    rng: random.Random, payload: dict[str, Any], chunk: list[Utterance], offset: float, whole: bool
) -> None:
    """The segment's utterances, times relative to its start (a whole call: maybe as text)."""
    rebased = [
        {
            **u,
            "start_s": round(u["start_s"] - offset, 2),
            "end_s": round(u["end_s"] - offset, 2),
        }
        for u in chunk
    ]
    if whole and rng.random() < 0.25:
        joiner = rng.choice(("labelled", "plain"))
        payload["transcript"] = (
            "\n".join(f"{u['speaker'].capitalize()}: {u['text']}" for u in rebased)
            if joiner == "labelled"
            else " ".join(u["text"] for u in rebased)
        )
    else:
        payload["utterances"] = rebased


def _asr(text: str) -> str:
    """Make text look like raw speech recognition output."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())
