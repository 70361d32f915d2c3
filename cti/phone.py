"""Caller numbers to E.164, so ``0532 123 45 67`` and ``+90 532 123 45 67`` are one person.

Asterisk hands us whatever the trunk sent: national format, international without ``+``
(``905321234567``), or junk (caller ID is attacker-controlled). We try the center's region
first, then the digits as an international number, and return None for anything that is not
a possible phone number.
"""

from __future__ import annotations

import phonenumbers


def to_e164(raw: str, default_region: str) -> str | None:
    digits = "".join(ch for ch in raw if ch.isdigit() or ch == "+")
    if not digits or len(digits) > 20:
        return None
    candidates = [(digits, default_region.upper() or None)]
    if not digits.startswith("+"):
        candidates.append(("+" + digits.lstrip("0"), None))
    possible: str | None = None
    for text, region in candidates:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(number):
            return formatted
        if possible is None and phonenumbers.is_possible_number(number):
            possible = formatted
    return possible
