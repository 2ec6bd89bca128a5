"""The one random source of a generator and every id it has handed out (ids never repeat)."""

from __future__ import annotations

import random
import uuid


class Source:
    """The random source and the ids (message ids, addresses, numbers) handed out so far.

    ``rng`` may be replaced between draws (a steady population, new messages): every draw reads
    it at the time of the draw.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def claim(self, value: str) -> bool:
        """Hand out ``value`` if it is still free; whether it was."""
        if value in self.seen:
            return False
        self.seen.add(value)
        return True

    def uid(self, prefix: str, hex_digits: int) -> str:
        """A new ``prefix`` + ``hex_digits`` random hex digits."""
        while True:
            value = f"{prefix}{self.rng.getrandbits(hex_digits * 4):0{hex_digits}x}"
            if self.claim(value):
                return value

    def uuid(self) -> str:
        """A new random UUID (version 4)."""
        while True:
            value = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            if self.claim(value):
                return value
