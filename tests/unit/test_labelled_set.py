"""Checks of the project's hand-written labelled evaluation set (``tests/data/cx_labelled.jsonl``).

The set backs the urgency-head evaluation (``urgency_macro_f1``) and the tests that clear-cut
messages score as labelled, so its shape, label vocabulary and balance are guarded here.
See ``tests/data/README.md`` for the rubric and how the set was written.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pipeline.scoring import taxonomy

DATA_PATH = Path(__file__).resolve().parents[1] / "data" / "cx_labelled.jsonl"

FIELDS = ("id", "channel", "text", "urgency", "sentiment", "intent", "clear_cut")
CHANNELS = frozenset({"chat", "email", "voice", "survey", "web"})
URGENCIES = frozenset(taxonomy.URGENCY_LABELS)
SENTIMENTS = frozenset(taxonomy.SENTIMENT_LABELS)
INTENTS = frozenset(taxonomy.INTENT_LABELS)

MIN_LINES = 320
MIN_PER_URGENCY = 60
MIN_PER_SENTIMENT = 60
MIN_PER_INTENT = 12
MIN_PER_CHANNEL = 40
MIN_CLEAR_CUT = 80

ID_RE = re.compile(r"^cx-\d{4}$")
EMAIL_RE = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")


def _load() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    with DATA_PATH.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            assert line.strip(), f"line {lineno} is blank"
            record = json.loads(line)
            assert isinstance(record, dict), f"line {lineno} is not a JSON object"
            records.append(record)
    return records


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return _load()


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def test_file_parses_and_is_large_enough(records: list[dict[str, Any]]) -> None:
    assert len(records) >= MIN_LINES


def test_every_record_has_exactly_the_schema_fields(records: list[dict[str, Any]]) -> None:
    for record in records:
        assert tuple(sorted(record)) == tuple(sorted(FIELDS)), record.get("id")


def test_ids_are_well_formed_and_unique(records: list[dict[str, Any]]) -> None:
    ids = [record["id"] for record in records]
    assert all(isinstance(i, str) and ID_RE.match(i) for i in ids)
    duplicated = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicated, duplicated


def test_every_field_is_in_its_allowed_set(records: list[dict[str, Any]]) -> None:
    for record in records:
        rid = record["id"]
        assert record["channel"] in CHANNELS, rid
        assert record["urgency"] in URGENCIES, rid
        assert record["sentiment"] in SENTIMENTS, rid
        assert record["intent"] in INTENTS, rid
        assert isinstance(record["clear_cut"], bool), rid
        assert isinstance(record["text"], str), rid
        assert record["text"].strip() == record["text"], rid
        assert record["text"], rid


@pytest.mark.parametrize(
    ("field", "allowed", "minimum"),
    [
        ("urgency", URGENCIES, MIN_PER_URGENCY),
        ("sentiment", SENTIMENTS, MIN_PER_SENTIMENT),
        ("intent", INTENTS, MIN_PER_INTENT),
        ("channel", CHANNELS, MIN_PER_CHANNEL),
    ],
)
def test_balance_minima(
    records: list[dict[str, Any]], field: str, allowed: frozenset[str], minimum: int
) -> None:
    counts = Counter(record[field] for record in records)
    short = {label: counts[label] for label in allowed if counts[label] < minimum}
    assert not short, f"{field} labels below {minimum}: {short}"


def test_enough_clear_cut_lines(records: list[dict[str, Any]]) -> None:
    assert sum(record["clear_cut"] for record in records) >= MIN_CLEAR_CUT


def test_clear_cut_lines_cover_every_urgency_and_sentiment(
    records: list[dict[str, Any]],
) -> None:
    clear = [record for record in records if record["clear_cut"]]
    assert {record["urgency"] for record in clear} == URGENCIES
    assert {record["sentiment"] for record in clear} == SENTIMENTS


def test_no_duplicate_texts(records: list[dict[str, Any]]) -> None:
    seen: dict[str, str] = {}
    for record in records:
        key = _normalise(record["text"])
        assert key not in seen, f"{record['id']} duplicates {seen[key]}"
        seen[key] = record["id"]


def test_email_addresses_use_reserved_example_domain(records: list[dict[str, Any]]) -> None:
    for record in records:
        for domain in EMAIL_RE.findall(record["text"]):
            lowered = domain.lower()
            assert lowered == "example.com" or lowered.endswith(".example.com"), record["id"]
