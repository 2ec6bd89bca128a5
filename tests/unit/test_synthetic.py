"""Tests of the synthetic raw-event generator (``pipeline.tools.synthetic``).

The checks here use a small reference validator written from the raw-event contract, so the
ground truth (``expect``) of every generated record is verified independently of the generator.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
import pytest

from pipeline.tools.synthetic import MALFORMED_REASONS, RawRecord, generate, summarise

NOW = datetime(2025, 2, 3, 12, 0, tzinfo=UTC)
CHANNELS = ("web", "chat", "email", "voice", "survey")
ID_FIELD = {
    "web": "messageId",
    "chat": "message_id",
    "email": "message_id",
    "voice": "call_id",
    "survey": "response_id",
}
TIME_FIELDS = {
    "web": ("timestamp", "sentAt", "receivedAt"),
    "chat": ("sent_at",),
    "email": ("received_at",),
    "voice": ("started_at",),
    "survey": ("submitted_at",),
}
SCORE_RANGE = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
DUPLICATES = ("redelivery", "cross_relay", "near_duplicate")


@pytest.fixture(scope="module")
def records() -> list[RawRecord]:
    return generate(1000, seed=7, now=NOW)


@pytest.fixture(scope="module")
def decoded(records: list[RawRecord]) -> list[dict[str, Any] | None]:
    """The JSON object of every well-formed record (None for dead-letter records)."""
    return [
        None if r.expect.startswith("deadletter:") else json.loads(r.value.decode())
        for r in records
    ]


# --- reference helpers -----------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """A contract timestamp as aware UTC, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def must_time(value: Any) -> datetime:
    when = parse_time(value)
    assert when is not None, value
    return when


def event_time(channel: str, obj: dict[str, Any]) -> Any:
    return next((obj[f] for f in TIME_FIELDS[channel] if f in obj), None)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def has_identity(channel: str, obj: dict[str, Any]) -> bool:
    if channel == "web":
        return bool(obj.get("userId") or obj.get("anonymousId"))
    if channel == "email":
        return bool(obj.get("from"))
    if channel == "voice":
        return bool(obj.get("caller_number") or obj.get("customer_id"))
    customer = obj.get("customer")
    return isinstance(customer, dict) and any(customer.get(k) for k in ("id", "email", "phone"))


def schema_ok(channel: str, obj: dict[str, Any]) -> bool:
    if channel == "web":
        return (
            obj.get("type") in ("page", "track", "identify", "screen")
            and all(isinstance(obj.get(f, {}), dict) for f in ("properties", "traits", "context"))
            and (obj["type"] != "track" or isinstance(obj.get("event"), str))
        )
    if channel == "chat":
        return (
            isinstance(obj.get("text"), str)
            and obj.get("author_role") in ("customer", "agent", "bot")
            and isinstance(obj.get("conversation_id"), str)
            and isinstance(obj.get("customer"), dict)
        )
    if channel == "email":
        fields = ("from", "to", "subject", "text", "html", "in_reply_to", "references")
        return all(isinstance(obj.get(f, ""), str) for f in fields) and (
            "text" in obj or "html" in obj
        )
    if channel == "voice":
        utterances = obj.get("utterances")
        if utterances is None:
            return isinstance(obj.get("transcript"), str)
        return isinstance(utterances, list) and all(
            isinstance(u, dict)
            and u.get("speaker") in ("customer", "agent")
            and isinstance(u.get("text"), str)
            and is_number(u.get("start_s"))
            and is_number(u.get("end_s"))
            for u in utterances
        )
    score: Any = obj.get("score")
    low, high = SCORE_RANGE.get(str(obj.get("kind")), (0, -1))
    return is_number(score) and low <= score <= high and isinstance(obj.get("comment", ""), str)


