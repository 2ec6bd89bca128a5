"""Deterministic, realistic synthetic raw events for the five input channels.

``generate(n, seed)`` returns exactly ``n`` raw Kafka messages (web, chat, email, voice, survey)
as described in ``docs/contract.md``, each with its ground truth: whether the
pipeline should accept it as an interaction, drop it as a duplicate (``redelivery``,
``cross_relay``, ``near_duplicate``) or dead-letter it (``deadletter:<reason_code>``), and the
person it belongs to. Only ``random.Random(seed)`` is used, so equal arguments give equal bytes.

All identifiers are fictional: ``example.*`` / ``*.example`` domains, US 555-01xx numbers,
Ofcom drama-range UK numbers and sample German mobile numbers.
"""

from __future__ import annotations

import html
import json
import math
import random
import re
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Generic, TypeVar

__all__ = ["MALFORMED_REASONS", "RawRecord", "generate", "generate_from_population", "summarise"]

T = TypeVar("T")

# --------------------------------------------------------------------------------------------
# Data tables
# --------------------------------------------------------------------------------------------

#: Target share of records per channel (percent).
CHANNEL_MIX: dict[str, int] = {"web": 30, "chat": 30, "email": 15, "voice": 10, "survey": 15}
#: Mean number of records one "group" of each channel produces (a chat conversation has several
#: messages, a call may be split into segments); used to turn the record mix into group odds.
_GROUP_SIZE: dict[str, float] = {
    "web": 1.0,
    "chat": 1.9,
    "email": 1.15,
    "voice": 1.5,
    "survey": 1.0,
}

REDELIVERY_SHARE = 0.05
CROSS_RELAY_SHARE = 0.02
NEAR_DUPLICATE_SHARE = 0.03

MALFORMED_REASONS: tuple[str, ...] = (
    "invalid_json",
    "invalid_utf8",
    "not_an_object",
    "schema_violation",
    "missing_id",
    "missing_identity",
    "invalid_timestamp",
)
_REASON_CHANNELS: dict[str, tuple[str, ...]] = {
    "missing_identity": ("web", "email"),
}
_TIME_FIELD = {
    "web": "timestamp",
    "chat": "sent_at",
    "email": "received_at",
    "voice": "started_at",
    "survey": "submitted_at",
}
_ID_FIELD = {
    "web": "messageId",
    "chat": "message_id",
    "email": "message_id",
    "voice": "call_id",
    "survey": "response_id",
}

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
MAIL_HOSTS = ("mail.example.com", "mx.example.org", "outlook.example.net", "smtp.example.com")
SUPPORT_ADDRESSES = ("support@acme.example", "Acme Support <support@acme.example>",
                     "help@shop.example.com")  # fmt: skip

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

#: Timestamp forms of the contract and their odds.
TS_FORMS = (("iso_z", 35.0), ("iso_offset", 15.0), ("iso_naive", 10.0), ("epoch_s", 15.0),
            ("epoch_float", 10.0), ("epoch_ms", 15.0))  # fmt: skip
TS_OFFSETS_MIN = (120, -300, 60, 330, -480, 0)

INTENTS = (("billing", 12.0), ("refund", 11.0), ("delivery", 15.0), ("login", 10.0),
           ("fraud", 6.0), ("cancel", 8.0), ("bug", 9.0), ("complaint", 9.0), ("praise", 9.0),
           ("question", 11.0))  # fmt: skip
NEGATIVE_INTENTS = ("billing", "refund", "delivery", "login", "fraud", "cancel", "bug")

TEMPLATES: dict[str, tuple[str, ...]] = {
    "billing": (
        "I was charged twice for order {order}. I can see two payments of {amount} on my "
        "statement.",
        "Why did you charge me {amount} twice this month? I only have one subscription.",
        "There's a double charge on my card ending {last4} from {date}. Please fix this.",
        "My invoice for {month} shows {amount} but my {plan} plan is only {amount2}.",
        "I've been billed for the {plan} plan but I downgraded {date}.",
    ),
    "refund": (
        "I'd like a refund for order {order}, the {product} arrived damaged.",
        "I returned the {product} {days} days ago and still haven't received my refund of "
        "{amount}.",
        "Can you please refund {amount}? I cancelled before the renewal date.",
        "When will my refund be processed? Order {order}.",
    ),
    "delivery": (
        "My order {order} was supposed to arrive {date} and it's still not here.",
        "Tracking says delivered but I never received the package. Order {order}.",
        "Where is my order? It has been {days} days.",
        "The courier left my parcel at the wrong address in {city}.",
        "Order {order} is late again. I needed the {product} by {date}.",
    ),
    "login": (
        "I can't log in to my account, it says my password is incorrect.",
        "The password reset email never arrives. I tried {n} times.",
        "I'm locked out of my account after the last app update ({app_version}).",
        "The two-factor code is not arriving on my phone, I can't sign in.",
    ),
    "fraud": (
        "There is a transaction of {amount} on my card ending {last4} that I don't recognise.",
        "My card was stolen {date}, please block it immediately.",
        "Someone changed the email on my account and placed an order I didn't make ({order}).",
        "I got a suspicious text asking for my password, is this really from you?",
    ),
    "cancel": (
        "I want to close my account.",
        "Please cancel my {plan} subscription effective immediately.",
        "How do I cancel? I don't want to be charged again {date}.",
        "I'd like to cancel order {order} before it ships.",
    ),
    "bug": (
        "The app crashes every time I open the order history on my {device}.",
        "Checkout fails with error {error} when I try to pay.",
        "The search page is blank since version {app_version}.",
        "I can't upload my documents, the button does nothing in {browser}.",
        "The Help & Support page shows an error when I open it.",
    ),
    "complaint": (
        "This is the third time I'm writing!!! Nobody has answered about order {order}.",
        "Your customer service is a joke. I've been waiting {days} days for a reply.",
        "Absolutely unacceptable. The {product} broke after two days and nobody helps me.",
        "I am extremely disappointed. I was promised a call back {date} and nothing happened.",
    ),
    "praise": (
        "Thanks, you were super helpful!",
        "Great service, my issue with order {order} was solved in minutes.",
        "Just wanted to say {agent} was fantastic on the phone today.",
        "Love the new app update, checkout is much faster now.",
        "Delivery was quick and the {product} is perfect. Thank you!",
    ),
    "question": (
        "Do you ship to {city}?",
        "What are your opening hours on weekends?",
        "Can I change the delivery address for order {order}?",
        "Is the {product} available in another colour?",
        "How do I update my payment method?",
        "Where can I find your Terms & Conditions?",
    ),
}
FOREIGN_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "es": {
        "billing": (
            "Me han cobrado dos veces el pedido {order}. Por favor, devuélvanme {amount}.",
        ),
        "delivery": ("Mi pedido {order} todavía no ha llegado y ya pasaron {days} días.",),
        "login": ("No puedo iniciar sesión, el correo para restablecer la contraseña no llega.",),
        "cancel": ("Quiero cerrar mi cuenta, por favor.",),
        "praise": ("¡Muchas gracias, me ayudaron muchísimo!",),
    },
    "fr": {
        "billing": ("On m'a débité deux fois pour la commande {order}, merci de me rembourser.",),
        "delivery": ("Ma commande {order} n'est toujours pas arrivée après {days} jours.",),
        "login": ("Je n'arrive pas à me connecter à mon compte depuis hier.",),
        "cancel": ("Je souhaite résilier mon abonnement {plan}.",),
        "praise": ("Merci beaucoup, vous avez été très efficaces !",),
    },
    "de": {
        "billing": ("Mir wurde die Bestellung {order} zweimal berechnet, bitte erstatten.",),
        "delivery": ("Meine Bestellung {order} ist nach {days} Tagen immer noch nicht da.",),
        "login": ("Ich kann mich nicht mehr in mein Konto einloggen.",),
        "cancel": ("Ich möchte mein Konto kündigen.",),
        "praise": ("Vielen Dank, Sie waren sehr hilfsbereit!",),
    },
}
GREETINGS = ("", "", "Hi, ", "Hello, ", "Hey, ", "Good morning, ")
CLOSINGS = ("", "", " Thanks.", " Thank you!", " Please help.", " Regards.")
ANGER_PREFIXES = ("This is the third time I'm writing!!! ", "I am FURIOUS. ", "Seriously?! ",
                  "Unbelievable. ")  # fmt: skip
