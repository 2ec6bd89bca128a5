"""Sentence vectors for intent packs: the scoring model's own embedding output, L2-normalised.

The classifier of a pack lives on top of one model's embedding space, so a fitted pack is
model-specific (its file records the model's sha256). Vectors come through
:meth:`Scorer.score`, the path the worker uses, so a pack is fitted on the very vectors it
will see in the stream (long texts: the mean of the head and tail windows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pipeline.scoring.custom_intents.pack import PackError
from pipeline.scoring.scorer import Scorer

Matrix = np.ndarray[Any, np.dtype[np.float32]]
Embedder = Callable[[Sequence[str]], Matrix]
"""Texts → an [n, d] float32 matrix of unit-length rows."""

BATCH = 64


def unit_rows(vectors: Any) -> Matrix:
    """Each row scaled to length 1 (a zero row stays zero)."""
    matrix = np.asarray(vectors, dtype=np.float32)
    norm = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norm == 0, 1.0, norm)).astype(np.float32)


def scorer_embedder(
    scorer: Scorer, *, progress: Callable[[int, int], None] | None = None
) -> Embedder:
    """An :data:`Embedder` over ``scorer``'s model; ``progress(done, total)`` after each batch."""
    card = scorer.card
    if not card.embedding_output:
        raise PackError(
            f"model {card.name} {card.version} has no embedding output: intent packs need one"
        )

    def embed(texts: Sequence[str]) -> Matrix:
        rows: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            for scored in scorer.score(list(texts[start : start + BATCH]), embeddings=True):
                if scored.embedding is None:
                    raise PackError(f"model {card.name} returned no embedding")
                rows.append(scored.embedding)
            if progress is not None:
                progress(len(rows), len(texts))
        return unit_rows(np.array(rows, dtype=np.float32).reshape(len(rows), -1))

    return embed