def problems(record: RawRecord) -> set[str]:
    """Every dead-letter reason code that applies to a raw record (empty: accept it)."""
    try:
        text = record.value.decode("utf-8")
    except UnicodeDecodeError:
        return {"invalid_utf8"}
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return {"invalid_json"}
    if not isinstance(obj, dict):
        return {"not_an_object"}
    channel, found = record.channel, set()
    source_id = obj.get(ID_FIELD[channel])
    if not isinstance(source_id, str) or not source_id:
        found.add("missing_id")
    if not has_identity(channel, obj):
        found.add("missing_identity")
    when = parse_time(event_time(channel, obj))
    if when is None or when > NOW:
        found.add("invalid_timestamp")
    if not schema_ok(channel, obj):
        found.add("schema_violation")
    return found


def source_id(channel: str, obj: dict[str, Any]) -> tuple[str, ...]:
    if channel == "voice":
        return (obj["call_id"], str(obj.get("segment_id")))
    return (obj[ID_FIELD[channel]],)


def norm_text(text: str) -> str:
    return " ".join(text.split()).casefold()


def phone_e164(raw: str) -> str:
    raw = raw.strip()
    number = phonenumbers.parse("+" + raw[2:] if raw.startswith("00") else raw, "US")
    assert phonenumbers.is_valid_number(number), raw
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def email_key(raw: str) -> str:
    match = re.search(r"<([^>]+)>", raw)
    return "email:" + (match.group(1) if match else raw).strip().casefold()


def identifiers(channel: str, obj: dict[str, Any]) -> list[str]:
    """The identity keys a record carries, normalised as the contract says."""
    keys: list[str] = []
    if channel == "web":
        if obj.get("userId"):
            keys.append("cid:" + obj["userId"])
        if obj.get("anonymousId"):
            keys.append("anon:" + obj["anonymousId"])
        traits = obj.get("traits", {})
        if traits.get("email"):
            keys.append(email_key(traits["email"]))
        if traits.get("phone"):
            keys.append("phone:" + phone_e164(traits["phone"]))
    elif channel == "email":
        keys.append(email_key(obj["from"]))
    elif channel == "voice":
        keys.append("phone:" + phone_e164(obj["caller_number"]))
        if obj.get("customer_id"):
            keys.append("cid:" + obj["customer_id"])
    else:
        customer = obj["customer"]
        if customer.get("id"):
            keys.append("cid:" + customer["id"])
        if customer.get("email"):
            keys.append(email_key(customer["email"]))
        if customer.get("phone"):
            keys.append("phone:" + phone_e164(customer["phone"]))
    return keys


# --- size, determinism, mix ------------------------------------------------------------------


def test_same_seed_gives_identical_bytes() -> None:
    assert generate(300, seed=11, now=NOW) == generate(300, seed=11, now=NOW)


@pytest.mark.parametrize("other", [{"seed": 12}, {"now": NOW + timedelta(minutes=1)}])
def test_other_arguments_give_other_output(other: dict[str, Any]) -> None:
    base = generate(300, seed=11, now=NOW)
    changed = generate(300, **{"seed": 11, "now": NOW, **other})
    assert [r.value for r in base] != [r.value for r in changed]


@pytest.mark.parametrize("n", [1, 2, 3, 10, 37, 100, 1000])
def test_exactly_n_records(n: int) -> None:
    out = generate(n, seed=3, now=NOW)
    assert len(out) == n
    assert sum(summarise(out).values()) == n
    assert any(r.expect == "interaction" for r in out)


def test_zero_records() -> None:
    assert generate(0, now=NOW) == []


@pytest.mark.parametrize(
    ("n", "malformed", "expected"),
    [(100, 0, 0), (100, 30, 30), (5, 50, 4), (1, 5, 0), (1000, None, 25), (10000, None, 250)],
)
def test_malformed_count(n: int, malformed: int | None, expected: int) -> None:
    out = generate(n, seed=5, now=NOW, malformed=malformed)
    assert sum(r.expect.startswith("deadletter:") for r in out) == expected


def test_naive_now_is_taken_as_utc() -> None:
    assert generate(50, now=NOW.replace(tzinfo=None)) == generate(50, now=NOW)


def test_default_now_is_the_current_time() -> None:
    before = datetime.now(UTC)
    for r in generate(200, seed=1):
        if r.expect == "interaction":
            obj = json.loads(r.value)
            when = parse_time(event_time(r.channel, obj))
            assert when is not None
            assert before - timedelta(hours=2, minutes=1) <= when <= datetime.now(UTC)