ANGER_SUFFIXES = (" Unacceptable!!", " I want to speak to a manager.", " Fix this NOW.",
                  " Worst service ever.")  # fmt: skip
DETAILS = ("My order number is {order}.", "I'm using the app on my {device}.",
           "I already tried restarting the app.",
           "I've been a customer for {years} years.")  # fmt: skip

AGENT_REPLIES: dict[str, tuple[str, ...]] = {
    "billing": ("Hi {first}, I'm sorry about the double charge. I've raised a refund of {amount}; "
                "it can take 3-5 business days.",
                "Thanks {first}, I can see the duplicate payment and I've reversed it."),
    "refund": ("Hi {first}, your refund for order {order} has been approved.",
               "I've escalated your refund to our payments team, {first}."),
    "delivery": ("Sorry for the delay, {first}. Order {order} is with the courier and should "
                 "arrive within 2 days.",
                 "I've opened an investigation with the carrier for order {order}."),
    "login": ("I've sent a new password reset link to your email, {first}.",
              "Your account is unlocked now, please try signing in again."),
    "fraud": ("I've blocked the card and flagged the transaction, {first}. Our fraud team will "
              "contact you.",
              "For your security I've frozen the account while we investigate."),
    "cancel": ("I'm sorry to see you go, {first}. Your subscription has been cancelled.",
               "I can help with that. Can you confirm the email on the account?"),
    "bug": ("Thanks for reporting this, {first}. Our engineers are looking into it.",
            "Could you update to the latest version and tell me if it still happens?"),
    "complaint": ("I'm really sorry, {first}. I've escalated this to a supervisor.",
                  "I understand your frustration and I apologise for the wait."),
    "praise": ("Thank you so much, {first}! I'll pass that on to the team.",
               "Glad I could help! Have a great day."),
    "question": ("Good question, {first}! Yes, we do.",
                 "You can change that under Account > Settings."),
}  # fmt: skip
BOT_REPLIES = (
    "Hi! I'm the Acme virtual assistant 🤖 How can I help you today?",
    "I can help with orders, billing and account questions. Please choose: Orders / Billing / "
    "Account",
    "Thanks! Connecting you to a human agent, the average wait is 3 minutes.",
)
CUSTOMER_FOLLOWUPS = ("Any update on this?", "My order number is {order}.",
                      "Hello?? Is anyone there?", "ok thanks", "That worked, thank you!",
                      "It still doesn't work.", "Can I get a call back instead?")  # fmt: skip
CHAT_PLATFORMS = (("web-widget", 50.0), ("whatsapp", 20.0), ("messenger", 10.0),
                  ("ios-app", 10.0), ("android-app", 10.0))  # fmt: skip

EMAIL_SUBJECTS: dict[str, tuple[str, ...]] = {
    "billing": ("Double charge on my card", "Charged twice for order {order}",
                "Wrong amount on my invoice"),
    "refund": ("Refund request - order {order}", "Where is my refund?", "Refund"),
    "delivery": ("Order {order} not delivered", "Late delivery", "Where is my parcel?"),
    "login": ("Can't log in", "Password reset not working", "Account locked"),
    "fraud": ("URGENT: transaction I don't recognise", "Card stolen - please block",
              "Suspicious activity on my account"),
    "cancel": ("Cancel my subscription", "Close my account", "Cancellation request"),
    "bug": ("App keeps crashing", "Checkout error {error}", "Bug report"),
    "complaint": ("Complaint", "Still no answer!!!", "Formal complaint about your service"),
    "praise": ("Thank you!", "Great service", "Compliments to your team"),
    "question": ("Quick question", "Question about my order", "Shipping question"),
}  # fmt: skip
FOREIGN_SUBJECTS = {"es": ("Problema con mi pedido", "Consulta"),
                    "fr": ("Problème avec ma commande", "Question"),
                    "de": ("Problem mit meiner Bestellung", "Frage")}  # fmt: skip
EMAIL_GREETINGS = ("Hi,", "Hello,", "Hello support team,", "Dear Sir or Madam,", "Hi there,", "")
FOREIGN_GREETINGS = {"es": "Hola,", "fr": "Bonjour,", "de": "Hallo,"}
EMAIL_SIGNOFFS = ("Best regards,\n{first}", "Thanks,\n{first}",
                  "-- \n{first} {last}\nSent from my iPhone", "Kind regards,\n{first} {last}",
                  "Cheers,\n{first}\n\nSent from Mail for Windows", "{first}")  # fmt: skip
FOREIGN_SIGNOFFS = {"es": "Saludos,\n{first}", "fr": "Cordialement,\n{first}",
                    "de": "Viele Grüße\n{first}"}  # fmt: skip
SUPPORT_NOTES = (
    "Hi {first},\nthanks for contacting Acme Support. Your ticket number is {ticket}.\n"
    "We will get back to you within 24 hours.\nAcme Support",
    "Hello {first},\nyour order {order} has been dispatched and will arrive in 2-3 business "
    "days.\nThe Acme Team",
    "Hi {first},\ncould you please send us a photo of the damaged item?\nKind regards,\n"
    "Acme Support",
)
EMAIL_FOLLOWUPS = ("Any update on this? I still haven't heard back.",
                   "I'm writing again because nobody has replied.",
                   "Sorry, I forgot to mention my order number is {order}.")  # fmt: skip

VOICE_GREETINGS = ("Thank you for calling Acme, my name is {agent}, how can I help you today?",
                   "Acme customer service, this is {agent} speaking.")  # fmt: skip
VOICE_CLOSINGS = {
    "positive": ("Okay great, thank you.", "Perfect, thanks for your help."),
    "negative": ("This is ridiculous, I've called three times already.", "Fine. Whatever."),
    "neutral": ("Okay.", "Alright, thanks."),
}
VOICE_FILLERS = ("um", "uh", "so", "yeah")

