"""People and their identifiers: names, emails, phone numbers, ids, and who uses which channel."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from typing import Any

from pipeline.tools.synthetic.mix import CHANNEL_MIX
from pipeline.tools.synthetic.source import Source
from pipeline.tools.synthetic.weighted import WeightedTable

FIRST_NAMES = (
    "Ana", "James", "Priya", "Mohammed", "Sophie", "Lukas", "Chloé", "José", "Emily", "Oliver",
    "Hannah", "Wei", "Fatima", "Noah", "Zoë", "Jürgen", "Aisha", "Liam", "Mia", "Carlos",
    "Léa", "Tom", "Ingrid", "Kofi", "Sara", "Daniel", "Yuki", "Grace", "Mateo", "Elif",
)  # fmt: skip
LAST_NAMES = (
    "Lopez", "Smith", "Patel", "Khan", "Martin", "Müller", "Dubois", "García", "Johnson",
    "Brown", "Schmidt", "Chen", "Hassan", "Williams", "O'Brien", "Nguyen", "Weber", "Rossi",
    "Mensah", "Fischer", "Kowalski", "Taylor", "Jones", "Fernández", "Becker", "Okafor",
    "Evans", "Moreau", "Silva", "Yilmaz",
)  # fmt: skip
EMAIL_DOMAINS = (
    "example.com",
    "example.org",
    "example.net",
    "mail.example.com",
    "post.example.org",
)
EMAIL_TAGS = ("orders", "shop", "acme", "support", "news")

COUNTRIES = (("US", 45.0), ("GB", 35.0), ("DE", 20.0))
FOREIGN_LANGS = ("es", "fr", "de")
FOREIGN_LANG_SHARE = 0.035

# Fictional numbers: US 555-0100..0199, Ofcom drama ranges, sample German mobile blocks.
US_AREAS = ("415", "212", "312", "617", "206", "305", "512", "303", "646", "202")
GB_RANGES = (
    ("20", "79460"), ("161", "4960"), ("121", "4960"), ("117", "4960"), ("113", "4960"),
    ("114", "4960"), ("118", "4960"), ("131", "4960"), ("141", "4960"), ("191", "4980"),
    ("29", "20180"), ("28", "96496"),
)  # fmt: skip
DE_RANGES = (("151", "1234"), ("152", "1234"), ("170", "1234"))
US_PHONE_FORMATS = ("({a}) {s1}-{s2}", "+1 {a}-{s1}-{s2}", "{a}.{s1}.{s2}", "+1{a}{s1}{s2}",
                    "1-{a}-{s1}-{s2}", "{a}-{s1}-{s2}", "+1 ({a}) {s1}-{s2}")  # fmt: skip
INTL_PHONE_FORMATS = ("+{cc} {a} {s1} {s2}", "+{cc} (0){a} {s1} {s2}", "00{cc} {a} {s1} {s2}",
                      "+{cc}{a}{s1}{s2}", "00{cc}{a}{s1}{s2}", "+{cc}-{a}-{s1}{s2}")  # fmt: skip

_COUNTRIES = WeightedTable(COUNTRIES)


@dataclass(frozen=True)
class Phone:
    """A fictional phone number: country code, area code, subscriber number."""

    cc: str
    area: str
    sub: str

    @property
    def e164(self) -> str:
        """The number in E.164."""
        return f"+{self.cc}{self.area}{self.sub}"

    def display(self, rng: random.Random) -> str:
        """The number in one of several human formats."""
        split = 3 if self.cc == "1" or (self.cc == "44" and len(self.area) == 3) else 4
        parts = {"cc": self.cc, "a": self.area, "s1": self.sub[:split], "s2": self.sub[split:]}
        formats = US_PHONE_FORMATS if self.cc == "1" else INTL_PHONE_FORMATS
        return rng.choice(formats).format(**parts)


@dataclass
class Person:
    """One synthetic customer; ``identified`` once a web ``identify`` event was written."""

    pid: str
    first: str
    last: str
    country: str
    lang: str
    email: str | None
    phone: Phone | None
    customer_id: str | None
    user_id: str | None
    anonymous_ids: tuple[str, ...]
    weight: float
    identified: bool = False

    @property
    def name(self) -> str:
        """First and last name."""
        return f"{self.first} {self.last}"

    def can_use(self, channel: str) -> bool:
        """Whether the person has an identifier that this channel carries."""
        if channel == "web":
            return bool(self.anonymous_ids or self.user_id)
        if channel == "email":
            return self.email is not None
        if channel == "voice":
            return self.phone is not None
        return bool(self.email or self.phone or self.customer_id)

    @property
    def locale(self) -> str:
        """The person's locale (language, then country)."""
        if self.lang != "en":
            return {"es": "es-ES", "fr": "fr-FR", "de": "de-DE"}[self.lang]
        return {"US": "en-US", "GB": "en-GB", "DE": "de-DE"}[self.country]