def test_special_cases_present(records: list[RawRecord]) -> None:
    counts = summarise(records)
    assert counts["redelivery"] == 50
    assert counts["cross_relay"] == 20
    assert counts["near_duplicate"] == 30
    malformed = {k: v for k, v in counts.items() if k.startswith("deadletter:")}
    assert sum(malformed.values()) >= 20
    assert set(malformed) == {f"deadletter:{reason}" for reason in MALFORMED_REASONS}


def test_channel_mix() -> None:
    out = generate(5000, seed=9, now=NOW)
    counts = Counter(r.channel for r in out if r.expect == "interaction")
    total = sum(counts.values())
    target = {"web": 30, "chat": 30, "email": 15, "voice": 10, "survey": 15}
    for channel, percent in target.items():
        assert abs(100 * counts[channel] / total - percent) < 4, (channel, counts)


def test_summarise_counts_by_expect(records: list[RawRecord]) -> None:
    assert summarise(records) == dict(Counter(r.expect for r in records))
    assert summarise([]) == {}


# --- ground truth ------------------------------------------------------------------------------


def test_accepted_records_are_valid_json_objects(records: list[RawRecord]) -> None:
    for r in records:
        assert r.channel in CHANNELS
        if not r.expect.startswith("deadletter:"):
            assert problems(r) == set(), (r.expect, r.value)
            assert r.person is not None and re.fullmatch(r"p\d{4}", r.person)
            assert r.key


def test_malformed_records_fail_exactly_as_labelled(records: list[RawRecord]) -> None:
    for r in records:
        if not r.expect.startswith("deadletter:"):
            continue
        reason = r.expect.removeprefix("deadletter:")
        assert problems(r) == {reason}, (r.expect, r.value)
        if reason == "invalid_utf8":
            with pytest.raises(UnicodeDecodeError):
                r.value.decode("utf-8")
        elif reason == "invalid_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(r.value.decode("utf-8"))
        elif reason == "not_an_object":
            assert not isinstance(json.loads(r.value.decode("utf-8")), dict)
        if reason in ("invalid_json", "not_an_object", "missing_identity"):
            assert r.person is None


@pytest.mark.parametrize("reason", ["missing_identity", "missing_id", "schema_violation"])
def test_malformed_channels_spread(reason: str) -> None:
    out = generate(4000, seed=2, now=NOW)
    channels = {r.channel for r in out if r.expect == f"deadletter:{reason}"}
    assert len(channels) >= 2


def test_redeliveries_are_byte_copies_of_earlier_records(records: list[RawRecord]) -> None:
    seen: set[tuple[str, bytes | None, bytes]] = set()
    for r in records:
        if r.expect == "redelivery":
            assert (r.channel, r.key, r.value) in seen
        elif r.expect == "interaction":
            seen.add((r.channel, r.key, r.value))


def test_cross_relays_are_the_same_mail_from_another_gateway(
    records: list[RawRecord], decoded: list[dict[str, Any] | None]
) -> None:
    earlier: dict[str, tuple[RawRecord, dict[str, Any]]] = {}
    for r, obj in zip(records, decoded, strict=True):
        if r.channel != "email" or obj is None:
            continue
        if r.expect == "cross_relay":
            original, first = earlier[obj["message_id"]]
            assert r.value != original.value and r.key == original.key
            assert r.person == original.person
            for field in ("from", "to", "subject", "text", "html", "in_reply_to"):
                assert obj.get(field) == first.get(field)
            assert obj["gateway"] != first.get("gateway")
            delay = must_time(obj["received_at"]) - must_time(first["received_at"])
            assert timedelta(0) < delay <= timedelta(seconds=31)
        elif r.expect == "interaction":
            earlier[obj["message_id"]] = (r, obj)


