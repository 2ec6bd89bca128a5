"""Where personal data is in a text: one finder per kind, each returning character spans.

Libraries decide what is real; the patterns here only propose candidates, are linear (no nested
quantifiers) and bounded in length:

* **email**: a token around ``@`` that the standard library's RFC 5322 parser
  (``email.headerregistry.Address``) accepts as an addr-spec, with a dotted domain.
* **iban**: a country code, two check digits and up to 30 letters/digits (spaces allowed between
  groups) that python-stdnum's ``iban`` validates (country format and mod-97 check digits).
* **card**: 13 to 19 digits in groups (spaces or dashes between them) that pass python-stdnum's
  ``luhn`` check and start with a payment-card major industry identifier (2-6). A Luhn-invalid
  number (an order number, a tracking number) is never a card; one in ten random numbers passes
  Luhn, and the 2-6 prefix rule keeps most of those (order numbers starting 1, 7, 8, 9) too.
* **account**: conservative by design: only a run of 6 to 20 digits written right after
  "account", "acct" or "a/c" (optionally "number", "no", "#", ":"). A bare digit run without
  the word is not redacted: it is as likely an order number or a reference.
* **phone**: phonenumbers' ``PhoneNumberMatcher`` at ``Leniency.VALID`` (a number valid for its
  region; numbers without a country code read in the default region). It does not take dates,
  times or prices for phone numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.errors import HeaderParseError
from email.headerregistry import Address

import phonenumbers
from stdnum import iban, luhn

from pipeline.privacy.types import PiiType

Span = tuple[int, int]
Finder = Callable[[str], list[Span]]

MAX_EMAIL_CHARS = 254
_ASCII_DIGIT = re.compile(r"[0-9]")
_ANY_DIGIT = re.compile(r"\d")
_EMAIL_CANDIDATE = re.compile(r"[^\s<>()\[\]{},;:\"'@]{1,64}@[^\s<>()\[\]{},;:\"'@]{1,253}")
_IBAN_CANDIDATE = re.compile(r"\b[A-Z]{2}[0-9]{2}[A-Z0-9]{0,30}(?:[ -][A-Z0-9]{1,8}){0,10}\b", re.I)
_DIGIT_RUN = re.compile(r"(?<![\w-])[0-9]{1,19}(?:[ -][0-9]{1,19}){0,9}(?![\w-])")
_ACCOUNT = re.compile(
    r"\b(?:account|acct|a/c)(?:[ \t]*(?:number|num|no\.?|nr\.?|#))?[ \t]*[:#]?[ \t]*"
    r"([0-9]{2,20}(?:[ -][0-9]{1,20}){0,5})(?![\w-])",
    re.I,
)
CARD_DIGITS = (13, 19)
CARD_PREFIXES = frozenset("23456")
"""Major industry identifiers of payment cards: 2 and 5 Mastercard, 3 Amex/Diners/JCB, 4 Visa,
6 Discover/UnionPay/Maestro."""
ACCOUNT_DIGITS = (6, 20)
IBAN_CHARS = (15, 34)
MIN_PHONE_DIGITS = 4
"""Fewer digits (Unicode digits included, as the matcher reads them) cannot be a valid phone
number in any region (the shortest valid numbers, e.g. Niue's, have 4 national digits)."""


def find_emails(text: str) -> list[Span]:
    """Spans of valid email addresses."""
    spans: list[Span] = []
    if "@" not in text:  # the common case, decided without the pattern's scan
        return spans
    for match in _EMAIL_CANDIDATE.finditer(text):
        candidate = match.group().rstrip(".")
        domain = candidate.rpartition("@")[2]
        if "." not in domain or len(candidate) > MAX_EMAIL_CHARS:
            continue
        if not domain.rpartition(".")[2].isalpha():
            continue
        try:
            Address(addr_spec=candidate)
        except (ValueError, HeaderParseError, IndexError):
            continue
        spans.append((match.start(), match.start() + len(candidate)))
    return spans


def find_ibans(text: str) -> list[Span]:
    """Spans of IBANs whose country format and check digits are valid."""
    spans: list[Span] = []
    if not _ASCII_DIGIT.search(text):
        return spans
    for match in _IBAN_CANDIDATE.finditer(text):
        groups = re.split(r"[ -]", match.group())
        # the candidate may run on into the next words: try the longest valid prefix of groups
        for end in range(len(groups), 0, -1):
            compact = "".join(groups[:end])
            if not IBAN_CHARS[0] <= len(compact) <= IBAN_CHARS[1]:
                continue
            if iban.is_valid(compact.upper()):
                length = len(" ".join(groups[:end]))
                spans.append((match.start(), match.start() + length))
                break
    return spans


def _group_spans(start: int, run: str) -> list[Span]:
    """The digit groups of ``run`` (separated by one space or dash) as absolute spans."""
    return [(start + m.start(), start + m.end()) for m in re.finditer(r"[0-9]+", run)]


def _is_card(digits: str) -> bool:
    return digits[0] in CARD_PREFIXES and luhn.is_valid(digits)


def _iban_shaped(text: str) -> list[Span]:
    """Spans shaped like an IBAN (valid or not): their digits are an account, never a card."""
    return [
        m.span()
        for m in _IBAN_CANDIDATE.finditer(text)
        if len(re.sub(r"[ -]", "", m.group())) >= IBAN_CHARS[0]
    ]


def find_cards(text: str) -> list[Span]:
    """Spans of Luhn-valid payment card numbers (whole digit groups, longest first).

    Digits inside an IBAN-shaped string are skipped: an IBAN that fails its check (a typo, or not
    an IBAN) would otherwise pass Luhn one time in ten and be called a card.
    """
    spans: list[Span] = []
    if not _ASCII_DIGIT.search(text):
        return spans
    shaped = _iban_shaped(text)
    for match in _DIGIT_RUN.finditer(text):
        if any(a <= match.start() < b for a, b in shaped):
            continue
        if sum(c.isdigit() for c in match.group()) < CARD_DIGITS[0]:
            continue  # most runs (dates, prices, order numbers) end here
        groups = _group_spans(match.start(), match.group())
        i = 0
        while i < len(groups):
            found = _longest_card(text, groups, i)
            if found is None:
                i += 1
                continue
            spans.append((groups[i][0], groups[found - 1][1]))
            i = found
    return spans


def _longest_card(text: str, groups: list[Span], first: int) -> int | None:
    """The end (exclusive group index) of the longest card starting at group ``first``."""
    lengths = [b - a for a, b in groups]
    for end in range(len(groups), first, -1):
        if CARD_DIGITS[0] <= sum(lengths[first:end]) <= CARD_DIGITS[1]:
            digits = "".join(text[a:b] for a, b in groups[first:end])
            if _is_card(digits):
                return end
    return None


def find_accounts(text: str) -> list[Span]:
    """Spans of digit runs (6-20 digits) written right after the word account/acct/a/c."""
    spans: list[Span] = []
    if not _ASCII_DIGIT.search(text):
        return spans
    for match in _ACCOUNT.finditer(text):
        digits = re.sub(r"[ -]", "", match.group(1))
        if ACCOUNT_DIGITS[0] <= len(digits) <= ACCOUNT_DIGITS[1]:
            spans.append(match.span(1))
    return spans


def phone_finder(region: str) -> Finder:
    """A finder of phone numbers valid in their region (``region``: numbers without a ``+``)."""

    def find_phones(text: str) -> list[Span]:
        if len(_ANY_DIGIT.findall(text)) < MIN_PHONE_DIGITS:
            return []  # most messages: the matcher costs ~50 µs even on text without digits
        matcher = phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID
        )
        return [(m.start, m.end) for m in matcher]

    return find_phones


def finders(region: str) -> dict[PiiType, Finder]:
    """Every kind's finder, phone numbers read in ``region``."""
    return {
        PiiType.EMAIL: find_emails,
        PiiType.IBAN: find_ibans,
        PiiType.CARD: find_cards,
        PiiType.ACCOUNT: find_accounts,
        PiiType.PHONE: phone_finder(region),
    }
