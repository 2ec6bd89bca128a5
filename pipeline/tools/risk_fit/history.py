"""The history ``cxstream risk fit`` learns from: every record ``cx.enriched`` still holds,
or the lake's ``enriched`` table (everything ``cxstream sink`` kept, however old)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from pipeline.contracts.records import Enriched
from pipeline.lake.read import read_records
from pipeline.lake.store import LakeStore
from pipeline.lake.tables import table_named
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


@dataclass(frozen=True)
class LakeHistory:
    """The lake's ``enriched`` records in event-time order, and what was left out."""

    records: list[Enriched]
    root: str
    files: int
    repeated: int
    invalid: int
    first_error: str | None

    @property
    def source(self) -> str:
        """Where the history came from, in words (for the card)."""
        words = f"{len(self.records)} enriched records of the lake {self.root} ({self.files} files"
        if self.repeated:
            words += f"; {self.repeated} repeated rows counted once"
        if self.invalid:
            words += f"; {self.invalid} rows that do not validate left out"
        return words + ")"


def read_enriched_lake(location: str | Path) -> LakeHistory:
    """Every ``Enriched`` record of the lake at ``location`` (a directory or pyarrow URI),
    sorted by event time as the replay folds them.

    Raises:
        pipeline.lake.read.NoLakeTable: the lake has no ``enriched`` file.
    """
    store = LakeStore.open(location, create=False)
    found = read_records(store, table_named("enriched"))
    records = [r for r in found.records if isinstance(r, Enriched)]
    records.sort(key=lambda e: (e.occurred_at, e.interaction_id))
    return LakeHistory(
        records, store.root, found.files, found.repeated, found.invalid, found.first_error
    )