def test_near_duplicates_are_chat_double_submits(
    records: list[RawRecord], decoded: list[dict[str, Any] | None]
) -> None:
    earlier: list[tuple[RawRecord, dict[str, Any]]] = []
    for r, obj in zip(records, decoded, strict=True):
        if r.channel != "chat" or obj is None:
            continue
        if r.expect == "near_duplicate":
            matches = [
                (o, first)
                for o, first in earlier
                if first["conversation_id"] == obj["conversation_id"]
                and norm_text(first["text"]) == norm_text(obj["text"])
                and first["customer"] == obj["customer"]
                and first["author_role"] == "customer"
                and first["text"].strip()
            ]
            assert matches, obj
            original, first = matches[-1]
            assert r.key == original.key == obj["conversation_id"].encode()
            assert obj["message_id"] != first["message_id"]
            delay = must_time(obj["sent_at"]) - must_time(first["sent_at"])
            assert timedelta(seconds=1) <= delay <= timedelta(seconds=5)
        elif r.expect == "interaction":
            earlier.append((r, obj))


def test_source_ids_are_unique(
    records: list[RawRecord], decoded: list[dict[str, Any] | None]
) -> None:
    ids: Counter[tuple[str, ...]] = Counter()
    call_kinds: dict[str, set[bool]] = defaultdict(set)
    for r, obj in zip(records, decoded, strict=True):
        if r.expect != "interaction" or obj is None:
            continue
        ids[(r.channel, *source_id(r.channel, obj))] += 1
        if r.channel == "voice":
            call_kinds[obj["call_id"]].add("segment_id" in obj)
    assert max(ids.values()) == 1
    assert all(len(kinds) == 1 for kinds in call_kinds.values())
    assert any(True in kinds for kinds in call_kinds.values())


def test_event_times_are_within_two_hours_before_now(
    records: list[RawRecord], decoded: list[dict[str, Any] | None]
) -> None:
    for r, obj in zip(records, decoded, strict=True):
        if obj is None:
            continue
        for field in TIME_FIELDS[r.channel]:
            if field in obj:
                when = parse_time(obj[field])
                assert when is not None
                assert NOW - timedelta(hours=2) <= when <= NOW, (field, obj[field])


def test_duplicates_come_after_their_originals(records: list[RawRecord]) -> None:
    first_seen: dict[bytes | None, int] = {}
    for i, r in enumerate(records):
        if r.expect == "interaction":
            first_seen.setdefault(r.key, i)
        elif r.expect in DUPLICATES:
            assert first_seen.get(r.key, len(records)) < i


# --- population and identity -------------------------------------------------------------------


def test_persons_span_several_channels(records: list[RawRecord]) -> None:
    channels: dict[str, set[str]] = defaultdict(set)
    for r in records:
        if r.person is not None:
            channels[r.person].add(r.channel)
    assert 0.8 * 1000 / 8 <= len(channels) <= 1000 / 8
    assert sum(len(c) >= 2 for c in channels.values()) >= 0.2 * len(channels)


def test_small_population_has_at_least_three_persons() -> None:
    persons = {r.person for r in generate(40, seed=4, now=NOW, malformed=0)}
    assert persons <= {"p0001", "p0002", "p0003", "p0004", "p0005"}
    assert len(persons) >= 2


def test_identifiers_link_persons_without_false_merges(
    records: list[RawRecord], decoded: list[dict[str, Any] | None]
) -> None:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    rows: list[tuple[str, str, str]] = []  # person, channel, one identifier
    for r, obj in zip(records, decoded, strict=True):
        if obj is None or r.person is None:
            continue
        keys = identifiers(r.channel, obj)
        assert keys, obj
        for key in keys[1:]:
            parent[find(key)] = find(keys[0])
        rows.append((r.person, r.channel, keys[0]))

    owners: dict[str, set[str]] = defaultdict(set)
    channels: dict[tuple[str, str], set[str]] = defaultdict(set)
    for person, channel, key in rows:
        owners[find(key)].add(person)
        channels[(person, find(key))].add(channel)
    assert all(len(p) == 1 for p in owners.values()), "two persons share an identity"
    persons = {person for person, _, _ in rows}
    linked = {person for (person, _), chans in channels.items() if len(chans) >= 2}
    assert len(linked) >= 0.2 * len(persons)


