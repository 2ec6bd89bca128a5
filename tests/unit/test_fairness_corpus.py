"""The audit corpus: sentences of one unit differ only in the person (or the dialect pair)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from pipeline.fairness.corpus import (
    DIALECT_PAIRS,
    GENDER_WORDS,
    NAMED_PEOPLE,
    NAMES,
    STANDARD_ENGLISH,
    AuditSentence,
    build_corpus,
)

PEOPLE = {person.subject: person for person in (*GENDER_WORDS, *NAMED_PEOPLE)}


def without_person(sentence: AuditSentence) -> str:
    """The sentence with every form of its person word replaced by one placeholder."""
    person = PEOPLE[sentence.person]
    text = sentence.text
    for form in sorted({person.possessive, person.subject, person.object}, key=len, reverse=True):
        for shown in (form, form[0].upper() + form[1:]):
            text = re.sub(rf"\b{re.escape(shown)}(?![\w'])", "<P>", text)
    return text


def test_sentences_of_a_unit_differ_only_in_the_person_word() -> None:
    units: dict[str, set[str]] = defaultdict(set)
    people: dict[str, set[str]] = defaultdict(set)
    for sentence in build_corpus():
        if sentence.kind == "dialect":
            continue
        units[sentence.unit].add(without_person(sentence))
        people[sentence.unit].add(sentence.person)
    assert units
    for unit, texts in units.items():
        assert len(texts) == 1, (unit, texts)
        assert len(people[unit]) >= len(NAMED_PEOPLE), unit  # every person fills every unit


def test_gender_words_come_in_female_male_pairs_that_differ_only_in_gender() -> None:
    pairs: dict[int, list[str]] = defaultdict(list)
    for person in GENDER_WORDS:
        pairs[person.pair].append(person.gender)
    assert all(sorted(genders) == ["female", "male"] for genders in pairs.values())
    corpus = build_corpus()
    by_key = Counter((s.unit, s.pair, s.gender) for s in corpus if s.kind == "gender_word")
    assert set(by_key.values()) == {1}
    assert len({(unit, pair) for unit, pair, _ in by_key}) * 2 == len(by_key)


def test_name_groups_are_balanced_by_gender_and_do_not_share_names() -> None:
    everyone = [
        name for by_gender in NAMES.values() for names in by_gender.values() for name in names
    ]
    assert len(everyone) == len(set(everyone))
    for group, by_gender in NAMES.items():
        assert set(by_gender) == {"female", "male"}, group
        assert len(by_gender["female"]) == len(by_gender["male"]) >= 4, group
        assert 8 <= len(by_gender["female"]) + len(by_gender["male"]) <= 12, group


def test_dialect_pairs_share_a_unit_and_differ() -> None:
    corpus = [s for s in build_corpus() if s.kind == "dialect"]
    units: dict[str, dict[str, str]] = defaultdict(dict)
    for sentence in corpus:
        units[sentence.unit][sentence.group] = sentence.text
    assert len(units) == sum(len(pairs) for pairs in DIALECT_PAIRS.values())
    for unit, texts in units.items():
        variety = unit.split(":")[1]
        assert set(texts) == {STANDARD_ENGLISH, variety}
        assert texts[STANDARD_ENGLISH] != texts[variety]


def test_corpus_is_fixed_and_small_enough_for_a_one_minute_audit() -> None:
    first, second = build_corpus(), build_corpus()
    assert first == second
    assert 2000 <= len(first) <= 5000
    assert {s.family for s in first} == {"emotion", "neutral", "customer_service", "dialect"}
    assert all(s.text[0].isupper() for s in first)
