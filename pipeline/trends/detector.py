"""The emerging-issue decisions, over any mapping (a Faust table in the worker, a dict in
tests and in ``cxstream`` tools).

Every message joins a cluster (:mod:`pipeline.trends.clusters`). A cluster becomes an
**emerging issue** when, in the last window of event time, it has at least ``min_volume``
messages and at least ``min_growth`` times what its baseline period expected (the preceding
``baseline_s``, scaled to one window; a brand-new cluster expects nothing and is compared with
one message). Nothing opens until the detector has seen one whole baseline period (warm-up:
before that every cluster is new). An open issue is reported again each time its window volume
reaches 1.5x the volume last reported, and it fades when the window holds fewer than half of
``min_volume``. Counting runs on event time, so a replay in the same order decides the same
again. Messages reach the detector out of event-time order (many raw partitions merge on the
way), so opening and growth are judged at each message's own event time, and fading
``lateness_s`` behind the latest event time seen; an issue that faded is not reopened by its own
late messages.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from pydantic import BaseModel, Field

from pipeline.contracts.trends import Trend, TrendChannel, TrendSample, TrendStatus
from pipeline.settings import Settings
from pipeline.trends.clusters import (
    ClusterMessage,
    ClusterState,
    OpenTrend,
    Vector,
    nearest,
    unit,
)
from pipeline.trends.labels import distinctive_terms, label_of

META = "meta"
CLUSTER_PREFIX = "cluster:"
GROWTH_STEP = 1.5
"""An open issue is reported again once its window volume is this many times the last report."""
REMEMBERED_IDS = 256
"""Interaction ids remembered to ignore a redelivered sample."""
TEXT_CHARS = 300
EXAMPLES = 5


@dataclass(frozen=True)
class TrendConfig:
    """The detector's knobs (``CXSTREAM_TRENDS_*``)."""

    similarity: float
    window_s: int
    bucket_s: int
    baseline_s: int
    min_volume: int
    min_growth: float
    significance: float
    max_clusters: int
    lateness_s: int = 600

    @classmethod
    def of(cls, settings: Settings) -> TrendConfig:
        """The configuration from the worker's settings."""
        return cls(
            similarity=settings.trends_similarity,
            window_s=settings.trends_window_s,
            bucket_s=settings.trends_bucket_s,
            baseline_s=settings.trends_baseline_s,
            min_volume=settings.trends_min_volume,
            min_growth=settings.trends_min_growth,
            significance=settings.trends_significance,
            max_clusters=settings.trends_max_clusters,
            lateness_s=settings.trends_lateness_s,
        )

    @property
    def version(self) -> str:
        """A label of the knobs, carried by every trend alert as its ``rules_version``."""
        return (
            f"trends:sim{self.similarity:g}/w{self.window_s}/b{self.baseline_s}"
            f"/v{self.min_volume}/g{self.min_growth:g}"
        )


class DetectorMeta(BaseModel):
    """What the detector keeps besides its clusters."""

    next_cluster: int = 0
    started_at: datetime | None = Field(None, description="Event time of the first message.")
    latest: datetime | None = Field(None, description="Latest event time seen.")

    seen: list[str] = Field(default_factory=list, description="Latest interaction ids.")


@dataclass(frozen=True)
class TrendChange:
    """A trend record and the change of its alert (status, revision, times)."""

    trend: Trend
    revision: int
    alert_id: str
    opened_at: datetime
    examples: tuple[ClusterMessage, ...] = ()


def poisson_tail(volume: int, expected: float) -> float:
    """P(at least ``volume`` messages) when a window holds ``expected`` on average (Poisson)."""
    term = math.exp(-expected)
    below = 0.0
    for k in range(volume):
        below += term
        term *= expected / (k + 1)
    return max(0.0, 1.0 - below)


def trend_alert_id(entity: str, trigger: str) -> str:
    """The alert id the workflow's convention gives (sha256 of type, entity, trigger)."""
    digest = hashlib.sha256(f"emerging_issue|{entity}|{trigger}".encode()).hexdigest()
    return f"al_{digest[:24]}"