def test_phone_and_email_formats_vary(
    records: list[RawRecord], decoded: list[dict[str, Any] | None]
) -> None:
    phones: list[str] = []
    emails: list[str] = []
    for obj in decoded:
        if obj is None:
            continue
        customer = obj.get("customer") or obj.get("traits") or {}
        phones += [v for v in (customer.get("phone"), obj.get("caller_number")) if v]
        emails += [v for v in (customer.get("email"), obj.get("from")) if v]
    for pattern in (r"\+44 \d", r"^\(\d{3}\) 555-01\d\d$", r"^0049\d+$", r"^\+1 \d{3}-555"):
        assert any(re.search(pattern, p) for p in phones), pattern
    assert all(phone_e164(p) for p in phones)
    assert any(re.search(r"[A-Z]", e.split("<")[-1]) for e in emails)
    assert any("+" in e for e in emails)
    assert any("<" in e for e in emails) and any("<" not in e for e in emails)


# --- content realism ---------------------------------------------------------------------------


def test_every_timestamp_form_is_used(
    records: list[RawRecord], decoded: list[dict[str, Any] | None]
) -> None:
    forms: set[str] = set()
    for r, obj in zip(records, decoded, strict=True):
        if obj is None:
            continue
        value = event_time(r.channel, obj)
        if isinstance(value, float):
            forms.add("epoch_float")
        elif isinstance(value, int):
            forms.add("epoch_ms" if value > 1e11 else "epoch_s")
        elif value.endswith("Z"):
            forms.add("iso_z")
        elif re.search(r"[+-]\d\d:\d\d$", value):
            forms.add("iso_offset")
        else:
            forms.add("iso_naive")
    assert forms == {"epoch_float", "epoch_ms", "epoch_s", "iso_z", "iso_offset", "iso_naive"}


def test_channel_contents_are_realistic(
    records: list[RawRecord], decoded: list[dict[str, Any] | None]
) -> None:
    found: Counter[str] = Counter()
    for r, obj in zip(records, decoded, strict=True):
        if obj is None or r.expect != "interaction":
            continue
        blob = json.dumps(obj, ensure_ascii=False)
        if r.channel == "web":
            found[f"web:{obj['type']}"] += 1
            found[f"web:{obj.get('event')}"] += 1
            found["web:extra"] += "integrations" in obj or "x_tenant" in obj
            found["web:context"] += "userAgent" in obj["context"] or "app" in obj["context"]
        elif r.channel == "chat":
            found[f"chat:{obj['author_role']}"] += 1
            found["chat:html"] += "<p>" in obj["text"] or "<br>" in obj["text"]
            found["chat:markdown"] += "**" in obj["text"] or "](" in obj["text"]
        elif r.channel == "email":
            body = obj.get("text", "") + obj.get("html", "")
            found["email:quoted"] += " wrote:" in body or "Original Message" in body
            found["email:signature"] += "Sent from my iPhone" in body or "regards," in body
            found["email:thread"] += "in_reply_to" in obj
            found["email:html"] += "html" in obj
        elif r.channel == "voice":
            found["voice:utterances"] += "utterances" in obj
            found["voice:transcript"] += "transcript" in obj
            found["voice:segment"] += "segment_id" in obj
        else:
            found[f"survey:{obj['kind']}"] += 1
            found["survey:comment"] += "comment" in obj
        found["foreign"] += bool(re.search(r"pedido|commande|Bestellung|Konto|Gracias|Merci", blob))
        found["angry"] += "!!!" in blob or "FURIOUS" in blob or "Unacceptable" in blob
        found["praise"] += "super helpful" in blob or "Great service" in blob
    expected = [
        "web:page", "web:track", "web:identify", "web:screen", "web:Search",
        "web:Checkout Failed", "web:Feedback Submitted", "web:extra", "web:context",
        "chat:customer", "chat:agent", "chat:bot", "chat:html", "chat:markdown",
        "email:quoted", "email:signature", "email:thread", "email:html",
        "voice:utterances", "voice:transcript", "voice:segment",
        "survey:nps", "survey:csat", "survey:ces", "survey:comment",
        "foreign", "angry", "praise",
    ]  # fmt: skip
    missing = [k for k in expected if found[k] == 0]
    assert not missing
    assert found["chat:customer"] > found["chat:agent"] + found["chat:bot"]
