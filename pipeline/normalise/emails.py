"""Email addresses and bodies: address parsing/case-folding, quoted-reply and signature removal."""

from __future__ import annotations

from email.utils import parseaddr

from mailparser_reply import EmailReplyParser

_REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl"]
_parser = EmailReplyParser(languages=_REPLY_LANGUAGES)


def normalise_address(raw: str) -> tuple[str | None, str | None]:
    """``(address, display name)`` from ``"Name <addr@host>"`` or a bare address.

    The address is case-folded (``+tag`` kept); None when there is no ``local@domain``.
    """
    name, addr = parseaddr(raw)
    addr = addr.strip()
    local, _, domain = addr.rpartition("@")
    if not local or not domain or "." not in domain or " " in addr:
        return None, name or None
    return addr.casefold(), name or None


def latest_reply(body: str) -> str:
    """The newest part of an email body: quoted replies, reply headers and signatures removed."""
    if not body.strip():
        return ""
    replies = _parser.read(text=body).replies
    if not replies:
        return body
    latest = replies[0].body.strip()
    return latest if latest else body.strip()
