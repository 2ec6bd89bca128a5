"""The kinds of personal data cxstream redacts from text, and their placeholders.

Imports nothing of the package, so ``pipeline.settings`` can validate ``CXSTREAM_REDACT`` with it.
"""

from __future__ import annotations

from enum import StrEnum


class PiiType(StrEnum):
    """A kind of personal data found in text; its value is the key in ``redactions``."""

    EMAIL = "email"
    IBAN = "iban"
    CARD = "card"
    ACCOUNT = "account"
    PHONE = "phone"

    @property
    def placeholder(self) -> str:
        """What replaces a found value in the text, e.g. ``[EMAIL]``."""
        return f"[{self.value.upper()}]"


ORDER = (PiiType.EMAIL, PiiType.IBAN, PiiType.CARD, PiiType.ACCOUNT, PiiType.PHONE)
"""The order types are searched in: the most specific first, so the phone matcher never sees
the digits of a card, an IBAN or an account number (it would take some of them for a phone)."""


def parse_types(value: str) -> frozenset[PiiType]:
    """``"email,phone"`` → the types; ``""`` or ``"none"`` → none. ``ValueError`` names unknowns."""
    names = {n.strip().lower() for n in value.split(",") if n.strip()}
    if names <= {"none"}:
        return frozenset()
    known = [t.value for t in ORDER]
    unknown = sorted(names - set(known))
    if unknown:
        raise ValueError(
            f"unknown redaction types {', '.join(unknown)}: choose from {', '.join(known)} "
            "(comma-separated), or none"
        )
    return frozenset(PiiType(n) for n in names)