class TrendDetector:
    """Clusters each sample and decides which clusters are emerging issues (module docstring).

    ``store`` holds one JSON value per cluster (``cluster:<id>``) and ``meta``; the detector
    caches them in memory and must be told (:meth:`invalidate`) when the store was rebuilt."""

    def __init__(self, config: TrendConfig, store: MutableMapping[str, bytes]) -> None:
        self.config = config
        self.store = store
        self._meta: DetectorMeta | None = None
        self._clusters: dict[str, ClusterState] = {}
        self._ids: list[str] = []
        self._matrix: Vector = np.zeros((0, 0))
        self._dirty: set[str] = set()

    def invalidate(self) -> None:
        """Forget the cache (after a rebalance or recovery the store is the truth)."""
        self._meta = None
        self._dirty.clear()

    @property
    def active(self) -> int:
        """Open emerging issues."""
        self._load()
        return sum(1 for c in self._clusters.values() if c.trend is not None)

    @property
    def clusters(self) -> int:
        """Clusters held."""
        self._load()
        return len(self._clusters)

    def observe(self, sample: TrendSample) -> list[TrendChange]:
        """Count one customer message; return the trend changes it causes (usually none).

        The new state is held in memory until :meth:`save`: the agent saves it once the
        changes are on the broker, so a crash in between decides them again (never loses them)."""
        meta = self._load()
        embedding = unit(sample.embedding)
        if embedding is None or sample.interaction_id in meta.seen:
            return []
        at = sample.occurred_at.astimezone(UTC)
        meta.seen = [*meta.seen, sample.interaction_id][-REMEMBERED_IDS:]
        meta.started_at = min(meta.started_at or at, at)
        meta.latest = max(meta.latest or at, at)
        cluster = self._assign(sample, embedding, at, meta)
        changes: list[TrendChange] = []
        # opening and growth are judged at the message's own event time, so partitions that
        # are hours apart in a backfill still count an issue's messages together
        change = self._open_or_grow(cluster, meta, at, sample.interaction_id)
        if change is not None:
            changes.append(change)
        changed = {cluster.cluster}
        # fading is judged lateness_s behind the latest event time: messages arrive out of
        # event-time order (many raw partitions), and a window is only complete once its late
        # messages are in
        settled = at if meta.latest is None else meta.latest
        settled -= timedelta(seconds=self.config.lateness_s)
        for state in sorted(self._clusters.values(), key=lambda c: c.cluster):
            if state.trend is None or settled < state.trend.opened_at:
                continue
            change = self._fade(state, settled)
            if change is not None:
                changes.append(change)
                changed.add(state.cluster)
        self._dirty |= changed
        return changes

    def save(self) -> None:
        """Write the clusters changed since the last save, and the detector's own state."""
        if self._meta is None:
            return
        for name in sorted(self._dirty):
            state = self._clusters.get(name)
            if state is not None:
                self.store[CLUSTER_PREFIX + name] = state.model_dump_json().encode()
        self._dirty.clear()
        self.store[META] = self._meta.model_dump_json().encode()

    def _load(self) -> DetectorMeta:
        if self._meta is not None:
            return self._meta
        raw = self.store.get(META)
        self._meta = DetectorMeta.model_validate_json(raw) if raw else DetectorMeta()
        self._clusters = {
            key[len(CLUSTER_PREFIX) :]: ClusterState.model_validate_json(value)
            for key, value in self.store.items()
            if key.startswith(CLUSTER_PREFIX)
        }
        self._rebuild_matrix()
        return self._meta

    def _rebuild_matrix(self) -> None:
        self._ids = sorted(self._clusters)
        vectors = [self._clusters[name].centroid for name in self._ids]
        self._matrix = np.asarray(vectors, dtype=np.float64) if vectors else np.zeros((0, 0))

    def _assign(
        self, sample: TrendSample, embedding: Vector, at: datetime, meta: DetectorMeta
    ) -> ClusterState:
        """The cluster the sample joins (a new one below the similarity threshold)."""
        message = ClusterMessage(
            interaction_id=sample.interaction_id,
            at=at,
            channel=sample.channel,
            text=sample.text[:TEXT_CHARS],
            sentiment=sample.sentiment,
        )
        best, similarity = nearest(self._matrix, embedding)
        joined = best >= 0 and similarity >= self.config.similarity
        if joined:
            state = self._clusters[self._ids[best]]
        else:
            parent = self._clusters[self._ids[best]] if best >= 0 else None
            self._evict_if_full()
            name = f"c{meta.next_cluster:06d}"
            meta.next_cluster += 1
            state = ClusterState(
                cluster=name,
                centroid=[float(x) for x in embedding],
                first_seen=at,
                last_seen=at,
                inherited=self._window(parent, at)[1] if parent is not None else 0.0,
            )
            self._clusters[name] = state
        state.absorb(embedding, message, self._bucket(at))
        state.forget_before(self._bucket(meta.latest or at) - self._span_buckets())
        if joined:
            self._matrix[best] = state.centroid
        else:
            self._rebuild_matrix()
        return state

    def _evict_if_full(self) -> None:
        """Drop the least recently seen cluster without an open issue when at capacity."""
        if len(self._clusters) < self.config.max_clusters:
            return
        quiet = [c for c in self._clusters.values() if c.trend is None]
        if not quiet:
            return
        oldest = min(quiet, key=lambda c: (c.last_seen, c.cluster))
        del self._clusters[oldest.cluster]
        self._dirty.discard(oldest.cluster)
        self.store.pop(CLUSTER_PREFIX + oldest.cluster, None)

    def _bucket(self, at: datetime) -> int:
        return int(at.timestamp()) // self.config.bucket_s

    def _span_buckets(self) -> int:
        return (self.config.window_s + self.config.baseline_s) // self.config.bucket_s

    def _window(self, state: ClusterState, at: datetime) -> tuple[int, float]:
        """Messages in the window up to ``at``, and what the baseline period expected of one."""
        cfg = self.config
        now = self._bucket(at)
        width = max(1, cfg.window_s // cfg.bucket_s)
        base = max(1, cfg.baseline_s // cfg.bucket_s)
        volume = state.count(now - width + 1, now)
        expected = state.count(now - width - base + 1, now - width) / base * width
        young = (now - self._bucket(state.first_seen)) * cfg.bucket_s < cfg.baseline_s
        return volume, max(expected, state.inherited) if young else expected

    def _open_or_grow(
        self, state: ClusterState, meta: DetectorMeta, now: datetime, trigger: str
    ) -> TrendChange | None:
        """Open an issue on ``state``, or report its growth, judged at event time ``now``."""
        volume, expected = self._window(state, now)
        growth = volume / max(expected, 1.0)
        chance = poisson_tail(volume, max(expected, 1.0))
        cfg = self.config
        open_trend = state.trend
        if open_trend is None:
            warmed = meta.started_at is not None and (
                (now - meta.started_at).total_seconds() >= cfg.baseline_s
            )
            if not (warmed and volume >= cfg.min_volume and growth >= cfg.min_growth):
                return None
            if state.faded_at is not None and now <= state.faded_at:
                return None  # a late message of the issue that just faded
            if chance > cfg.significance:
                return None
            entity = f"trend:{state.cluster}"
            trend_id = (
                "tr_" + hashlib.sha256(f"{state.cluster}|{trigger}".encode()).hexdigest()[:16]
            )
            state.trend = OpenTrend(
                trend_id=trend_id,
                alert_id=trend_alert_id(entity, trigger),
                revision=1,
                opened_at=now,
                reported_volume=volume,
            )
            reason = (
                f"{volume} messages in the last {cfg.window_s // 60} min against {expected:.1f} "
                f"expected from the previous {cfg.baseline_s // 3600} h ({growth:.1f}x, chance "
                f"{chance:.1e} if nothing changed; opens at {cfg.min_volume} messages, "
                f"{cfg.min_growth:g}x and a chance under {cfg.significance:g})"
            )
            return self._change(state, "emerging", volume, expected, growth, reason, now)
        if volume >= open_trend.reported_volume * GROWTH_STEP:
            reason = (
                f"growing: {volume} messages in the last {cfg.window_s // 60} min, up from "
                f"{open_trend.reported_volume} at the last report ({growth:.1f}x the baseline)"
            )
            open_trend.revision += 1
            open_trend.reported_volume = volume
            return self._change(state, "growing", volume, expected, growth, reason, now)
        return None

    def _fade(self, state: ClusterState, now: datetime) -> TrendChange | None:
        """Close ``state``'s open issue if its window up to ``now`` has emptied."""
        volume, expected = self._window(state, now)
        cfg = self.config
        if state.trend is None or volume >= cfg.min_volume / 2:
            return None
        reason = (
            f"faded: {volume} messages in the last {cfg.window_s // 60} min, under half of "
            f"the {cfg.min_volume} that open an issue"
        )
        state.trend.revision += 1
        growth = volume / max(expected, 1.0)
        change = self._change(state, "faded", volume, expected, growth, reason, now)
        state.trend = None
        state.faded_at = now
        return change

    def _change(
        self,
        state: ClusterState,
        status: TrendStatus,
        volume: int,
        expected: float,
        growth: float,
        reason: str,
        now: datetime,
    ) -> TrendChange:
        """The trend record of ``state``'s open issue as it stands at event time ``now``."""
        if state.trend is None:
            raise ValueError(f"cluster {state.cluster} has no open issue")
        first = self._bucket(now) - max(1, self.config.window_s // self.config.bucket_s) + 1
        window = [m for m in state.recent if self._bucket(m.at) >= first]
        classes = {name: [m.text for m in c.recent] for name, c in self._clusters.items()}
        # a fading window holds few messages: the issue keeps the label of its latest ones
        labelled = window if len(window) >= self.config.min_volume else state.recent
        classes[state.cluster] = [m.text for m in labelled]
        keywords = distinctive_terms(classes, state.cluster)
        channels: dict[str, int] = {}
        for m in window:
            channels[m.channel] = channels.get(m.channel, 0) + 1
        feelings = [m.sentiment for m in window if m.sentiment is not None]
        trend = Trend(
            trend_id=state.trend.trend_id,
            status=status,
            cluster=state.cluster,
            label=label_of(keywords),
            keywords=keywords,
            volume=volume,
            window_s=self.config.window_s,
            expected=round(expected, 3),
            growth=round(growth, 3),
            channels=[TrendChannel(channel=c, messages=n) for c, n in sorted(channels.items())],
            sentiment_mean=round(sum(feelings) / len(feelings), 4) if feelings else None,
            first_seen=state.first_seen,
            detected_at=state.trend.opened_at,
            updated_at=now,
            examples=[m.interaction_id for m in window[-EXAMPLES:]],
            reason=reason,
        )
        return TrendChange(
            trend,
            state.trend.revision,
            state.trend.alert_id,
            state.trend.opened_at,
            tuple(window[-EXAMPLES:]),
        )
