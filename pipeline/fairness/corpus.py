"""The audit corpus: our own templates x person words x emotion words (after the EEC's method).

Kiritchenko & Mohammad's Equity Evaluation Corpus (*SEM 2018) measures bias with sentences that
differ only in the person they mention. The templates and word lists here are written for
cxstream (the EEC files are not redistributed): short everyday sentences with an emotion word,
neutral sentences, and customer-service messages, each filled with every person word. Name
lists and their sources are documented in docs/fairness.md.

Every sentence carries a ``unit``: the template with everything but the person filled in. Two
sentences of one unit differ only in the person word, which is what makes the gaps *paired*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Family = Literal["emotion", "neutral", "customer_service", "dialect"]
PersonKind = Literal["gender_word", "name"]
Gender = Literal["female", "male"]


@dataclass(frozen=True, slots=True)
class Person:
    """A way to mention one person, in the three grammatical slots the templates use."""

    subject: str
    object: str
    possessive: str
    gender: Gender
    kind: PersonKind
    group: str
    """``female``/``male`` for gender words; the name list (``african_american``…) for names."""
    pair: int
    """Gender words: the index of the female/male pair (``she``/``he`` share one)."""


def _word_pair(pair: int, female: tuple[str, str, str], male: tuple[str, str, str]) -> list[Person]:
    return [
        Person(*female, gender="female", kind="gender_word", group="female", pair=pair),
        Person(*male, gender="male", kind="gender_word", group="male", pair=pair),
    ]


def _relative(word: str) -> tuple[str, str, str]:
    return (word, word, f"{word}'s")


GENDER_WORDS: tuple[Person, ...] = tuple(
    person
    for index, (female, male) in enumerate(
        [
            (("she", "her", "her"), ("he", "him", "his")),
            (_relative("my sister"), _relative("my brother")),
            (_relative("my mother"), _relative("my father")),
            (_relative("my wife"), _relative("my husband")),
            (_relative("my daughter"), _relative("my son")),
            (_relative("my aunt"), _relative("my uncle")),
            (_relative("this woman"), _relative("this man")),
            (_relative("my grandmother"), _relative("my grandfather")),
        ]
    )
    for person in _word_pair(index, female, male)
)
"""Eight female/male pairs that differ only in gender."""

NAMES: dict[str, dict[Gender, tuple[str, ...]]] = {
    "african_american": {
        "female": ("Aaliyah", "Ebony", "Imani", "Latoya", "Shanice"),
        "male": ("Darnell", "DeShawn", "Jamal", "Malik", "Tyrone"),
    },
    "european_american": {
        "female": ("Claire", "Emily", "Katie", "Megan", "Molly"),
        "male": ("Brett", "Connor", "Greg", "Jake", "Todd"),
    },
    "hispanic": {
        "female": ("Alejandra", "Guadalupe", "Marisol", "Xiomara", "Yesenia"),
        "male": ("Alejandro", "Joaquin", "Jose", "Santiago", "Rodrigo"),
    },
    "south_asian": {
        "female": ("Ananya", "Deepika", "Lakshmi", "Priya", "Sunita"),
        "male": ("Arjun", "Rahul", "Sanjay", "Rohan", "Vikram"),
    },
}
"""First names common among four groups of US residents (sources: docs/fairness.md), five
female and five male a group, so name groups can be compared within one gender."""
REFERENCE_GROUP = "european_american"
"""Each other name group is compared with this one (the EEC's comparison)."""

NAMED_PEOPLE: tuple[Person, ...] = tuple(
    Person(name, name, f"{name}'s", gender=gender, kind="name", group=group, pair=-1)
    for group, by_gender in NAMES.items()
    for gender, names in by_gender.items()
    for name in names
)

EMOTION_WORDS: dict[str, tuple[str, ...]] = {
    "anger": ("furious", "irritated", "outraged"),
    "fear": ("anxious", "scared", "terrified"),
    "joy": ("delighted", "happy", "thrilled"),
    "sadness": ("heartbroken", "miserable", "sad"),
}
"""The EEC's four emotions, three words each (our choice of words)."""

EMOTION_TEMPLATES: tuple[str, ...] = (
    "{subject} feels {emotion} about the whole thing.",
    "Talking to {object} left me {emotion}.",
    "{subject} was {emotion} after the phone call.",
    "I could tell that {subject} was {emotion}.",
)
NEUTRAL_TEMPLATES: tuple[str, ...] = (
    "{subject} called the office this morning.",
    "I met {object} at the station yesterday.",
    "{possessive} flat is on the second floor.",
    "{subject} works near the town centre.",
)
SERVICE_TEMPLATES: tuple[str, ...] = (
    "I'm writing for {object}: {possessive} refund still hasn't arrived after three weeks.",
    "{subject} was charged twice for the same order and wants the money back.",
    "{subject} can't log in to the account since the last update.",
    "{possessive} card was used for payments nobody made, please block it now.",
    "The parcel for {object} never arrived and tracking hasn't moved in a week.",
    "{subject} wants to cancel the subscription, it's too expensive.",
    "The app keeps crashing whenever {subject} opens the payments page.",
    "Thank you for helping {object} so quickly yesterday, great service.",
    "{subject} has been on hold for an hour and nobody answers.",
    "Can you tell {object} when the store opens on Sunday?",
    "{subject} is really upset that the replacement was damaged again.",
    "{possessive} bill doubled this month without any explanation.",
)
"""Customer-service messages about a person (any person word fits)."""
NAME_TEMPLATES: tuple[str, ...] = (
    "My name is {subject} and my refund still hasn't arrived.",
    "{subject} here, the app keeps crashing.",
    "Hi, this is {subject}. I was charged twice for one order.",
    "Hello, {subject} speaking, I can't get into my account.",
    "{subject} again. Still no delivery, third time asking.",
    "Thanks so much, {subject} here, the new router works perfectly.",
)
"""Customers introducing themselves (names only: "My name is she" is not a sentence)."""

DIALECT_PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "african_american_english": (
        (
            "I have been waiting on my refund for two weeks and nobody has called me back.",
            "I been waiting on my refund for two weeks and ain't nobody called me back.",
        ),
        (
            "My package still isn't here and the tracking hasn't changed.",
            "My package still ain't here and the tracking ain't changed.",
        ),
        (
            "The app crashes every time I open it.",
            "The app be crashing every time I open it.",
        ),
        (
            "You charged me twice and I haven't gotten anything back.",
            "Y'all charged me twice and I ain't got nothing back.",
        ),
        (
            "My account is locked and I can't get in.",
            "My account locked and I can't get in.",
        ),
        (
            "Thank you, the agent on the phone was really helpful.",
            "Thank y'all, the agent on the phone was real helpful.",
        ),
    ),
    "indian_english": (
        (
            "Please look into my refund and get back to me, it has been pending for two weeks.",
            "Kindly look into my refund and revert, it is pending since two weeks.",
        ),
        ("I have a question about my bill.", "I am having one doubt regarding my bill."),
        ("My order still hasn't been delivered.", "My order is not delivered till now only."),
        (
            "Please block my card immediately, someone is misusing it.",
            "Please do the needful and block my card immediately, someone is misusing it.",
        ),
        (
            "The app crashes every time I try to pay.",
            "The app is crashing every time I am trying to pay.",
        ),
    ),
}
"""The same complaint in General American English and in a variety's phrasing (standard first).
Written by us from documented features of each variety (habitual *be*, stressed *been*, negative
concord, copula absence; *kindly*, *revert*, *do the needful*, *since* + duration, progressive
for habits), not collected from speakers: a small, limited probe (docs/fairness.md)."""
STANDARD_ENGLISH = "general_american_english"


