"""Email addresses and bodies: address normalisation, quoted-reply and signature removal.

**Addresses.** The domain is IDNA-normalised (UTS #46 mapping, then each non-ASCII or ``xn--``
label validated and stored as its ASCII A-label, e.g. ``ana@bücher.example`` and
``ana@XN--BCHER-KVA.example`` are both ``ana@xn--bcher-kva.example``): one spelling for every way
of writing a domain, and no look-alike Unicode letters in identity keys. The local part is
lower-cased with ``str.lower()``, never Unicode case-folded: mail servers may treat
``straße@`` and ``strasse@`` as two mailboxes, and case-folding would merge two people
(``+tag`` is kept). An address with an invisible character in it (a control, format or
separator character: zero-width space, bidi controls, BOM, no-break space…) is rejected, with
the character named, rather than silently cleaned: it is spoofed or corrupt.

**Reply parsing in bounded time.** mail-parser-reply's "On … wrote:" header patterns use
nested lazy quantifiers and look-aheads; their time grows with the square (German: the cube) of
a line's length, and its signature pattern (``\\s*^…``) with the square of a whitespace run.
``"On Mon wrote " * 19000`` took 14 minutes. RE2 (``google-re2``) would be linear but rejects
these patterns (``(?!…)`` look-aheads, ``(?<!\\A)`` look-behind), so the library keeps running
them on input made small enough (measured in docs/reliability.md, "Poison inputs"):

* whitespace is normalised first (runs of spaces and blank lines collapsed; linear);
* only the first :data:`MAX_REPLY_PARSE_CHARS` characters (whole lines) are parsed: the newest
  reply is on top. When no reply header or signature is found there, the rest of the body is
  kept as it is (unparsed: it cannot be a quote of a reply that has not ended);
* lines longer than :data:`MAX_HEADER_LINE_CHARS` are shown to the library as an opaque token:
  they are content, never a header or a signature;
* a line that starts like a reply header ("On", "Am", "Le", "El", "Il", "Op") is shown as it is
  only when, within it and the next two lines, a line ends in ":" after one or two header verbs
  ("wrote", "schrieb"…), and only for the first :data:`MAX_HEADER_CANDIDATES` such lines; the
  others are opaque too. The first real header ends the newest reply, so later candidates
  cannot change it.
"""

from __future__ import annotations

import re
import unicodedata
from email.utils import parseaddr
from typing import NamedTuple

import idna
from mailparser_reply import EmailReplyParser

from pipeline.standardise.normalise.text import normalise_whitespace

_REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl"]
_parser = EmailReplyParser(languages=_REPLY_LANGUAGES)

MAX_ADDRESS_FIELD_CHARS = 400
"""A longer sender/address field is not parsed: an address has at most 254 characters, and the
standard library's parser costs ~1 ms a 1,000 characters and recurses once per "(" (250,000
"(" raised RecursionError)."""
MAX_REPLY_PARSE_CHARS = 8_000
"""Characters of a body searched for reply headers and signatures (whole lines). A reply longer
than this keeps its text: the tail is appended unparsed. The library costs up to ~2 µs a
character on crafted lines (lines of quote marks: 10 ms for 8,000)."""
MAX_HEADER_LINE_CHARS = 200
"""Longer lines are never reply headers or signatures (real "On … wrote:" lines are < 200)."""
MAX_HEADER_CANDIDATES = 2
"""Lines that look like reply headers shown to the parser; a crafted one costs up to ~5 ms."""

_HEADER_WORDS = frozenset({"on", "am", "le", "el", "il", "op"})
"""The words the library's "wrote" header patterns (and their look-aheads) start with."""
_HEADER_VERBS = ("wrote", "schrieb", "écrit", "escribió", "scritto", "schreef")
_HEADER_WINDOW = 3
"""A header spans at most this many lines (its patterns cross at most two line breaks)."""
_OPAQUE = re.compile("\x00([0-9]+)\x00")
"""Token for a hidden line: NUL cannot occur in the input (``normalise_whitespace`` drops it)."""
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Zs", "Zl", "Zp"}


class Address(NamedTuple):
    """A parsed sender/recipient: the normalised address, the display name, and why no address."""

    address: str | None
    name: str | None
    problem: str | None = None


