"""Message clusters: leader clustering of unit-length sentence embeddings, with event-time
counts in fixed buckets.

A message joins the cluster whose centroid is most similar (cosine) if that similarity reaches
the threshold, and otherwise starts a new cluster. Leader clustering needs one pass and no
number of clusters in advance, which suits a stream where new problems appear; centroids are
running means whose weight is capped (``CENTROID_MEMORY``) so they follow slow drift.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

Vector = np.ndarray[Any, np.dtype[np.float64]]

CENTROID_MEMORY = 200
"""A centroid moves like the mean of at most this many messages (older ones fade)."""
RECENT_MESSAGES = 40
"""Messages each cluster keeps for its label and examples (newest last)."""


class ClusterMessage(BaseModel):
    """A message remembered by its cluster (for the label, examples and window statistics)."""

    interaction_id: str
    at: datetime
    channel: str
    text: str
    sentiment: float | None = None


class OpenTrend(BaseModel):
    """The emerging issue a cluster is in right now (its alert's lifecycle state)."""

    trend_id: str
    alert_id: str
    revision: int
    opened_at: datetime
    reported_volume: int


class ClusterState(BaseModel):
    """One cluster: centroid, size, event-time counts per bucket and its open trend, if any."""

    cluster: str
    centroid: list[float]
    members: int = 0
    first_seen: datetime
    last_seen: datetime
    buckets: dict[int, int] = Field(
        default_factory=dict, description="Bucket number (epoch seconds // bucket) → messages."
    )
    recent: list[ClusterMessage] = Field(default_factory=list)
    trend: OpenTrend | None = None
    faded_at: datetime | None = Field(
        None, description="When its last issue faded: its own late messages do not reopen it."
    )
    inherited: float = Field(
        0.0,
        description="Messages a window expected of the nearest older cluster when this one "
        "started: a cluster split off a known topic is not new while its own history is short.",
    )

    def vector(self) -> Vector:
        """The centroid as a numpy vector."""
        return np.asarray(self.centroid, dtype=np.float64)

    def absorb(self, embedding: Vector, message: ClusterMessage, bucket: int) -> None:
        """Count ``message`` in ``bucket`` and move the centroid towards it."""
        weight = min(self.members, CENTROID_MEMORY)
        moved = self.vector() * weight + embedding
        norm = float(np.linalg.norm(moved))
        self.centroid = [round(float(x), 6) for x in (moved / norm if norm else moved)]
        self.members += 1
        self.first_seen = min(self.first_seen, message.at)
        self.last_seen = max(self.last_seen, message.at)
        self.buckets[bucket] = self.buckets.get(bucket, 0) + 1
        self.recent = [*self.recent, message][-RECENT_MESSAGES:]

    def count(self, first: int, last: int) -> int:
        """Messages in buckets ``first``…``last`` (inclusive)."""
        return sum(n for b, n in self.buckets.items() if first <= b <= last)

    def forget_before(self, bucket: int) -> None:
        """Drop counts older than ``bucket`` (they are outside every window)."""
        self.buckets = {b: n for b, n in self.buckets.items() if b >= bucket}


def unit(vector: list[float]) -> Vector | None:
    """``vector`` scaled to length 1, or None for an empty or zero vector."""
    array = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(array)) if array.size else 0.0
    return array / norm if norm else None


def nearest(centroids: Vector, embedding: Vector) -> tuple[int, float]:
    """Index and cosine similarity of the most similar row of ``centroids`` ((-1, -1) if none)."""
    if centroids.shape[0] == 0:
        return -1, -1.0
    similarities = centroids @ embedding
    best = int(np.argmax(similarities))
    return best, float(similarities[best])
