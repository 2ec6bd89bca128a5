"""Reply templates chosen by intent and sentence similarity (pure: vectors in, a choice out).

Each template of the library (``pipeline/replies``) is embedded once, when the score stage
starts: each of its example customer messages (its text, when it has none), one unit vector
each. A template's similarity to a message is the cosine of the message's vector and the
closest of its vectors. The candidates are the templates that list the message's intent; the
most similar wins (a tie goes to the template written first).

Another intent's template wins only when the message nearly restates one of its examples
(:data:`OVERRIDE_SIMILARITY`) and is clearly closer to it than to any template of its intent
(:data:`OVERRIDE_MARGIN`), or when no template lists the intent. The intent head is right most
of the time and decides which replies are approved, so a merely closer template of another
intent must not take over (cross-intent similarities of 0.5 to 0.65 are common with the bundled
model); but it does misread some messages (it calls "my parcel arrived broken"
``technical_problem``, 0.48, while the message is 0.86 similar to a damaged-parcel example and
0.22 to the technical template), and a near-restatement of an approved example is the stronger
evidence. A message of an intent without templates and close to none gets no suggestion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pipeline.contracts.scores import ReplyTemplateScore
from pipeline.replies.library import ReplyTemplate, ReplyTemplates

OVERRIDE_SIMILARITY = 0.75
OVERRIDE_MARGIN = 0.2
"""A template the message's intent does not list wins only when the message nearly restates
one of its examples (cosine ≥ ``OVERRIDE_SIMILARITY``) and is clearly closer to it (by
``OVERRIDE_MARGIN``) than to every template of its intent — or the intent has none."""

Matrix = np.ndarray[Any, np.dtype[np.float32]]
Embedder = Callable[[Sequence[str]], Any]
"""Texts → an [n, d] matrix of sentence vectors (the scoring model's)."""


def _unit(vectors: Any) -> Matrix:
    matrix = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norm = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norm == 0, 1.0, norm)).astype(np.float32)


class TemplateMatcher:
    """The library's templates with their phrase vectors, ready to choose for a message."""

    def __init__(
        self,
        templates: Sequence[ReplyTemplate],
        vectors: Sequence[Any],
        *,
        override_similarity: float = OVERRIDE_SIMILARITY,
        override_margin: float = OVERRIDE_MARGIN,
    ) -> None:
        """``vectors[i]``: the sentence vectors of ``templates[i]``'s phrases (any scale)."""
        if len(templates) != len(vectors):
            raise ValueError(f"{len(templates)} templates but {len(vectors)} vector sets")
        self.templates = list(templates)
        self.vectors = [_unit(v) for v in vectors]
        self.override_similarity = override_similarity
        self.override_margin = override_margin

    @classmethod
    def embedded(cls, library: ReplyTemplates, embed: Embedder) -> TemplateMatcher:
        """Embed every template's text and examples in one call of ``embed``."""
        phrases = [p for t in library.templates for p in t.phrases]
        matrix = _unit(embed(phrases)) if phrases else np.zeros((0, 0), dtype=np.float32)
        vectors, start = [], 0
        for template in library.templates:
            vectors.append(matrix[start : start + len(template.phrases)])
            start += len(template.phrases)
        return cls(library.templates, vectors)

    @property
    def phrases(self) -> int:
        """How many phrase vectors the matcher holds."""
        return sum(len(v) for v in self.vectors)

    def best(self, intent: str | None, vector: Any) -> ReplyTemplateScore | None:
        """The template to suggest for a message of ``intent`` with sentence ``vector``: the
        closest of the intent's templates, unless another template is an :data:`OVERRIDE`
        (None: no such template, or the message has no vector)."""
        if vector is None or not self.templates:
            return None
        message = _unit(vector)[0]
        if not message.any():
            return None
        similarity = [float((phrases @ message).max()) for phrases in self.vectors]
        own = [
            i for i, t in enumerate(self.templates) if intent is not None and intent in t.intents
        ]
        overall = max(range(len(similarity)), key=lambda i: (similarity[i], -i))
        chosen: int | None = max(own, key=lambda i: (similarity[i], -i)) if own else None
        floor = similarity[chosen] + self.override_margin if chosen is not None else -1.0
        if similarity[overall] >= max(self.override_similarity, floor):
            chosen = overall
        if chosen is None:
            return None
        return ReplyTemplateScore(
            name=self.templates[chosen].name,
            similarity=round(min(1.0, max(-1.0, similarity[chosen])), 4),
            candidates=len(own),
        )

    def choose(
        self, intents: Sequence[str | None], vectors: Sequence[Any | None]
    ) -> list[ReplyTemplateScore | None]:
        """:meth:`best` for each message of a batch."""
        return [self.best(i, v) for i, v in zip(intents, vectors, strict=True)]
