"""What emerging-issue detection reads and writes: ``cx.internal.trends`` and ``cx.trends``."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

TrendStatus = Literal["emerging", "growing", "faded"]


class TrendSample(BaseModel):
    """One customer message on its way to the global trend detector (``cx.internal.trends``).

    Cut down from ``cx.enriched`` by the ``trends-sample`` agent: the text is already
    redacted there, and is kept only to label clusters."""

    interaction_id: str
    occurred_at: datetime
    channel: str
    text: str = Field(description="The redacted text, cut at 500 characters.")
    sentiment: float | None = Field(None, description="P(positive) - P(negative), -1…1.")
    embedding: list[float] = Field(description="The sentence embedding, unit length.")


class TrendChannel(BaseModel):
    channel: str
    messages: int


class Trend(BaseModel):
    """One emerging issue as it changes; the payload of ``cx.trends`` (keyed by ``trend_id``).

    A record is written when the issue is detected (``emerging``), each time it has grown by
    half again (``growing``) and when it fades (``faded``); its ``emerging_issue`` alert on
    ``cx.alerts`` changes at the same moments."""

    trend_id: str = Field(description="Derived from the cluster and the message that opened it.")
    status: TrendStatus
    cluster: str = Field(description="The message cluster the issue is (stable under replay).")
    label: str = Field(description="The cluster's most distinctive words (class-based TF-IDF).")
    keywords: list[str]
    volume: int = Field(description="Messages in the cluster in the last window (event time).")
    window_s: int
    expected: float = Field(description="Messages a window expected from the baseline period.")
    growth: float = Field(description="volume / max(expected, 1).")
    channels: list[TrendChannel] = Field(description="Messages of the window by channel.")
    sentiment_mean: float | None = Field(
        None, description="Mean P(positive) - P(negative) of the window's messages."
    )
    first_seen: datetime = Field(description="Event time of the cluster's first message.")
    detected_at: datetime = Field(description="Event time of the message that opened the issue.")
    updated_at: datetime = Field(description="Event time of this change.")
    examples: list[str] = Field(description="A few interaction ids of the window's messages.")
    reason: str = Field(description="The decision in words, with its numbers.")