def parse_address(raw: str) -> Address:
    """``Address`` from ``"Name <addr@host>"`` or a bare address (see the module docstring).

    ``address`` is None when there is no ``local@domain`` (``problem`` says why: not an address,
    an invisible character, a domain that is not a valid internationalised name).
    """
    if len(raw) > MAX_ADDRESS_FIELD_CHARS:
        return Address(None, None, f"is longer than {MAX_ADDRESS_FIELD_CHARS} characters")
    try:
        name, addr = parseaddr(raw)
    except RecursionError:  # nested "(((" comments: the stdlib parser recurses per level
        return Address(None, None, "is not an address")
    display = name or None
    addr = addr.strip()
    local, _, domain = addr.rpartition("@")
    if not local or not domain or " " in addr:
        return Address(None, display, "is not an address")
    hidden = next((ch for ch in addr if unicodedata.category(ch) in _INVISIBLE_CATEGORIES), None)
    if hidden is not None:
        label = unicodedata.name(hidden, "unnamed")
        return Address(None, display, f"has an invisible character (U+{ord(hidden):04X} {label})")
    ascii_domain = _idna_domain(domain)
    if ascii_domain is None:
        return Address(None, display, f"has an invalid internationalised domain {domain[:64]!r}")
    if "." not in ascii_domain:
        return Address(None, display, "is not an address")
    return Address(f"{local.lower()}@{ascii_domain}", display)


def normalise_address(raw: str) -> tuple[str | None, str | None]:
    """``(address, display name)``; the address is None when ``raw`` holds no usable one."""
    address, name, _ = parse_address(raw)
    return address, name


def _idna_domain(domain: str) -> str | None:
    """The domain in lower-case ASCII (A-labels), or None when it is not a valid IDN."""
    try:
        mapped = idna.uts46_remap(domain, std3_rules=False, transitional=False)
    except (idna.IDNAError, UnicodeError):
        return None
    labels = []
    for label in mapped.split("."):
        if label.isascii() and not label.startswith("xn--"):
            labels.append(label)  # plain ASCII labels are their own A-label (hostname rules aside)
            continue
        try:
            labels.append(idna.alabel(label).decode("ascii"))
        except (idna.IDNAError, UnicodeError):
            return None
    return ".".join(labels)


def latest_reply(body: str) -> str:
    """The newest part of an email body: quoted replies, reply headers and signatures removed.

    Whitespace-normalised; parsing is bounded (see the module docstring).
    """
    text = normalise_whitespace(body)
    if not text:
        return ""
    lines = text.split("\n")
    parsed, size = 0, 0
    while parsed < len(lines) and (
        parsed == 0 or size + len(lines[parsed]) <= MAX_REPLY_PARSE_CHARS
    ):
        size += len(lines[parsed]) + 1
        parsed += 1
    shown, hidden = _hide_costly_lines(lines[:parsed])
    message = _parser.read(text="\n".join(shown))
    first = message.replies[0]
    latest = _OPAQUE.sub(lambda m: hidden[int(m[1])], first.body.strip()).strip()
    ended = len(message.replies) > 1 or bool(first.signatures) or bool(first.headers)
    if not ended and parsed < len(lines):
        latest = "\n".join([latest, *lines[parsed:]]).strip()
    return latest if latest else text


def _hide_costly_lines(lines: list[str]) -> tuple[list[str], list[str]]:
    """``(lines shown to the parser, hidden originals)``: see the module docstring."""
    shown: list[str] = []
    hidden: list[str] = []
    candidates = 0
    for i, line in enumerate(lines):
        opaque = len(line) > MAX_HEADER_LINE_CHARS
        if not opaque and line.lstrip("> ")[:2].lower() in _HEADER_WORDS:
            opaque = candidates >= MAX_HEADER_CANDIDATES or not _ends_like_header(
                lines[i : i + _HEADER_WINDOW]
            )
            candidates += not opaque
        if opaque:
            shown.append(f"\x00{len(hidden)}\x00")
            hidden.append(line)
        else:
            shown.append(line)
    return shown, hidden


def _ends_like_header(window: list[str]) -> bool:
    """True when ``window`` holds a line ending in ":" and, up to it, one or two header verbs.

    More verbs are never a header and are what makes a crafted line slow (the German pattern
    takes time in proportion to its "Am"s times its "schrieb"s times the line's length).
    """
    for end, line in enumerate(window, start=1):
        if line.endswith(":"):
            words = " ".join(window[:end]).lower()
            return 1 <= sum(words.count(verb) for verb in _HEADER_VERBS) <= 2
    return False
