"""Held-out messages to measure a pack on: the source datasets of the bundled packs, or a file.

The bundled packs take their examples from public datasets (``data/intents/make_packs.py``);
their measurement uses rows of the same datasets that are not examples of the pack:

- ``retail``: Bitext customer-support rows whose text is not an example (Bitext has one split);
- ``banking``: the BANKING77 test split;
- ``travel``: the CLINC150 test split for its CLINC intents (``lost_luggage`` counts as
  ``lost_or_damaged_baggage``) and ``data/intents/heldout/travel.yaml`` for the hand-written ones.

Out-of-scope messages for every pack: the CLINC150 ``oos_test`` split (1,000 queries that none
of CLINC150's 150 intents covers). Rows of intents a pack does not have are left out, so a pack
trimmed from a bundled one is measured on its own intents only.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from pipeline.resources import bundled
from pipeline.scoring.custom_intents.pack import IntentPack, PackError

HeldOut = dict[str, list[str]]
"""Intent label → held-out messages."""

CLINC_RENAMED = {"lost_luggage": "lost_or_damaged_baggage"}


def snake(label: str) -> str:
    """A source label as a pack intent name (``Refund_not_showing_up`` → lowercase, no ``?``)."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def _collect(pack: IntentPack, rows: list[tuple[str, str]]) -> HeldOut:
    """Rows of the pack's intents whose text is not one of its examples."""
    known = {intent.name for intent in pack.intents}
    examples = {text.casefold() for intent in pack.intents for text in intent.examples}
    out: HeldOut = {}
    for text, label in rows:
        if label in known and text.strip() and text.strip().casefold() not in examples:
            out.setdefault(label, []).append(text.strip())
    return out


def _retail(pack: IntentPack, data_dir: Path) -> HeldOut:
    path = data_dir / "bitext-customer-support" / "train.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [(r["instruction"], snake(r["intent"])) for r in csv.DictReader(handle)]
    return _collect(pack, rows)


def _banking(pack: IntentPack, data_dir: Path) -> HeldOut:
    path = data_dir / "banking77" / "test.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [(r["text"], snake(r["category"])) for r in csv.DictReader(handle)]
    return _collect(pack, rows)


def _travel(pack: IntentPack, data_dir: Path) -> HeldOut:
    clinc = json.loads((data_dir / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    rows = [(text, CLINC_RENAMED.get(label, label)) for text, label in clinc["test"]]
    own = load_heldout(bundled("intents") / "heldout" / "travel.yaml")
    rows += [(text, label) for label, texts in own.items() for text in texts]
    return _collect(pack, rows)


SOURCES: dict[str, Callable[[IntentPack, Path], HeldOut]] = {
    "retail": _retail,
    "banking": _banking,
    "travel": _travel,
}


def heldout_for(pack: IntentPack, data_dir: Path) -> HeldOut:
    """Held-out messages of a bundled pack (by its ``name``) from ``data_dir``'s datasets."""
    source = SOURCES.get(pack.name)
    if source is None:
        raise LookupError(
            f"no source dataset known for pack {pack.name!r} (bundled: {', '.join(SOURCES)}): "
            "give held-out messages with --heldout FILE"
        )
    try:
        return source(pack, data_dir)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"{exc.filename}: the {pack.name} pack's source dataset is missing "
            "(set CXSTREAM_DATA_DIR or --data-dir)"
        ) from exc


def oos_test(data_dir: Path) -> list[str]:
    """CLINC150's out-of-scope test queries."""
    path = data_dir / "clinc150" / "data_full.json"
    return [text for text, _ in json.loads(path.read_text(encoding="utf-8"))["oos_test"]]


def load_heldout(path: Path) -> HeldOut:
    """Held-out messages from YAML (``label: [texts]``) or CSV (``text,label`` columns)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PackError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if path.suffix == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        if rows and not {"text", "label"} <= set(rows[0]):
            raise PackError(f"{path}: a held-out CSV needs 'text' and 'label' columns")
        out: HeldOut = {}
        for row in rows:
            out.setdefault(row["label"], []).append(row["text"])
        return out
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and all(isinstance(t, str) for t in v) for v in data.values()
    ):
        raise PackError(f"{path}: held-out YAML must map each intent to a list of messages")
    return {str(k): [t for t in v if t.strip()] for k, v in data.items()}
