"""Interactions → enriched interactions (the scoring agent's pure core)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pipeline.contracts.languages import UNSUPPORTED_LANGUAGE
from pipeline.contracts.records import Enriched, Interaction
from pipeline.scoring.custom_intents.predict import CustomIntents
from pipeline.scoring.reply_templates import TemplateMatcher
from pipeline.scoring.scorer import Scored, Scorer

log = logging.getLogger(__name__)


def enrich(
    interactions: Sequence[Interaction],
    scorer: Scorer,
    *,
    emit_embeddings: bool = False,
    custom_intents: CustomIntents | None = None,
    reply_templates: TemplateMatcher | None = None,
) -> list[Enriched]:
    """Score every interaction with text in one model call; the rest pass through unscored.

    A text whose detected ``language`` the model card does not list (``ModelCard.reads``) is
    not scored (``unscored_reason`` ``unsupported_language``): the model would give it
    confident, wrong scores, and the workflow routes it to a person by language instead.

    With ``custom_intents`` (``CXSTREAM_INTENT_PACK``) each scored text's sentence vector is
    also labelled with the operator's own intents: ``scores.intent.custom``.

    With ``reply_templates`` each scored text gets the approved reply template of its intent
    closest to its sentence vector: ``scores.reply_template`` (``reply_templates.py``).

    A scoring failure (a bug, never bad input) marks the batch unscored with the error, so no
    interaction is ever lost between ``cx.interactions`` and ``cx.enriched``.
    """
    with_text = [
        i for i, ix in enumerate(interactions) if ix.text and scorer.card.reads(ix.language)
    ]
    results = {}
    error: str | None = None
    if with_text:
        try:
            scored = scorer.score(
                [interactions[i].text or "" for i in with_text],
                embeddings=emit_embeddings
                or custom_intents is not None
                or reply_templates is not None,
            )
            if custom_intents is not None:
                vectors = [r.embedding or [] for r in scored]
                for one, custom in zip(scored, custom_intents.classify(vectors), strict=True):
                    if one.scores.intent is not None:
                        one.scores.intent.custom = custom
            if reply_templates is not None:
                _choose_templates(scored, reply_templates)
            results = dict(zip(with_text, scored, strict=True))
        except Exception as exc:  # a model/runtime bug must not lose the events
            log.exception("scoring a batch of %d failed", len(with_text))
            error = f"scoring failed: {type(exc).__name__}: {exc}"[:300]
    out = []
    for i, ix in enumerate(interactions):
        base = ix.model_dump()
        result = results.get(i)
        if result is not None:
            out.append(
                Enriched(
                    **base,
                    scored=True,
                    scores=result.scores,
                    ai=result.ai,
                    embedding=result.embedding if emit_embeddings else None,
                )
            )
        else:
            reason = _unscored_reason(ix, scorer, error)
            out.append(Enriched(**base, scored=False, unscored_reason=reason))
    return out


def _unscored_reason(interaction: Interaction, scorer: Scorer, error: str | None) -> str:
    """Why an interaction left without scores: no text, its language, or the batch's error."""
    if not interaction.text:
        return "no text to score"
    if not scorer.card.reads(interaction.language):
        return UNSUPPORTED_LANGUAGE
    return error or "not scored"


def _choose_templates(scored: Sequence[Scored], matcher: TemplateMatcher) -> None:
    """Set ``scores.reply_template`` on each result; a failure here leaves the scores intact
    (the workflow then suggests by intent alone) rather than unscoring the batch."""
    try:
        intents = [r.scores.intent.label if r.scores.intent else None for r in scored]
        chosen = matcher.choose(intents, [r.embedding for r in scored])
    except Exception:  # a bug in the suggestion must not cost the batch its scores
        log.exception("choosing reply templates for a batch of %d failed", len(scored))
        return
    for one, template in zip(scored, chosen, strict=True):
        one.scores.reply_template = template