SURVEY_KINDS = (("nps", 50.0), ("csat", 30.0), ("ces", 20.0))
SURVEY_SCORES = {  # kind -> sentiment -> inclusive score range
    "nps": {"positive": (9, 10), "neutral": (7, 8), "negative": (0, 6)},
    "csat": {"positive": (4, 5), "neutral": (3, 3), "negative": (1, 2)},
    "ces": {"positive": (6, 7), "neutral": (4, 5), "negative": (1, 3)},
}
NEUTRAL_COMMENTS = ("It was ok.", "Average experience, nothing special.",
                    "Delivery took a bit long but fine.",
                    "The agent was polite but I had to explain twice.")  # fmt: skip

WEB_KINDS = (("page", 45.0), ("track", 35.0), ("screen", 12.0), ("identify", 8.0))
WEB_PAGES = (("Home", "/"), ("Order Status", "/orders/{oid}"), ("Help Center", "/help"),
             ("Billing", "/account/billing"), ("Cancel Subscription", "/account/cancel"),
             ("Login", "/login"), ("Reset Password", "/login/reset"), ("Checkout", "/checkout"),
             ("Contact", "/contact"))  # fmt: skip
WEB_TRACKS = (("Search", 30.0), ("Checkout Failed", 20.0), ("Feedback Submitted", 25.0),
              ("Product Viewed", 15.0), ("Order Completed", 10.0))  # fmt: skip
WEB_SCREENS = ("Order Details", "Home", "Settings", "Help", "Payment Methods", "Chat Support")
SEARCH_QUERIES = ("refund status", "cancel subscription", "where is my order {order}",
                  "reset password", "charged twice", "contact support phone number",
                  "change delivery address", "{product}", "{product} size guide",
                  "delete account", "promo code not working")  # fmt: skip
CHECKOUT_ERRORS = ("card_declined", "3ds_timeout", "address_invalid", "payment_gateway_error")
REFERRERS = ("", "https://www.example.org/", "https://search.example.net/?q=acme",
             "https://shop.example.com/")  # fmt: skip
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/121.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7; rv:122.0) Gecko/20100101 Firefox/122.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/121.0.0.0 Mobile Safari/537.36",
)

BAD_TIMESTAMPS = ("yesterday-ish", "2999-01-01T00:00:00Z", "2999-12-31 23:59:59", "soon",
                  "31/02/2025 10:00", "0000-00-00T00:00:00")  # fmt: skip
BAD_SCORES = ("ten", "five", "N/A", "very good")

_SLOT_VALUES: dict[str, tuple[str, ...]] = {
    "date": ("yesterday", "last Tuesday", "on Monday", "3 days ago", "last week",
             "this morning", "on the 3rd"),
    "product": ("wireless headphones", "running shoes", "coffee machine", "phone case",
                "winter jacket", "smart watch", "desk lamp", "yoga mat", "backpack", "blender"),
    "device": ("iPhone 13", "Pixel 7", "Samsung Galaxy S22", "iPad", "MacBook",
               "Windows laptop"),
    "browser": ("Chrome", "Firefox", "Safari", "Edge"),
    "error": ("PAY-402", "ERR_3DS_TIMEOUT", "500 Internal Server Error", "card_declined"),
    "plan": ("Premium", "Family", "Basic", "Pro"),
    "city": ("Manchester", "Austin", "Berlin", "Leeds", "Boston", "Munich", "Cardiff",
             "Seattle"),
    "agent": ("Maria", "Tom", "Priya", "Jonas", "Sam"),
    "month": ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"),
}  # fmt: skip
_CURRENCY = {"US": ("USD", "${v}"), "GB": ("GBP", "£{v}"), "DE": ("EUR", "{v} €")}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ORDER_RE = re.compile(r"#?A\d{5}\b|ORD-\d{6}")
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")

# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawRecord:
    """One raw Kafka message for topic ``cx.raw.<channel>`` plus its ground truth."""

    channel: str
    key: bytes | None
    value: bytes
    expect: str
    person: str | None


