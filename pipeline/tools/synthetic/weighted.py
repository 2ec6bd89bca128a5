"""A weighted choice table, drawn from with one ``random.choices`` call."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class WeightedTable(Generic[T]):
    """Values and their odds (weights need not sum to 1)."""

    def __init__(self, rows: Sequence[tuple[T, float]]) -> None:
        self.values = [v for v, _ in rows]
        total, cum = 0.0, []
        for _, w in rows:
            total += w
            cum.append(total)
        self.cum = cum

    def draw(self, rng: random.Random) -> T:
        """One value, with its odds."""
        return rng.choices(self.values, cum_weights=self.cum)[0]
