"""Phone numbers in any human format → E.164, with the phonenumbers library."""

from __future__ import annotations

import phonenumbers


def to_e164(raw: str, default_region: str) -> str | None:
    """E.164 form of ``raw`` (e.g. ``+442079460958``), or None when it is not a valid number.

    Numbers without a country code are read in ``default_region``; a leading ``00`` (the
    international prefix in most of the world) is tried as ``+`` when the region reading fails.
    """
    candidates = [(raw, default_region)]
    stripped = raw.strip()
    if stripped.startswith("00"):
        candidates.append(("+" + stripped[2:], default_region))
    for text, region in candidates:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return None