def new_person(source: Source, index: int) -> Person:
    """The ``index``-th person of a population (the first can use every channel)."""
    rng = source.rng
    full = index == 0  # the first person can use every channel, so none is ever empty
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    country = _COUNTRIES.draw(rng)
    lang = rng.choice(FOREIGN_LANGS) if rng.random() < FOREIGN_LANG_SHARE else "en"
    email = _new_email(source, first, last) if rng.random() < 0.85 or full else None
    phone = _new_phone(source, country) if rng.random() < 0.6 or full else None
    customer_id = source.uid("cus_", 10) if rng.random() < 0.55 else None
    user_id = None
    if rng.random() < 0.5:
        user_id = customer_id if customer_id and rng.random() < 0.6 else source.uid("usr_", 8)
    anon_count = rng.choices((0, 1, 2), weights=(25, 55, 20))[0] or int(full)
    anonymous_ids = tuple(source.uuid() for _ in range(anon_count))
    if not (email or phone or customer_id):
        email = _new_email(source, first, last)
    weight = rng.lognormvariate(0.0, 0.8)
    return Person(
        f"p{index + 1:04d}",
        first,
        last,
        country,
        lang,
        email,
        phone,
        customer_id,
        user_id,
        anonymous_ids,
        weight,
    )


class Audience:
    """Who can write on each channel, drawn by their weight (some people write far more)."""

    def __init__(self, persons: list[Person]) -> None:
        self.eligible: dict[str, tuple[list[Person], list[float]]] = {}
        for channel in CHANNEL_MIX:
            members = [p for p in persons if p.can_use(channel)]
            cum, total = [], 0.0
            for p in members:
                total += p.weight
                cum.append(total)
            self.eligible[channel] = (members, cum)

    def pick(self, rng: random.Random, channel: str) -> Person | None:
        """A person who can use ``channel``, or None when nobody can."""
        members, cum = self.eligible[channel]
        if not members:
            return None
        return rng.choices(members, cum_weights=cum)[0]


def email_display(rng: random.Random, address: str) -> str:
    """The address with varied letter case (``Ana.Lopez@Example.com``)."""
    r = rng.random()
    if r < 0.55:
        return address
    local, domain = address.split("@")
    if r < 0.85:
        local = ".".join(part.capitalize() for part in local.split("."))
        return f"{local}@{domain.capitalize()}"
    if r < 0.95:
        return f"{local}@{domain.upper()}"
    return address.upper()


def customer_object(rng: random.Random, p: Person, prefer_phone: bool = False) -> dict[str, Any]:
    """A chat/survey ``customer`` object with one or two of the person's identifiers."""
    available = [k for k, v in (("id", p.customer_id), ("email", p.email), ("phone", p.phone)) if v]
    keys = {"phone"} if prefer_phone and p.phone else {rng.choice(available)}
    if len(available) > 1 and rng.random() < 0.45:
        keys.add(rng.choice([k for k in available if k not in keys]))
    customer: dict[str, Any] = {}
    if "id" in keys:
        customer["id"] = p.customer_id
    if rng.random() < 0.6:
        customer["name"] = p.name
    if "email" in keys and p.email:
        customer["email"] = email_display(rng, p.email)
    if "phone" in keys and p.phone:
        customer["phone"] = p.phone.display(rng)
    return customer


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return folded.encode("ascii", "ignore").decode().lower().replace("'", "")


def _new_email(source: Source, first: str, last: str) -> str:
    rng = source.rng
    f, lname = _ascii(first), _ascii(last)
    local = rng.choice(
        (
            f"{f}.{lname}",
            f"{f[0]}{lname}",
            f"{f}_{lname}{rng.randint(1, 99)}",
            f"{f}{lname[0]}{rng.randint(70, 99)}",
            f"{lname}.{f}",
        )
    )
    if rng.random() < 0.12:
        local += "+" + rng.choice(EMAIL_TAGS)
    domain = rng.choice(EMAIL_DOMAINS)
    address, extra = f"{local}@{domain}", 1
    while address in source.seen:
        extra += 1
        head, plus, tag = local.partition("+")
        address = f"{head}{extra}{plus}{tag}@{domain}"
    source.claim(address)
    return address


def _new_phone(source: Source, country: str) -> Phone | None:
    rng = source.rng
    for _ in range(30):
        if country == "US":
            phone = Phone("1", rng.choice(US_AREAS), f"5550{rng.randint(100, 199)}")
        elif country == "GB":
            area, head = rng.choice(GB_RANGES)
            phone = Phone("44", area, f"{head}{rng.randint(0, 999):03d}")
        else:
            area, head = rng.choice(DE_RANGES)
            phone = Phone("49", area, f"{head}{rng.randint(0, 9999):04d}")
        if source.claim(phone.e164):
            return phone
    return None
