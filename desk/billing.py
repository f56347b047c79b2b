"""Bill and payment identifiers (شناسه قبض و شناسه پرداخت): what lets a fee be paid through any bank channel.

The scheme is the national one used by every utility (docs/RULES.md, "Bill and payment identifiers"):

- bill ID = file number (up to 8 digits) + company code (3) + service type (1; 6 = municipality fees)
  + a check digit over all of that;
- payment ID = amount in thousands of rials (up to 8 digits) + the last digit of the Jalali year
  + the period (2 digits) + C1 (over the payment ID so far) + C2 (over the bill ID followed by the
  payment ID up to and including C1);
- each check digit weighs the digits right to left by 2, 3, 4, 5, 6, 7, 2, 3, ...; ``s = sum % 11`` and the
  digit is 0 when ``s < 2``, else ``11 - s``.

Amounts: a payment ID carries thousands of rials, so ``payment_id`` refuses an amount that is not a
multiple of 1,000 rials (``ValueError``) instead of rounding it. Rounding is the tariff's business: the
booklet states its rule and the citizen sees the rounded total in the breakdown before a bill is made, so a
bill can never ask for an amount other than the one shown (``catalog.tariffs`` rounds totals down to 1,000
rials by default).

What the check digits catch: a changed check digit always; a changed digit anywhere else unless the
weighted sum moves between 0 and 1 modulo 11 (both give check digit 0), a blind spot of the scheme itself.

Every function here is pure and takes ASCII digits; normalize what a citizen typed first
(``desk.persian.normalize_identifier``).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "MUNICIPALITY_SERVICE",
    "amount_of",
    "barcode",
    "bill_id",
    "check_digit",
    "is_valid_bill_id",
    "is_valid_pair",
    "payment_id",
]

MUNICIPALITY_SERVICE: Final = 6
"""Service type digit of municipality fees in a bill ID."""

_WEIGHTS: Final = (2, 3, 4, 5, 6, 7)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_ID_LENGTH = range(6, 14)  # both identifiers: 6 to 13 digits
_FILE_NUMBER_MAX: Final = 10**8 - 1
_AMOUNT_THOUSANDS_MAX: Final = 10**8 - 1


def _weighted_sum(digits: str) -> int:
    return sum(int(digit) * _WEIGHTS[i % len(_WEIGHTS)] for i, digit in enumerate(reversed(digits))) % 11


def check_digit(digits: str) -> int:
    """The mod-11 check digit of ``digits`` (ASCII): weights 2..7 from the right, 0 when the sum mod 11 is 0 or 1."""
    if not _DIGITS.fullmatch(digits):
        raise ValueError(f"expected ASCII digits, got {digits!r}")
    s = _weighted_sum(digits)
    return 0 if s < 2 else 11 - s


def bill_id(file_number: int, company_code: int, service_type: int = MUNICIPALITY_SERVICE) -> str:
    """The bill ID of a file (پرونده) of a company: file number, 3-digit company code, service type, check digit."""
    if not 0 < file_number <= _FILE_NUMBER_MAX:
        raise ValueError(f"file number must have 1 to 8 digits and not be 0, got {file_number}")
    if not 0 <= company_code <= 999:
        raise ValueError(f"company code must have at most 3 digits, got {company_code}")
    if not 0 <= service_type <= 9:
        raise ValueError(f"service type is one digit, got {service_type}")
    prefix = f"{file_number}{company_code:03d}{service_type}"
    return prefix + str(check_digit(prefix))


def payment_id(amount_rials: int, year: int, period: int, bill_id: str) -> str:
    """The payment ID that asks ``amount_rials`` for ``bill_id`` in ``period`` of the Jalali ``year``.

    ``amount_rials`` must be a positive multiple of 1,000 below 100 billion rials (the ID carries at most
    8 digits of thousands); ``year`` is the full Jalali year (1405; only its last digit is written);
    ``period`` is 0 to 99 (e.g. the month, or the instalment). Raises ``ValueError`` otherwise, and for an
    invalid ``bill_id``.
    """
    if amount_rials <= 0 or amount_rials % 1000:
        raise ValueError(f"amount must be a positive multiple of 1000 rials, got {amount_rials}")
    thousands = amount_rials // 1000
    if thousands > _AMOUNT_THOUSANDS_MAX:
        raise ValueError(f"amount is too large for a payment ID: {amount_rials} rials")
    if year < 0:
        raise ValueError(f"year must not be negative, got {year}")
    if not 0 <= period <= 99:
        raise ValueError(f"period has two digits, got {period}")
    if not is_valid_bill_id(bill_id):
        raise ValueError(f"not a valid bill ID: {bill_id!r}")
    prefix = f"{thousands}{year % 10}{period:02d}"
    with_c1 = prefix + str(check_digit(prefix))
    return with_c1 + str(check_digit(bill_id + with_c1))


def _is_id(value: str) -> bool:
    return bool(_DIGITS.fullmatch(value)) and len(value) in _ID_LENGTH


def is_valid_bill_id(bill_id: str) -> bool:
    """Whether ``bill_id`` is 6 to 13 ASCII digits whose last one is the check digit of the rest."""
    return _is_id(bill_id) and check_digit(bill_id[:-1]) == int(bill_id[-1])


def is_valid_pair(bill_id: str, payment_id: str) -> bool:
    """Whether ``bill_id`` is valid and ``payment_id`` (6 to 13 digits) carries correct C1 and C2 for it."""
    if not is_valid_bill_id(bill_id) or not _is_id(payment_id):
        return False
    c1_ok = check_digit(payment_id[:-2]) == int(payment_id[-2])
    return c1_ok and check_digit(bill_id + payment_id[:-1]) == int(payment_id[-1])


def amount_of(payment_id: str) -> int:
    """The amount in rials that ``payment_id`` asks for (its leading digits are thousands of rials).

    Reads the digits only; check the pair with ``is_valid_pair`` before trusting the amount.
    """
    if not _is_id(payment_id):
        raise ValueError(f"a payment ID has 6 to 13 ASCII digits, got {payment_id!r}")
    return int(payment_id[:-5]) * 1000


def barcode(bill_id: str, payment_id: str) -> str:
    """The 26-digit barcode text of a bill: bill ID and payment ID, each left-padded with zeros to 13 digits."""
    if not is_valid_pair(bill_id, payment_id):
        raise ValueError("bill ID and payment ID do not match")
    return bill_id.zfill(13) + payment_id.zfill(13)
