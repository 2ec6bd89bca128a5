"""The worker's side: load ``CXSTREAM_INTENT_PACK`` once, as a fitted file or a pack to fit.

A fitted JSON loads in milliseconds and must name the model the worker scores with; a pack
YAML (or a bundled pack's name) is fitted at start, which takes seconds and is logged.
:func:`check_intent_pack` runs before the worker starts, so a bad pack is one line on the
command line (``error: CXSTREAM_INTENT_PACK=…: …``), not a traceback in the worker.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from pipeline.scoring.card import load_card
from pipeline.scoring.custom_intents.embedding import scorer_embedder
from pipeline.scoring.custom_intents.fit import fit_pack
from pipeline.scoring.custom_intents.fitted import ModelRef, load_fitted
from pipeline.scoring.custom_intents.pack import PackError, load_pack, resolve_pack_path
from pipeline.scoring.custom_intents.predict import CustomIntents
from pipeline.scoring.scorer import Scorer
from pipeline.settings import SettingProblem, Settings, SettingsError

log = logging.getLogger("cxstream")


def is_fitted_file(path: Path) -> bool:
    """A fitted pack (JSON) rather than a pack to fit (YAML)."""
    return path.suffix.lower() == ".json"


def load_custom_intents(value: Path, scorer: Scorer) -> CustomIntents:
    """The pack ``value`` names, fitted for ``scorer``'s model (fitting a YAML now)."""
    path = resolve_pack_path(value)
    model = ModelRef.of(scorer.card)
    if is_fitted_file(path):
        fitted = load_fitted(path, model)
        log.info("custom intents: %s from %s (%d intents)", fitted.label, path, len(fitted.intents))
        return CustomIntents(fitted)
    started = time.perf_counter()
    pack = load_pack(path)
    fitted = fit_pack(pack, scorer_embedder(scorer), model, source=str(path))
    log.info(
        "custom intents: fitted %s from %s in %.1f s (%d intents, k-fold accuracy %.3f, "
        "out-of-scope thresholds %.3f / %.3f); save the fit with `cxstream intents fit %s`",
        fitted.label,
        path,
        time.perf_counter() - started,
        len(fitted.intents),
        fitted.calibration.heldout_accuracy,
        fitted.confidence_threshold,
        fitted.similarity_threshold,
        path,
    )
    return CustomIntents(fitted)


def check_intent_pack(settings: Settings) -> None:
    """Validate ``CXSTREAM_INTENT_PACK`` without fitting; ``SettingsError`` names the setting."""
    if settings.intent_pack is None:
        return
    try:
        path = resolve_pack_path(settings.intent_pack)
        if is_fitted_file(path):
            model = ModelRef.of(load_card(settings.model_dir)) if settings.scoring_enabled else None
            load_fitted(path, model)
        else:
            load_pack(path)
    except (PackError, ValueError) as exc:
        raise SettingsError(
            [SettingProblem("intent_pack", str(settings.intent_pack), str(exc))]
        ) from exc
