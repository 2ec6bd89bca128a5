"""The history ``cxstream risk fit`` learns from: every record ``cx.enriched`` still holds."""

from __future__ import annotations

from pydantic import ValidationError

from pipeline.contracts.records import Enriched
from pipeline.settings import Settings
from pipeline.streaming.security import client_config
from pipeline.workflow.ledger import read_topic_tail


def read_enriched(settings: Settings, per_partition: int, timeout_s: float) -> list[Enriched]:
    """Up to the last ``per_partition`` records of each ``cx.enriched`` partition (records
    that do not parse are skipped: the topic's own contract is checked where it is written)."""
    values = read_topic_tail(
        client_config(settings), settings.topics.enriched, per_partition, timeout_s
    )
    history: list[Enriched] = []
    for value in values:
        try:
            history.append(Enriched.model_validate_json(value))
        except ValidationError:
            continue
    return history
