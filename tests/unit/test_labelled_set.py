"""Checks of the project's labelled customer messages (``data/labelled/*.jsonl``).

The set trains the urgency layer (fit split), measures the model (held-out split) and backs the
tests that clear-cut messages score as labelled, so its shape, label vocabulary, balance and
split are guarded here. See ``docs/labelling.md`` for the guide and how the set was written.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from typing import Any

import pytest

from pipeline.scoring import labelled, taxonomy

FIELDS = ("id", "channel", "text", "urgency", "sentiment", "intent", "clear_cut")
INDUSTRIES = frozenset({"retail", "travel", "software", "banking", "telecom", "utilities"})
CHANNELS = frozenset({"chat", "email", "voice", "survey", "web"})
URGENCIES = frozenset(taxonomy.URGENCY_LABELS)
SENTIMENTS = frozenset(taxonomy.SENTIMENT_LABELS)
INTENTS = frozenset(taxonomy.INTENT_LABELS)

MIN_LINES = 1000
MIN_PER_URGENCY = 200
MIN_PER_SENTIMENT = 200
MIN_PER_INTENT = 40
MIN_PER_CHANNEL = 150
MIN_CLEAR_CUT = 250
MIN_PER_INDUSTRY = 100
MIN_HELDOUT = 280

ID_RE = re.compile(r"^cx-\d{4}$")
EMAIL_RE = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")


def _load() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    paths = sorted(labelled.labelled_dir().glob("*.jsonl"))
    assert len(paths) >= 3, paths
    for path in paths:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            assert line.strip(), f"{path.name}:{lineno} is blank"
            record = json.loads(line)
            assert isinstance(record, dict), f"{path.name}:{lineno} is not a JSON object"
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
        fields = set(record) - {"industry"}
        assert tuple(sorted(fields)) == tuple(sorted(FIELDS)), record.get("id")
        assert record.get("industry", "retail") in INDUSTRIES, record["id"]


def test_every_industry_is_covered(records: list[dict[str, Any]]) -> None:
    counts = Counter(record["industry"] for record in records if "industry" in record)
    assert {k: v for k, v in counts.items() if v >= MIN_PER_INDUSTRY}.keys() == INDUSTRIES


def test_the_loader_reads_every_line_and_splits_by_id(records: list[dict[str, Any]]) -> None:
    fit, heldout = labelled.load("fit"), labelled.load("heldout")
    assert len(fit) + len(heldout) == len(records)
    assert not {m.id for m in fit} & {m.id for m in heldout}
    assert len(heldout) >= MIN_HELDOUT
    assert all(labelled.is_heldout(m.id) for m in heldout)
    levels = Counter(m.urgency for m in heldout)
    assert min(levels.values()) >= 50, levels


def test_the_split_rule_is_the_documented_hash() -> None:
    """docs/labelling.md: held out when (first 8 hex digits of sha256(id)) mod 10 < 3; a change
    to the rule would move lines between the splits, so it is pinned here."""
    for message_id in ("cx-0001", "cx-1001", "cx-2360"):
        digest = hashlib.sha256(message_id.encode()).hexdigest()
        assert labelled.is_heldout(message_id) == (int(digest[:8], 16) % 10 < 3)


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