def generate(
    n: int, seed: int = 7, *, now: datetime | None = None, malformed: int | None = None
) -> list[RawRecord]:
    """Exactly n records, deterministic for (n, seed, now).

    Event times lie within the two hours before ``now`` (default: the current UTC time; a naive
    ``now`` is taken as UTC). ``malformed`` dead-letter records are mixed in (default
    ``max(20, n // 40)``, but at most ``n // 4`` for small ``n``; always fewer than ``n``).
    Records are ordered by arrival time and every duplicate comes after its original.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if n == 0:
        return []
    gen = _Generator(random.Random(seed), _utc(now), max(3, round(n / 8)))
    return _records(gen, n, malformed)


def generate_from_population(
    n: int, *, persons: int, population_seed: int, seed: int, now: datetime | None = None
) -> list[RawRecord]:
    """Like :func:`generate`, but the people (and their identifiers) depend only on
    ``population_seed`` and ``persons`` — the same customers in every call, with new message
    ids, texts and times from ``seed`` (a steady population for soak runs)."""
    if n <= 0:
        return []
    gen = _Generator(random.Random(population_seed), _utc(now), persons)
    gen.rng = random.Random(seed)
    return _records(gen, n, None)


def _utc(now: datetime | None) -> datetime:
    ref = datetime.now(UTC) if now is None else now
    return ref.replace(tzinfo=UTC) if ref.tzinfo is None else ref.astimezone(UTC)


def _records(gen: _Generator, n: int, malformed: int | None) -> list[RawRecord]:
    bad = min(max(20, n // 40), n // 4) if malformed is None else malformed
    bad = max(0, min(bad, n - 1))
    redeliveries = round(n * REDELIVERY_SHARE)
    relays = round(n * CROSS_RELAY_SHARE)
    near = round(n * NEAR_DUPLICATE_SHARE)
    while redeliveries + relays + near > 0 and n - bad - redeliveries - relays - near < 1:
        redeliveries, relays, near = max(0, redeliveries - 1), max(0, relays - 1), max(0, near - 1)
    drafts = gen.interactions(n - bad - redeliveries - relays - near)
    drafts += gen.duplicates(drafts, redeliveries, relays, near)
    drafts += gen.malformed(bad)
    order = sorted(range(len(drafts)), key=lambda i: (drafts[i].order, i))
    return [drafts[i].record() for i in order]


def summarise(records: list[RawRecord]) -> dict[str, int]:
    """Count records by their ``expect`` value."""
    return dict(Counter(r.expect for r in records))


# --------------------------------------------------------------------------------------------
# Internals
# --------------------------------------------------------------------------------------------


class _Table(Generic[T]):
    """A weighted choice table."""

    def __init__(self, rows: Sequence[tuple[T, float]]) -> None:
        self.values = [v for v, _ in rows]
        total, cum = 0.0, []
        for _, w in rows:
            total += w
            cum.append(total)
        self.cum = cum

    def draw(self, rng: random.Random) -> T:
        return rng.choices(self.values, cum_weights=self.cum)[0]


_GROUPS = _Table([(c, CHANNEL_MIX[c] / _GROUP_SIZE[c]) for c in CHANNEL_MIX])
_COUNTRIES = _Table(COUNTRIES)
_TS = _Table(TS_FORMS)
_INTENTS = _Table(INTENTS)
_PLATFORMS = _Table(CHAT_PLATFORMS)
_SURVEY_KINDS = _Table(SURVEY_KINDS)
_WEB_KINDS = _Table(WEB_KINDS)
_WEB_TRACKS = _Table(WEB_TRACKS)


@dataclass(frozen=True)
class _Phone:
    cc: str
    area: str
    sub: str

    @property
    def e164(self) -> str:
        return f"+{self.cc}{self.area}{self.sub}"

    def display(self, rng: random.Random) -> str:
        """The number in one of several human formats."""
        split = 3 if self.cc == "1" or (self.cc == "44" and len(self.area) == 3) else 4
        parts = {"cc": self.cc, "a": self.area, "s1": self.sub[:split], "s2": self.sub[split:]}
        formats = US_PHONE_FORMATS if self.cc == "1" else INTL_PHONE_FORMATS
        return rng.choice(formats).format(**parts)


@dataclass
class _Person:
    pid: str
    first: str
    last: str
    country: str
    lang: str
    email: str | None
    phone: _Phone | None
    customer_id: str | None
    user_id: str | None
    anonymous_ids: tuple[str, ...]
    weight: float
    identified: bool = False

    @property
    def name(self) -> str:
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
        if self.lang != "en":
            return {"es": "es-ES", "fr": "fr-FR", "de": "de-DE"}[self.lang]
        return {"US": "en-US", "GB": "en-GB", "DE": "de-DE"}[self.country]


@dataclass(frozen=True)
class _TsStyle:
    form: str
    offset_min: int = 0
    millis: bool = False

    def render(self, when: datetime) -> str | int | float:
        """``when`` (aware UTC) in this form; never later than ``when``."""
        spec = "milliseconds" if self.millis else "seconds"
        if self.form == "iso_z":
            return when.replace(tzinfo=None).isoformat(timespec=spec) + "Z"
        if self.form == "iso_offset":
            zone = timezone(timedelta(minutes=self.offset_min))
            return when.astimezone(zone).isoformat(timespec=spec)
        if self.form == "iso_naive":
            return when.replace(tzinfo=None).isoformat(timespec=spec)
        if self.form == "epoch_s":
            return int(when.timestamp())
        if self.form == "epoch_float":
            return math.floor(when.timestamp() * 1000) / 1000
        return math.floor(when.timestamp() * 1000)


@dataclass
class _Draft:
    """A record under construction; ``payload`` is kept to derive duplicates."""

    channel: str
    key: str | None
    payload: Any
    person: str | None
    when: datetime
    style: _TsStyle
    value: bytes
    expect: str = "interaction"
    order: float = 0.0

    def record(self) -> RawRecord:
        key = None if self.key is None else self.key.encode()
        return RawRecord(self.channel, key, self.value, self.expect, self.person)


class _Slots(dict[str, str]):
    """Template slot values, drawn on first use and then kept (one order number per thread)."""

    def __init__(self, rng: random.Random, person: _Person) -> None:
        super().__init__(first=person.first, last=person.last)
        self._rng = rng
        self._country = person.country

    def __missing__(self, key: str) -> str:
        rng = self._rng
        if key == "order":
            value = (
                f"#A{rng.randint(10000, 99999)}"
                if rng.random() < 0.8
                else (f"ORD-{rng.randint(100000, 999999)}")
            )
        elif key in ("amount", "amount2"):
            value = _CURRENCY[self._country][1].format(v=_money(rng, self._country))
        elif key == "last4":
            value = f"{rng.randint(0, 9999):04d}"
        elif key == "days":
            value = str(rng.randint(3, 21))
        elif key == "n":
            value = str(rng.randint(2, 5))
        elif key == "years":
            value = str(rng.randint(2, 12))
        elif key == "ticket":
            value = f"#{rng.randint(100000, 999999)}"
        elif key == "app_version":
            value = f"{rng.randint(3, 5)}.{rng.randint(0, 14)}.{rng.randint(0, 3)}"
        else:
            value = rng.choice(_SLOT_VALUES[key])
        self[key] = value
        return value


def _money(rng: random.Random, country: str) -> str:
    value = f"{rng.randint(5, 300)}.{rng.choice(('99', '00', '49', '95'))}"
    return value.replace(".", ",") if country == "DE" else value


def _fill(template: str, slots: _Slots) -> str:
    return template.format_map(slots)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    return folded.encode("ascii", "ignore").decode().lower().replace("'", "")


def _dumps(channel: str, payload: Any) -> bytes:
    """Serialise like that channel's producer would (web/survey compact, email ASCII-escaped)."""
    if channel in ("web", "survey"):
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return json.dumps(payload, ensure_ascii=channel == "email").encode()


def _to_html(rng: random.Random, text: str) -> str:
    body = html.escape(text, quote=False)
    if rng.random() < 0.5:
        body = _ORDER_RE.sub(
            lambda m: (
                f'<a href="https://shop.example.com/orders/{m.group(0).lstrip("#")}">'
                f"{m.group(0)}</a>"
            ),
            body,
        )
    else:
        body = _ORDER_RE.sub(lambda m: f"<b>{m.group(0)}</b>", body)
    sentences = _SENTENCE_RE.split(body)
    if len(sentences) > 1 and rng.random() < 0.5:
        return "<p>" + "<br>".join(sentences) + "</p>"
    if len(sentences) > 1:
        return "".join(f"<p>{s}</p>" for s in sentences)
    return f"<p>{body}</p>"


def _to_markdown(rng: random.Random, text: str) -> str:
    if _ORDER_RE.search(text) and rng.random() < 0.6:
        return _ORDER_RE.sub(
            lambda m: f"[{m.group(0)}](https://shop.example.com/orders/{m.group(0).lstrip('#')})",
            text,
        )
    first, *rest = _SENTENCE_RE.split(text, maxsplit=1)
    return " ".join([f"**{first}**", *rest])


