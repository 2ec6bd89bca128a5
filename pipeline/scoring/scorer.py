"""Texts → scores with reasons: one onnxruntime call per length bucket, head+tail windows.

Every score carries its provenance (model name, version, sha256, thresholds, time) and a short
human-readable reason per label, so a person can see which model said what and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.contracts.scores import (
    IntentScore,
    LabelScore,
    Provenance,
    Scores,
    SentimentScore,
    UrgencyScore,
)
from pipeline.scoring.card import ModelCard
from pipeline.scoring.layers import layer_inputs
from pipeline.scoring.onnx_model import OnnxModel
from pipeline.scoring.taxonomy import URGENCY_LABELS

Array = np.ndarray[Any, Any]

URGENCY_WEIGHTS = {"low": 0.0, "normal": 1 / 3, "high": 2 / 3, "critical": 1.0}
URGENCY_ORDER = list(URGENCY_LABELS)
WEAK_URGENCY = "urgency_head"
"""With an urgency layer: the weak-label head's own probabilities. The reported level is the
higher of the layer's most probable level and the head's thresholded level: under-calling
urgency is the costlier mistake in a support queue (docs/architecture.md §13)."""
TOP_EMOTIONS = 3


@dataclass(frozen=True)
class Scored:
    scores: Scores
    ai: Provenance
    embedding: list[float] | None


class Scorer:
    """Scores batches of texts with one model directory."""

    def __init__(self, model_dir: Path, *, threads: int = 0, bucket_size: int = 16) -> None:
        self.model = OnnxModel(model_dir, threads=threads)
        self.card: ModelCard = self.model.card
        self.bucket_size = bucket_size
        self.thresholds: dict[str, Any] = {
            "urgency_levels": self.card.urgency_levels,
            **{
                f"{h.name}_threshold": h.threshold
                for h in self.card.heads
                if h.threshold is not None
            },
        }

    # -- windows and batching ------------------------------------------------------------------
    def _windows(self, ids: list[int]) -> list[list[int]]:
        """One window, or head + tail windows for texts longer than the model's context."""
        limit = self.card.max_length
        if len(ids) <= limit:
            return [ids]
        first, last = ids[0], ids[-1]  # [CLS] … [SEP]
        body = ids[1:-1]
        span = limit - 2
        return [[first, *body[:span], last], [first, *body[-span:], last]]

    def _run(self, windows: list[list[int]]) -> dict[str, np.ndarray[Any, Any]]:
        """Run windows in buckets of similar length (less padding); outputs in input order."""
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        merged: dict[str, list[np.ndarray[Any, Any]]] = {}
        for start in range(0, len(order), self.bucket_size):
            idx = order[start : start + self.bucket_size]
            outputs = self.model.run_ids([windows[i] for i in idx])
            for name, values in outputs.items():
                merged.setdefault(name, []).append(values)
        inverse = np.argsort(np.array(order))
        return {name: np.concatenate(parts)[inverse] for name, parts in merged.items()}

    def pooled(self, texts: Sequence[str]) -> tuple[dict[str, Array], Array]:
        """Raw outputs per text (head and tail windows of long texts averaged) and the number
        of windows each text used."""
        token_ids = self.model.encode(texts)
        windows: list[list[int]] = []
        owner: list[int] = []
        for i, ids in enumerate(token_ids):
            for window in self._windows(ids):
                windows.append(window)
                owner.append(i)
        raw = self._run(windows)
        counts = np.bincount(np.array(owner), minlength=len(texts))
        if len(windows) == len(texts):
            return raw, counts
        owners = np.array(owner)
        pooled = {
            name: np.stack([values[owners == i].mean(axis=0) for i in range(len(texts))])
            for name, values in raw.items()
        }
        return pooled, counts

    def head_probabilities(self, pooled: dict[str, Array]) -> dict[str, Array]:
        """Calibrated probabilities of every head; with an urgency layer, ``urgency`` holds the
        layer's and ``urgency_head`` the weak-label head's own; with a sentiment layer,
        ``sentiment`` holds the layer's. The urgency layer reads the heads' own probabilities
        (what it was fitted on), so it runs before the sentiment layer replaces them."""
        probs = {head.name: head.probabilities(pooled[head.output]) for head in self.card.heads}
        embedding = pooled.get(self.card.embedding_output or "")
        layer = self.card.urgency_layer
        if layer is not None and embedding is not None:
            inputs = layer_inputs(embedding, probs, layer.features)
            probs[WEAK_URGENCY] = probs["urgency"]
            probs["urgency"] = layer.probabilities(inputs)
        sentiment = self.card.sentiment_layer
        if sentiment is not None and embedding is not None and "sentiment" in probs:
            layered = sentiment.probabilities(layer_inputs(embedding, probs, sentiment.features))
            mix = sentiment.head_weight
            probs["sentiment"] = (1 - mix) * layered + mix * probs["sentiment"]
        return probs

    # -- public --------------------------------------------------------------------------------
    def score(self, texts: Sequence[str], *, embeddings: bool = True) -> list[Scored]:
        """Scores for each text (non-empty strings), in order; ``embeddings=False``: no vectors."""
        if not texts:
            return []
        pooled, counts = self.pooled(texts)
        # Whole-batch probabilities, rounded once: the per-text work below is only dict building.
        probs = {
            name: values.round(4).tolist()
            for name, values in self.head_probabilities(pooled).items()
        }
        vectors: list[list[float]] | None = None
        if embeddings and self.card.embedding_output and self.card.embedding_output in pooled:
            vec = np.asarray(pooled[self.card.embedding_output], dtype=np.float64)
            norm = np.linalg.norm(vec, axis=1, keepdims=True)
            vectors = (vec / np.where(norm == 0, 1.0, norm)).round(6).tolist()
        now = datetime.now(UTC)
        return [
            self._one(
                {name: values[i] for name, values in probs.items()},
                None if vectors is None else vectors[i],
                int(counts[i]),
                now,
            )
            for i in range(len(texts))
        ]

    def _one(
        self,
        head_probs: dict[str, list[float]],
        embedding: list[float] | None,
        windows: int,
        now: datetime,
    ) -> Scored:
        card = self.card
        scores = Scores()
        reasons: dict[str, str] = {}
        probs: dict[str, dict[str, float]] = {
            head.name: dict(zip(head.labels, head_probs[head.name], strict=True))
            for head in card.heads
        }
        if WEAK_URGENCY in head_probs:
            urgency_head = card.head("urgency")
            assert urgency_head is not None  # WEAK_URGENCY is only set beside an urgency head
            probs[WEAK_URGENCY] = dict(
                zip(urgency_head.labels, head_probs[WEAK_URGENCY], strict=True)
            )
        if "sentiment" in probs:
            dist = probs["sentiment"]
            label = max(dist, key=dist.__getitem__)
            scores.sentiment = SentimentScore(label=label, probabilities=dist)
        if "emotion" in probs:
            emotion_head = card.head("emotion")
            threshold = 0.5
            if emotion_head is not None and emotion_head.threshold is not None:
                threshold = emotion_head.threshold
            ranked = sorted(probs["emotion"].items(), key=lambda kv: -kv[1])
            on = [kv for kv in ranked if kv[1] >= threshold and kv[0] != "neutral"][:TOP_EMOTIONS]
            scores.emotions = [LabelScore(label=k, probability=v) for k, v in on]
        if "intent" in probs:
            dist = probs["intent"]
            label = max(dist, key=dist.__getitem__)
            detail = None
            if "banking77" in probs:
                fine = probs["banking77"]
                fine_label = max(fine, key=fine.__getitem__)
                detail = LabelScore(label=fine_label, probability=fine[fine_label])
            scores.intent = IntentScore(label=label, confidence=dist[label], detail=detail)
        if "urgency" in probs:
            dist = probs["urgency"]
            value = sum(URGENCY_WEIGHTS.get(k, 0.0) * v for k, v in dist.items())
            value = round(min(1.0, max(0.0, value)), 4)
            level = self._level(value)  # the weak-label head: thresholds on the score
            urgency_parts = None
            if WEAK_URGENCY in probs:  # the higher of the layer's level and the head's
                weak = probs[WEAK_URGENCY]
                head_value = sum(URGENCY_WEIGHTS.get(k, 0.0) * v for k, v in weak.items())
                urgency_parts = (max(dist, key=dist.__getitem__), self._level(head_value))
                level = max(urgency_parts, key=URGENCY_ORDER.index)
            scores.urgency = UrgencyScore(score=value, level=level, probabilities=dist)
        reasons.update(self._reasons(scores, urgency_parts if "urgency" in probs else None))
        ai = Provenance(
            model=card.name,
            version=card.version,
            sha256=card.sha256,
            thresholds=self.thresholds,
            scored_at=now,
            windows=windows,
            reasons=reasons,
        )
        return Scored(scores=scores, ai=ai, embedding=embedding)

    def _level(self, value: float) -> str:
        levels = sorted(self.card.urgency_levels.items(), key=lambda kv: kv[1])
        chosen = levels[0][0] if levels else "normal"
        for name, lowest in levels:
            if value >= lowest:
                chosen = name
        return chosen

    def _reasons(self, s: Scores, urgency_parts: tuple[str, str] | None) -> dict[str, str]:
        """One sentence per label; ``urgency_parts``: the layer's and the weak head's levels."""
        out: dict[str, str] = {}
        emo = (
            ", ".join(f"{e.label} {e.probability:.2f}" for e in s.emotions)
            or "none above threshold"
        )
        if s.sentiment is not None:
            p = s.sentiment.probabilities[s.sentiment.label]
            out["sentiment"] = f"{s.sentiment.label} {p:.2f}; emotions: {emo}"
        if s.intent is not None:
            text = f"{s.intent.label} {s.intent.confidence:.2f}"
            if s.intent.detail is not None:
                text += (
                    f" (closest detail: {s.intent.detail.label} {s.intent.detail.probability:.2f})"
                )
            out["intent"] = text
        if s.urgency is not None:
            lowest = self.card.urgency_levels.get(s.urgency.level, 0.0)
            parts = []
            if s.intent is not None:
                parts.append(f"intent {s.intent.label}")
            if s.emotions:
                parts.append(f"emotion {s.emotions[0].label}")
            if s.sentiment is not None:
                parts.append(f"sentiment {s.sentiment.label}")
            if urgency_parts is not None:
                layer_level, head_level = urgency_parts
                p = s.urgency.probabilities.get(layer_level, 0.0)
                head = (
                    f"urgency {s.urgency.level} (layer {layer_level} p {p:.2f}, weak head "
                    f"{head_level}; score {s.urgency.score:.2f}): "
                )
            else:
                head = f"urgency {s.urgency.score:.2f} ≥ {lowest:.2f} ({s.urgency.level}): "
            out["urgency"] = head + ", ".join(parts)
        return out
