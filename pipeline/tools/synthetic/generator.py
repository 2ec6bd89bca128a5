"""The generator: a population, and one group of records (a conversation, a call...) per draw."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from pipeline.tools.synthetic.chat import chat_conversation
from pipeline.tools.synthetic.mail import email_thread
from pipeline.tools.synthetic.mix import GROUPS
from pipeline.tools.synthetic.population import Audience, Person, new_person
from pipeline.tools.synthetic.records import Draft
from pipeline.tools.synthetic.source import Source
from pipeline.tools.synthetic.survey import survey_response
from pipeline.tools.synthetic.voice import voice_call
from pipeline.tools.synthetic.web import web_event

ChannelWriter = Callable[[Source, Person, datetime, bool], list[Draft]]

_WRITERS: dict[str, ChannelWriter] = {
    "chat": chat_conversation,
    "email": email_thread,
    "voice": voice_call,
    "survey": survey_response,
}


class Generator:
    """Holds the random source, the population and the ids handed out so far."""

    def __init__(self, rng: random.Random, now: datetime, persons: int) -> None:
        self.source = Source(rng)
        self.now = now
        self.persons = [new_person(self.source, i) for i in range(persons)]
        self.audience = Audience(self.persons)

    @property
    def rng(self) -> random.Random:
        """The random source every draw reads."""
        return self.source.rng

    def _start(self) -> datetime:
        """A group start time between 2 h and 15 min ago (groups span at most ~13 min)."""
        return self.now - timedelta(milliseconds=self.rng.randint(900_000, 7_190_000))

    def group(self, channel: str, single: bool = False) -> list[Draft]:
        """One group of records on ``channel`` (``single``: one record that stands alone)."""
        p = self.audience.pick(self.rng, channel)
        if p is None:
            channel, p = "chat", self.audience.pick(self.rng, "chat")
        assert p is not None
        start = self._start()
        if channel == "web":
            kind = self.rng.choice(("page", "track")) if single else None
            return web_event(self.source, p, start, kind)
        return _WRITERS[channel](self.source, p, start, single)

    def interactions(self, count: int) -> list[Draft]:
        """``count`` valid records, grouped as conversations, threads and calls."""
        out: list[Draft] = []
        while len(out) < count:
            out.extend(self.group(GROUPS.draw(self.rng))[: count - len(out)])
        return out
