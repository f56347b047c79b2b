"""Tracking codes (کد رهگیری): numeric, random from a CSPRNG, with a Damm check digit.

Shape: 12 digits = 11 random digits + 1 Damm check digit, shown as '۱۲۳۴-۵۶۷۸-۹۰۱۲'.
The first digit is drawn from 1..8, so a code never starts with 0 (which spreadsheets and number
fields drop) or 9 (a 12-digit run starting '989' reads as a mobile number with the 98 prefix), and
no code can be taken for a 10-digit national ID or an 11-digit '09..' mobile number: the log
redaction in ``desk.privacy`` leaves codes readable and a citizen's code is never mistaken for an ID.

Why Damm: its quasigroup table detects every single-digit error and every swap of two adjacent
digits (the two mistakes people make when copying a number), with one check digit and no
exceptional '10' value; ``tests/desk/test_tracking.py`` checks both properties exhaustively.

Collisions: there are N = 8 x 10^10 codes. Falavarjan County has about 250,000 people; even at
100,000 requests a year, ten years make n = 10^6 codes. The chance that a new code hits an existing
one is n/N = 1.25 x 10^-5, and the birthday bound for any clash over the ten years is about
n^2 / 2N = 6 clashes in total. So a clash is rare but not impossible: the store keeps a unique
constraint on the code and draws a new one when an insert clashes (a retry or two, ever).
Guessing: a random well-formed guess finds some request with probability n/N = 1.25 x 10^-5, and
look-ups are throttled, so codes cannot be enumerated; a code still shows only what the citizen
who owns the request may see.
"""

from __future__ import annotations

import re
import secrets
from typing import Final

from desk.errors import ValidationError
from desk.persian import ltr, normalize, normalize_identifier, to_persian_digits

__all__ = [
    "TRACKING_CODE_LENGTH",
    "damm_check_digit",
    "format_tracking_code",
    "is_well_formed",
    "new_tracking_code",
    "normalize_tracking_code",
    "tracking_code_readings",
]

TRACKING_CODE_LENGTH: Final = 12
"""Digits in a tracking code, the check digit included."""

_DAMM_TABLE: Final = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
_CODE: Final = re.compile(rf"\d{{{TRACKING_CODE_LENGTH}}}", re.ASCII)
_GROUP: Final = 4
_NOT_DIGITS: Final = re.compile(r"\D+", re.ASCII)
_EXAMPLE: Final = "123456789018"


def _damm(digits: str) -> int:
    interim = 0
    for c in digits:
        interim = _DAMM_TABLE[interim][int(c)]
    return interim


def damm_check_digit(payload: str) -> str:
    """The Damm check digit of a string of ASCII digits; appending it makes the whole string check to 0."""
    if not payload.isascii() or not payload.isdigit():
        raise ValueError("payload must be ASCII digits")
    return str(_damm(payload))


def new_tracking_code() -> str:
    """A fresh random tracking code of ``TRACKING_CODE_LENGTH`` ASCII digits (store it; show it formatted)."""
    first = str(1 + secrets.randbelow(8))
    rest = str(secrets.randbelow(10 ** (TRACKING_CODE_LENGTH - 2))).zfill(TRACKING_CODE_LENGTH - 2)
    payload = first + rest
    return payload + damm_check_digit(payload)


class _Example:
    """A well-formed code shown in the reader's digits, isolated (a ``desk.errors.Shown`` message parameter)."""

    def shown(self, lang: str) -> str:
        return format_tracking_code(_EXAMPLE, lang)


def _typed_groups(text: str) -> list[str] | None:
    """The groups of four a person typed apart ('9259-7424-8164', '۹۲۵۹ ۷۴۲۴ ۸۱۶۴'), or None for other shapes."""
    groups = [part for part in _NOT_DIGITS.split(normalize(text)) if part]
    if len(groups) == TRACKING_CODE_LENGTH // _GROUP and all(len(group) == _GROUP for group in groups):
        return groups
    return None


def tracking_code_readings(text: str) -> tuple[str, ...]:
    """Every tracking code ``text`` can be read as, as ASCII digits, the code as typed first; at least one.

    Persian/Arabic digits, spaces and dashes are accepted. A code typed back in groups as an app drew them in
    reverse ('۹۲۵۹-۷۴۲۴-۸۱۶۴' for '۸۱۶۴-۷۴۲۴-۹۲۵۹', what a right-to-left message without isolates shows) is read
    both ways when both pass the check digit (1 code in 10), else the way that passes. Twelve digits typed
    without a break are never reordered, so every single typo or swap in them is still caught.

    Raises ``ValidationError`` with ``desk.tracking.format`` for anything but 12 digits and
    ``desk.tracking.check_digit`` when no reading passes the check digit, before any database look-up.
    """
    code = normalize_identifier(text)
    if not _CODE.fullmatch(code):
        raise ValidationError("desk.tracking.format", length=TRACKING_CODE_LENGTH, example=_Example())
    groups = _typed_groups(text)
    candidates = [code] if groups is None else [code, "".join(reversed(groups))]
    readings = tuple(candidate for candidate in dict.fromkeys(candidates) if _damm(candidate) == 0)
    if not readings:
        raise ValidationError("desk.tracking.check_digit")
    return readings


def normalize_tracking_code(text: str) -> str:
    """The tracking code in ``text`` as ASCII digits: its first reading (``tracking_code_readings``).

    One string gives one code, so a look-up by it costs one guess (``desk.guessing``). Raises ``ValidationError``
    (``desk.tracking.format``, ``desk.tracking.check_digit``) for a malformed or mistyped code.
    """
    return tracking_code_readings(text)[0]


def is_well_formed(text: str) -> bool:
    """Whether ``text`` is a tracking code with a right check digit (after normalizing digits, spaces, dashes)."""
    try:
        normalize_tracking_code(text)
    except ValidationError:
        return False
    return True


def format_tracking_code(code: str, lang: str = "fa") -> str:
    """A code as every person reads it, everywhere: '۱۲۳۴-۵۶۷۸-۹۰۱۲' in Persian and '1234-5678-9012' in English.

    Grouped by four with dashes, in the reader's digits, and isolated left-to-right (``desk.persian.ltr``): in a
    Persian line the dashes alone would take the line's direction and draw the groups in reverse. Where copying
    matters (the message after filing) the plain code is sent alone as well; a copied grouped code is accepted
    as typed (``normalize_tracking_code``).
    """
    digits = normalize_identifier(code)
    grouped = "-".join(digits[i : i + _GROUP] for i in range(0, len(digits), _GROUP))
    return ltr(grouped if lang == "en" else to_persian_digits(grouped))