def _asr(text: str) -> str:
    """Make text look like raw speech recognition output."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def _html_lines(text: str) -> str:
    return "<br>".join(html.escape(line, quote=False) for line in text.splitlines())


def _mail_date(when: datetime) -> str:
    return f"{_DAYS[when.weekday()]}, {when.day} {_MONTHS[when.month - 1]} {when.year}"


def _respace(rng: random.Random, text: str) -> str:
    """The same text, possibly differing in whitespace or letter case only."""
    kind = rng.randrange(5)
    if kind == 1:
        return text + " "
    if kind == 2:
        return text + "\n"
    if kind == 3:
        return text.lower()
    if kind == 4:
        return text.replace(" ", "  ", 1)
    return text


class _Generator:
    """Holds the random source, the population and the ids handed out so far."""

    def __init__(self, rng: random.Random, now: datetime, persons: int) -> None:
        self.rng = rng
        self.now = now
        self.seen: set[str] = set()
        self.persons = [self._person(i) for i in range(persons)]
        self.eligible: dict[str, tuple[list[_Person], list[float]]] = {}
        for channel in CHANNEL_MIX:
            members = [p for p in self.persons if p.can_use(channel)]
            cum, total = [], 0.0
            for p in members:
                total += p.weight
                cum.append(total)
            self.eligible[channel] = (members, cum)

    # -- identifiers ---------------------------------------------------------------------------

    def _uid(self, prefix: str, hex_digits: int) -> str:
        while True:
            value = f"{prefix}{self.rng.getrandbits(hex_digits * 4):0{hex_digits}x}"
            if value not in self.seen:
                self.seen.add(value)
                return value

    def _uuid(self) -> str:
        while True:
            value = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            if value not in self.seen:
                self.seen.add(value)
                return value

    def _new_email(self, first: str, last: str) -> str:
        rng = self.rng
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
        while address in self.seen:
            extra += 1
            head, plus, tag = local.partition("+")
            address = f"{head}{extra}{plus}{tag}@{domain}"
        self.seen.add(address)
        return address

    def _new_phone(self, country: str) -> _Phone | None:
        rng = self.rng
        for _ in range(30):
            if country == "US":
                phone = _Phone("1", rng.choice(US_AREAS), f"5550{rng.randint(100, 199)}")
            elif country == "GB":
                area, head = rng.choice(GB_RANGES)
                phone = _Phone("44", area, f"{head}{rng.randint(0, 999):03d}")
            else:
                area, head = rng.choice(DE_RANGES)
                phone = _Phone("49", area, f"{head}{rng.randint(0, 9999):04d}")
            if phone.e164 not in self.seen:
                self.seen.add(phone.e164)
                return phone
        return None

    def _person(self, index: int) -> _Person:
        rng = self.rng
        full = index == 0  # the first person can use every channel, so none is ever empty
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        country = _COUNTRIES.draw(rng)
        lang = rng.choice(FOREIGN_LANGS) if rng.random() < FOREIGN_LANG_SHARE else "en"
        email = self._new_email(first, last) if rng.random() < 0.85 or full else None
        phone = self._new_phone(country) if rng.random() < 0.6 or full else None
        customer_id = self._uid("cus_", 10) if rng.random() < 0.55 else None
        user_id = None
        if rng.random() < 0.5:
            user_id = customer_id if customer_id and rng.random() < 0.6 else self._uid("usr_", 8)
        anon_count = rng.choices((0, 1, 2), weights=(25, 55, 20))[0] or int(full)
        anonymous_ids = tuple(self._uuid() for _ in range(anon_count))
        if not (email or phone or customer_id):
            email = self._new_email(first, last)
        weight = rng.lognormvariate(0.0, 0.8)
        return _Person(
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

    def _email_display(self, address: str) -> str:
        """The address with varied letter case (``Ana.Lopez@Example.com``)."""
        r = self.rng.random()
        if r < 0.55:
            return address
        local, domain = address.split("@")
        if r < 0.85:
            local = ".".join(part.capitalize() for part in local.split("."))
            return f"{local}@{domain.capitalize()}"
        if r < 0.95:
            return f"{local}@{domain.upper()}"
        return address.upper()

    def _customer(self, p: _Person, prefer_phone: bool = False) -> dict[str, Any]:
        """A chat/survey ``customer`` object with one or two of the person's identifiers."""
        rng = self.rng
        available = [
            k for k, v in (("id", p.customer_id), ("email", p.email), ("phone", p.phone)) if v
        ]
        keys = {"phone"} if prefer_phone and p.phone else {rng.choice(available)}
        if len(available) > 1 and rng.random() < 0.45:
            keys.add(rng.choice([k for k in available if k not in keys]))
        customer: dict[str, Any] = {}
        if "id" in keys:
            customer["id"] = p.customer_id
        if rng.random() < 0.6:
            customer["name"] = p.name
        if "email" in keys and p.email:
            customer["email"] = self._email_display(p.email)
        if "phone" in keys and p.phone:
            customer["phone"] = p.phone.display(rng)
        return customer

    # -- times and texts -------------------------------------------------------------------------

    def _style(self) -> _TsStyle:
        rng = self.rng
        form = _TS.draw(rng)
        offset = rng.choice(TS_OFFSETS_MIN) if form == "iso_offset" else 0
        return _TsStyle(form, offset, rng.random() < 0.5)

    def _start(self) -> datetime:
        """A group start time between 2 h and 15 min ago (groups span at most ~13 min)."""
        return self.now - timedelta(milliseconds=self.rng.randint(900_000, 7_190_000))

    def _text(
        self, p: _Person, slots: _Slots, intent: str | None = None, *, chatty: bool = True
    ) -> tuple[str, str]:
        """A customer message and its intent (``chatty``: may open with "Hi, " and so on)."""
        rng = self.rng
        if p.lang != "en":
            table = FOREIGN_TEMPLATES[p.lang]
            intent = intent if intent in table else rng.choice(list(table))
            return _fill(rng.choice(table[intent]), slots), intent
        intent = intent or _INTENTS.draw(rng)
        text = _fill(rng.choice(TEMPLATES[intent]), slots)
        if rng.random() < 0.3:
            details = [d for d in DETAILS if "{order}" not in d or "order" not in slots]
            text += " " + _fill(rng.choice(details), slots)
        if intent in NEGATIVE_INTENTS and rng.random() < 0.18:
            text = rng.choice(ANGER_PREFIXES) + text + rng.choice(ANGER_SUFFIXES)
            if rng.random() < 0.2:
                text = text.upper()
        elif chatty and intent not in ("complaint", "praise"):
            greeting = rng.choice(GREETINGS)
            if greeting and not re.match(r"I\b", text):
                text = text[0].lower() + text[1:]
            text = greeting + text + rng.choice(CLOSINGS)
        return text, intent

    def _draft(
        self,
        channel: str,
        key: str | None,
        payload: dict[str, Any],
        p: _Person,
        when: datetime,
        style: _TsStyle,
    ) -> _Draft:
        if self.rng.random() < 0.05:
            payload["schema_version"] = 1
        value = _dumps(channel, payload)
        return _Draft(channel, key, payload, p.pid, when, style, value, order=when.timestamp())

    # -- channels --------------------------------------------------------------------------------

    def _web(self, p: _Person, start: datetime, kind: str | None = None) -> list[_Draft]:
        rng = self.rng
        if kind is None:
            fresh = not p.identified and (p.email or p.phone) and rng.random() < 0.5
            kind = "identify" if fresh else _WEB_KINDS.draw(rng)
        slots = _Slots(rng, p)
        anon = rng.choice(p.anonymous_ids) if p.anonymous_ids else None
        user = p.user_id if p.user_id and (anon is None or rng.random() < 0.45) else None
        payload: dict[str, Any] = {"type": kind}
        if kind == "identify":
            p.identified = True
            user = p.user_id
            traits: dict[str, Any] = {}
            if p.email and rng.random() < 0.9:
                traits["email"] = self._email_display(p.email)
            if p.phone and (not traits or rng.random() < 0.5):
                traits["phone"] = p.phone.display(rng)
            if rng.random() < 0.7 or not traits:
                traits["name"] = p.name
            payload["messageId"] = self._uuid()
            body_key, body = "traits", traits
        elif kind == "track":
            event = _WEB_TRACKS.draw(rng)
            payload["event"] = event
            payload["messageId"] = f"ajs-next-{self._uid('', 32)}"
            body_key, body = "properties", self._track_properties(p, event, slots)
        elif kind == "screen":
            payload["name"] = rng.choice(WEB_SCREENS)
            payload["messageId"] = self._uuid()
            body_key, body = "properties", {"from_push": rng.random() < 0.2}
        else:
            title, path = rng.choice(WEB_PAGES)
            path = path.format(oid=slots["order"].lstrip("#"))
            payload["name"] = title
            payload["messageId"] = f"ajs-next-{self._uid('', 32)}"
            url = f"https://shop.example.com{path}"
            body_key, body = (
                "properties",
                {
                    "path": path,
                    "url": url,
                    "title": f"{title} | Acme",
                    "referrer": rng.choice(REFERRERS),
                },
            )
        if anon:
            payload["anonymousId"] = anon
        if user:
            payload["userId"] = user
        payload[body_key] = body
        payload["context"] = self._web_context(p, kind, body)
        style = self._style()
        r = rng.random()
        if r < 0.8:
            payload["timestamp"] = style.render(start)
            if rng.random() < 0.3:
                payload["sentAt"] = style.render(
                    start + timedelta(milliseconds=rng.randint(5, 1500))
                )
        else:
            payload["sentAt" if r < 0.9 else "receivedAt"] = style.render(start)
        if rng.random() < 0.2:
            payload["integrations"] = {"All": True, "Mixpanel": False}
        if rng.random() < 0.1:
            payload["x_tenant"] = "acme"
        return [self._draft("web", user or anon, payload, p, start, style)]

    def _track_properties(self, p: _Person, event: str, slots: _Slots) -> dict[str, Any]:
        rng = self.rng
        currency = _CURRENCY[p.country][0]
        if event == "Search":
            return {"query": _fill(rng.choice(SEARCH_QUERIES), slots)}
        if event == "Feedback Submitted":
            text, _ = self._text(p, slots)
            return {rng.choice(("comment", "text")): text, "rating": rng.randint(1, 5)}
        if event == "Checkout Failed":
            return {
                "error_code": rng.choice(CHECKOUT_ERRORS),
                "order_id": slots["order"].lstrip("#"),
                "total": float(_money(rng, "US")),
                "currency": currency,
            }
        if event == "Product Viewed":
            return {
                "product": slots["product"],
                "price": float(_money(rng, "US")),
                "currency": currency,
            }
        return {
            "order_id": slots["order"].lstrip("#"),
            "total": float(_money(rng, "US")),
            "currency": currency,
        }

    def _web_context(self, p: _Person, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        rng = self.rng
        ip = f"{rng.choice(('203.0.113', '198.51.100', '192.0.2'))}.{rng.randint(1, 254)}"
        if kind == "screen":
            os_name = rng.choice(("ios", "android"))
            return {
                "app": {"name": "Acme", "version": f"4.{rng.randint(0, 14)}.0"},
                "device": {"type": os_name.lower()},
                "os": {"name": "iOS" if os_name == "ios" else "Android"},
                "locale": p.locale,
                "ip": ip,
                "library": {"name": f"analytics-{os_name}", "version": "4.1.8"},
            }
        url = body.get("url", "https://shop.example.com/")
        page = {
            "url": url,
            "path": url.removeprefix("https://shop.example.com"),
            "referrer": rng.choice(REFERRERS),
        }
        return {
            "page": page,
            "userAgent": rng.choice(USER_AGENTS),
            "locale": p.locale,
            "ip": ip,
            "library": {"name": "analytics.js", "version": "next-1.53.0"},
        }

    def _chat(self, p: _Person, start: datetime, single: bool = False) -> list[_Draft]:
        rng = self.rng
        slots = _Slots(rng, p)
        platform = _PLATFORMS.draw(rng)
        customer = self._customer(p, prefer_phone=platform == "whatsapp")
        conversation = self._uid("conv_", 12)
        style = self._style()
        text, intent = self._text(p, slots)
        turns = [("customer", text)]
        if not single:
            if rng.random() < 0.5:
                reply = (
                    _fill(rng.choice(AGENT_REPLIES[intent]), slots)
                    if rng.random() < 0.7
                    else rng.choice(BOT_REPLIES)
                )
                turns.append(("agent" if reply not in BOT_REPLIES else "bot", reply))
            if rng.random() < 0.35:
                turns.append(("customer", _fill(rng.choice(CUSTOMER_FOLLOWUPS), slots)))
            if len(turns) > 2 and rng.random() < 0.3:
                turns.append(("agent", _fill(rng.choice(AGENT_REPLIES[intent]), slots)))
        drafts, when = [], start
        for role, body in turns:
            r = rng.random()
            if role == "customer" and r < 0.12:
                body = _to_html(rng, body)
            elif role == "customer" and r < 0.2:
                body = _to_markdown(rng, body)
            payload: dict[str, Any] = {
                "message_id": self._uid("msg_", 16),
                "conversation_id": conversation,
                "sent_at": style.render(when),
                "author_role": role,
                "customer": customer,
                "text": body,
                "platform": platform,
            }
            if rng.random() < 0.1:
                payload["widget_version"] = f"2.{rng.randint(0, 9)}.{rng.randint(0, 9)}"
            drafts.append(self._draft("chat", conversation, payload, p, when, style))
            when += timedelta(milliseconds=rng.randint(20_000, 200_000))
        return drafts

    def _email(self, p: _Person, start: datetime, single: bool = False) -> list[_Draft]:
        rng = self.rng
        assert p.email is not None
        slots = _Slots(rng, p)
        text, intent = self._text(p, slots, chatty=False)
        if p.lang != "en":
            subject = rng.choice(FOREIGN_SUBJECTS[p.lang])
        else:
            subject = _fill(rng.choice(EMAIL_SUBJECTS[intent]), slots)
        thread: list[str] = []
        quoted = ""
        if rng.random() < 0.35:
            support_id = f"<{self._uid('reply-', 12)}@acme.example>"
            thread.append(support_id)
            subject = "Re: " + subject
            quoted = self._quote(
                p,
                start - timedelta(hours=rng.randint(2, 72)),
                _fill(rng.choice(SUPPORT_NOTES), slots),
                subject,
            )
        style = self._style()
        sender = self._sender(p)
        drafts = [self._mail(p, start, style, sender, subject, text, quoted, thread)]
        if not single and rng.random() < 0.15:
            first = drafts[0].payload
            when = start + timedelta(milliseconds=rng.randint(300_000, 720_000))
            quoted = self._quote(p, start, text, subject, sender=first["from"])
            body = _fill(rng.choice(EMAIL_FOLLOWUPS), slots)
            reply = "AW: " if p.lang == "de" else rng.choice(("Re: ", "RE: "))
            subject = subject if subject.lower().startswith("re:") else reply + subject
            drafts.append(
                self._mail(
                    p, when, style, sender, subject, body, quoted, [*thread, first["message_id"]]
                )
            )
        return drafts

    def _sender(self, p: _Person) -> str:
        assert p.email is not None
        address, r = self._email_display(p.email), self.rng.random()
        if r < 0.5:
            return f"{p.name} <{address}>"
        if r < 0.85:
            return address
        return f'"{p.last}, {p.first}" <{address}>'

    def _quote(
        self,
        p: _Person,
        when: datetime,
        note: str,
        subject: str,
        sender: str = "Acme Support <support@acme.example>",
    ) -> str:
        """A quoted earlier mail, Gmail style (``> `` lines) or Outlook style."""
        if self.rng.random() < 0.75:
            head = f"On {_mail_date(when)} at {when:%H:%M}, {sender} wrote:"
            return head + "\n" + "\n".join(f"> {line}" for line in note.splitlines())
        to = p.name if sender.startswith("Acme") else "Acme Support"
        return (
            f"-----Original Message-----\nFrom: {sender}\nSent: {_mail_date(when)} "
            f"{when:%H:%M}\nTo: {to}\nSubject: {subject}\n\n{note}"
        )

    def _mail(
        self,
        p: _Person,
        when: datetime,
        style: _TsStyle,
        sender: str,
        subject: str,
        message: str,
        quoted: str,
        thread: list[str],
    ) -> _Draft:
        rng = self.rng
        slots = _Slots(rng, p)
        if p.lang != "en":
            greeting, signoff = FOREIGN_GREETINGS[p.lang], FOREIGN_SIGNOFFS[p.lang]
        else:
            greeting, signoff = rng.choice(EMAIL_GREETINGS), rng.choice(EMAIL_SIGNOFFS)
        parts = [x for x in (greeting, message, _fill(signoff, slots), quoted) if x]
        message_id = f"<{self._uuid()}@{rng.choice(MAIL_HOSTS)}>"
        payload: dict[str, Any] = {
            "message_id": message_id,
            "received_at": style.render(when),
            "from": sender,
            "to": rng.choice(SUPPORT_ADDRESSES),
            "subject": subject,
        }
        mode = rng.random()
        if mode < 0.85:
            payload["text"] = "\n\n".join(parts)
        if mode >= 0.5:
            own = "".join(f"<div>{_html_lines(x)}</div>" for x in parts if x != quoted)
            tail = f'<blockquote class="gmail_quote">{_html_lines(quoted)}</blockquote>'
            payload["html"] = f"<html><body>{own}<br>{tail if quoted else ''}</body></html>"
        if thread:
            payload["in_reply_to"] = thread[-1]
            payload["references"] = " ".join(thread)
        if rng.random() < 0.3:
            payload["gateway"] = rng.choice(("mx-a", "relay-a"))
        if rng.random() < 0.15:
            payload["attachments"] = [{"filename": "receipt.pdf", "size": rng.randint(9000, 90000)}]
        return self._draft("email", message_id, payload, p, when, style)

    def _voice(self, p: _Person, start: datetime, single: bool = False) -> list[_Draft]:
        rng = self.rng
        assert p.phone is not None
        slots = _Slots(rng, p)
        text, intent = self._text(p, slots)
        mood = (
            "positive"
            if intent == "praise"
            else "negative"
            if intent == "complaint"
            else rng.choice(("positive", "neutral", "negative"))
        )
        lines = [
            ("agent", _fill(rng.choice(VOICE_GREETINGS), slots)),
            ("customer", text),
            ("agent", _fill(rng.choice(AGENT_REPLIES[intent]), slots)),
            ("customer", rng.choice(VOICE_CLOSINGS[mood])),
        ]
        if rng.random() < 0.4:
            lines += [
                ("agent", "Is there anything else I can help you with?"),
                ("customer", "No, that's all, thanks."),
            ]
        raw = rng.random() < 0.5
        utterances: list[dict[str, Any]] = []
        clock = round(rng.uniform(0.3, 2.0), 2)
        for speaker, line in lines:
            said = _asr(line) if raw else line
            if raw and speaker == "customer" and rng.random() < 0.4:
                said = f"{rng.choice(VOICE_FILLERS)} {said}"
            end = round(clock + max(1.0, len(said.split()) / 2.6) + rng.uniform(0.0, 1.0), 2)
            utterances.append({"speaker": speaker, "text": said, "start_s": clock, "end_s": end})
            clock = round(end + rng.uniform(0.2, 1.5), 2)
        call_id = f"CA{self._uid('', 32)}"
        caller = p.phone.display(rng)
        with_customer_id = p.customer_id is not None and rng.random() < 0.45
        confidence = round(rng.uniform(0.62, 0.98), 3) if rng.random() < 0.85 else None
        if single or len(utterances) < 4 or rng.random() >= 0.35:
            chunks = [utterances]
        else:
            k = rng.choice((2, 3))
            cuts = sorted(rng.sample(range(1, len(utterances)), k - 1))
            chunks = [
                utterances[i:j] for i, j in zip([0, *cuts], [*cuts, len(utterances)], strict=True)
            ]
        style = self._style()
        drafts = []
        for index, chunk in enumerate(chunks, start=1):
            offset = chunk[0]["start_s"] if len(chunks) > 1 else 0.0
            when = start + timedelta(seconds=offset)
            payload: dict[str, Any] = {"call_id": call_id}
            if len(chunks) > 1:
                payload["segment_id"] = f"seg-{index:02d}"
            payload["started_at"] = style.render(when)
            payload["duration_s"] = round(chunk[-1]["end_s"] - offset + 0.8, 1)
            payload["caller_number"] = caller
            if with_customer_id:
                payload["customer_id"] = p.customer_id
            rebased = [
                {
                    **u,
                    "start_s": round(u["start_s"] - offset, 2),
                    "end_s": round(u["end_s"] - offset, 2),
                }
                for u in chunk
            ]
            if len(chunks) == 1 and rng.random() < 0.25:
                joiner = rng.choice(("labelled", "plain"))
                payload["transcript"] = (
                    "\n".join(f"{u['speaker'].capitalize()}: {u['text']}" for u in rebased)
                    if joiner == "labelled"
                    else " ".join(u["text"] for u in rebased)
                )
            else:
                payload["utterances"] = rebased
            if confidence is not None:
                payload["asr_confidence"] = confidence
            if rng.random() < 0.2:
                payload["queue"] = rng.choice(("billing", "orders", "general"))
            drafts.append(self._draft("voice", call_id, payload, p, when, style))
        return drafts

    def _survey(self, p: _Person, start: datetime, single: bool = False) -> list[_Draft]:
        rng = self.rng
        slots = _Slots(rng, p)
        kind = _SURVEY_KINDS.draw(rng)
        sentiment = rng.choices(("positive", "neutral", "negative"), weights=(55, 20, 25))[0]
        low, high = SURVEY_SCORES[kind][sentiment]
        style = self._style()
        response_id = f"R_{self._uid('', 15)}"
        payload: dict[str, Any] = {
            "response_id": response_id,
            "submitted_at": style.render(start),
            "customer": self._customer(p),
            "kind": kind,
            "score": rng.randint(low, high),
        }
        if rng.random() < 0.6:
            if sentiment == "positive":
                comment, _ = self._text(p, slots, "praise", chatty=False)
            elif sentiment == "negative":
                intent = rng.choice((*NEGATIVE_INTENTS, "complaint"))
                comment, _ = self._text(p, slots, intent, chatty=False)
            else:
                comment = rng.choice(NEUTRAL_COMMENTS)
            payload["comment"] = comment
        if rng.random() < 0.3:
            payload["touchpoint"] = rng.choice(("chat", "email", "voice", "delivery"))
        return [self._draft("survey", response_id, payload, p, start, style)]

    # -- assembly ----------------------------------------------------------------------------------

    def _pick(self, channel: str) -> _Person | None:
        members, cum = self.eligible[channel]
        if not members:
            return None
        return self.rng.choices(members, cum_weights=cum)[0]

    def _group(self, channel: str, single: bool = False) -> list[_Draft]:
        p = self._pick(channel)
        if p is None:
            channel, p = "chat", self._pick("chat")
        assert p is not None
        start = self._start()
        if channel == "web":
            return self._web(p, start, self.rng.choice(("page", "track")) if single else None)
        builders: dict[str, Callable[[_Person, datetime, bool], list[_Draft]]] = {
            "chat": self._chat,
            "email": self._email,
            "voice": self._voice,
            "survey": self._survey,
        }
        return builders[channel](p, start, single)

    def interactions(self, count: int) -> list[_Draft]:
        """``count`` valid records, grouped as conversations, threads and calls."""
        out: list[_Draft] = []
        while len(out) < count:
            out.extend(self._group(_GROUPS.draw(self.rng))[: count - len(out)])
        return out

    def duplicates(
        self, base: list[_Draft], redeliveries: int, relays: int, near: int
    ) -> list[_Draft]:
        """Redeliveries, cross-relayed mails and chat double-submits of ``base`` records."""
        rng = self.rng
        emails = [d for d in base if d.channel == "email"]
        chats = [
            d
            for d in base
            if d.channel == "chat"
            and d.payload["author_role"] == "customer"
            and d.payload["text"].strip()
        ]
        relay_src = rng.sample(emails, min(relays, len(emails)))
        near_src = rng.sample(chats, min(near, len(chats)))
        redeliveries += relays - len(relay_src) + near - len(near_src)
        used = {id(d) for d in relay_src + near_src}
        pool = [d for d in base if id(d) not in used] or base
        if redeliveries <= len(pool):
            again = rng.sample(pool, redeliveries)
        else:
            again = [rng.choice(pool) for _ in range(redeliveries)]
        out = [
            _Draft(
                d.channel,
                d.key,
                d.payload,
                d.person,
                d.when,
                d.style,
                d.value,
                "redelivery",
                d.order + rng.uniform(0.5, 600.0),
            )
            for d in again
        ]
        for d in relay_src:
            when = d.when + timedelta(milliseconds=rng.randint(2_000, 30_000))
            payload = {**d.payload, "received_at": d.style.render(when), "gateway": "relay-b"}
            out.append(
                _Draft(
                    "email",
                    d.key,
                    payload,
                    d.person,
                    when,
                    d.style,
                    _dumps("email", payload),
                    "cross_relay",
                    when.timestamp(),
                )
            )
        for d in near_src:
            when = d.when + timedelta(milliseconds=rng.randint(1_000, 5_000))
            payload = {
                **d.payload,
                "message_id": self._uid("msg_", 16),
                "sent_at": d.style.render(when),
                "text": _respace(rng, d.payload["text"]),
            }
            out.append(
                _Draft(
                    "chat",
                    d.key,
                    payload,
                    d.person,
                    when,
                    d.style,
                    _dumps("chat", payload),
                    "near_duplicate",
                    when.timestamp(),
                )
            )
        return out

    def malformed(self, count: int) -> list[_Draft]:
        """``count`` dead-letter records, reasons spread evenly, each with exactly one defect."""
        rng = self.rng
        reasons = [MALFORMED_REASONS[i % len(MALFORMED_REASONS)] for i in range(count)]
        rng.shuffle(reasons)
        return [self._broken(reason) for reason in reasons]

    def _broken(self, reason: str) -> _Draft:
        rng = self.rng
        channel = rng.choice(_REASON_CHANNELS.get(reason, tuple(CHANNEL_MIX)))
        draft = self._group(channel, single=True)[0]
        channel = draft.channel
        payload: dict[str, Any] = dict(draft.payload)
        key, person = draft.key, draft.person
        text = _dumps(channel, payload).decode()
        if reason == "invalid_json":
            person = None
            variant = rng.randrange(4)
            if variant == 0:
                value = text[: rng.randint(max(1, len(text) // 4), len(text) - 1)].encode()
            elif variant == 1:
                value = repr(payload).encode()
            elif variant == 2:
                value = (text[:-1] + ",}").encode()
            else:
                value = (text + text).encode()
        elif reason == "invalid_utf8":
            raw = text.encode()
            if rng.random() < 0.3:
                value = json.dumps(payload, ensure_ascii=False).encode("utf-16")
            else:
                cut = raw.index(b'":') + 2
                cut += raw[cut:].index(b'"') + 1
                value = raw[:cut] + b"\xff\xfe" + raw[cut:]
        elif reason == "not_an_object":
            person = None
            value = rng.choice(
                (json.dumps([payload]), "42", "null", '"hello"', "[]", "true", "3.14")
            ).encode()
        else:
            self._violate(reason, channel, payload)
            if reason == "missing_identity" or (
                reason == "missing_id" and channel in ("email", "voice", "survey")
            ):
                key = None
            if reason == "missing_identity":
                person = None
            value = _dumps(channel, payload)
        return _Draft(
            channel,
            key,
            payload,
            person,
            draft.when,
            draft.style,
            value,
            f"deadletter:{reason}",
            draft.order,
        )

    def _violate(self, reason: str, channel: str, payload: dict[str, Any]) -> None:
        """Give a valid payload exactly one defect of kind ``reason`` (in place)."""
        rng = self.rng
        if reason == "missing_id":
            del payload[_ID_FIELD[channel]]
            payload.pop("segment_id", None)
        elif reason == "missing_identity":
            for name in ("userId", "anonymousId", "from"):
                payload.pop(name, None)
        elif reason == "invalid_timestamp":
            for name in ("timestamp", "sentAt", "receivedAt"):
                payload.pop(name, None)
            payload[_TIME_FIELD[channel]] = rng.choice(BAD_TIMESTAMPS)
        elif channel == "chat":
            payload["text"] = rng.choice((42, 3.5, 1234567))
        elif channel == "survey":
            payload["score"] = rng.choice(BAD_SCORES)
        elif channel == "voice":
            payload.pop("transcript", None)
            payload["utterances"] = {"speaker": "customer", "text": "hello?", "start_s": 0.0}
        elif channel == "web":
            payload["properties"] = "query=refund status"
        else:
            payload["text"] = 12345
            payload.pop("html", None)