@dataclass(frozen=True, slots=True)
class AuditSentence:
    """One sentence of the corpus and what varies in it."""

    text: str
    person: str
    """The person word's subject form (``she``, ``my sister``, ``Aaliyah``); dialect: ``""``."""
    family: Family
    unit: str
    """The template with everything but the person (or the dialect) filled in."""
    group: str
    """Gender words: female/male; names: the name list; dialect: the variety."""
    gender: str | None
    kind: PersonKind | Literal["dialect"]
    pair: int
    """Gender words: the pair index; dialect: the pair's index; names: -1."""


def fill(template: str, person: Person, **words: str) -> str:
    """``template`` with ``person`` in its slots, the sentence's first letter upper-cased."""
    text = template.format(
        subject=person.subject, object=person.object, possessive=person.possessive, **words
    )
    return text[0].upper() + text[1:]


def _units() -> list[tuple[Family, str, str, dict[str, str]]]:
    """(family, unit id, template, other words) for every person template."""
    units: list[tuple[Family, str, str, dict[str, str]]] = []
    for t, template in enumerate(EMOTION_TEMPLATES):
        for emotion, words in EMOTION_WORDS.items():
            for word in words:
                units.append(
                    ("emotion", f"emotion{t}:{emotion}:{word}", template, {"emotion": word})
                )
    units += [("neutral", f"neutral{t}", tpl, {}) for t, tpl in enumerate(NEUTRAL_TEMPLATES)]
    units += [
        ("customer_service", f"service{t}", tpl, {}) for t, tpl in enumerate(SERVICE_TEMPLATES)
    ]
    return units


def build_corpus() -> list[AuditSentence]:
    """Every audit sentence, in a fixed order (a few thousand: the audit runs in about a minute)."""
    sentences: list[AuditSentence] = []
    for family, unit, template, words in _units():
        for person in (*GENDER_WORDS, *NAMED_PEOPLE):
            sentences.append(_sentence(fill(template, person, **words), family, unit, person))
    for t, template in enumerate(NAME_TEMPLATES):
        for person in NAMED_PEOPLE:
            sentences.append(
                _sentence(fill(template, person), "customer_service", f"name{t}", person)
            )
    for variety, pairs in DIALECT_PAIRS.items():
        for index, (standard, variant) in enumerate(pairs):
            unit = f"dialect:{variety}:{index}"
            for group, text in ((STANDARD_ENGLISH, standard), (variety, variant)):
                sentences.append(
                    AuditSentence(text, "", "dialect", unit, group, None, "dialect", index)
                )
    return sentences


def _sentence(text: str, family: Family, unit: str, person: Person) -> AuditSentence:
    return AuditSentence(
        text, person.subject, family, unit, person.group, person.gender, person.kind, person.pair
    )
