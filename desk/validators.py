"""Validators for what citizens type: each returns the normalized value or raises ``ValidationError``.

Every error key (``desk.<kind>.<problem>``) has a Persian and an English text that says what is wrong
and shows the expected form, so a citizen can fix the input on the next try. Checksums follow
docs/RULES.md ("Identifiers"). ``validate_field`` is the one entry point for the catalog's typed form fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final, TypeAlias

from desk.errors import ValidationError
from desk.persian import (
    TEHRAN,
    ZWNJ,
    add_jalali_years,
    normalize,
    normalize_identifier,
    parse_jalali_date,
)
from desk.tracking import normalize_tracking_code

__all__ = [
    "BUTTON_FIELD_KINDS",
    "LONG_TEXT_MAX",
    "NUMBER_MAX",
    "TEXT_MAX",
    "TYPED_FIELD_KINDS",
    "Coordinates",
    "DateRule",
    "DateWhen",
    "FieldValue",
    "coordinates",
    "jalali_date",
    "legal_id",
    "long_text",
    "mobile",
    "national_id",
    "number",
    "postal_code",
    "sheba",
    "stored_answer",
    "text",
    "validate_field",
]

TEXT_MAX: Final = 200
"""Longest short text answer (a name, a street), in characters after normalizing."""
LONG_TEXT_MAX: Final = 2000
"""Longest long text answer (a description, a complaint), in characters after normalizing."""
NUMBER_MAX: Final = 10**15
"""Largest accepted number: far above any fee in rials or area in square metres, and fits a BIGINT."""

TYPED_FIELD_KINDS: Final = frozenset(
    {
        "text",
        "long_text",
        "number",
        "national_id",
        "legal_id",
        "mobile",
        "postal_code",
        "date",
        "tracking_code",
    }
)
"""Form field kinds whose answer the citizen types, checked by ``validate_field``."""
BUTTON_FIELD_KINDS: Final = frozenset({"choice", "yes_no", "location"})
"""Form field kinds answered with a button or a shared location, never by typing."""

FieldValue: TypeAlias = str | int | date
"""What a typed form field holds once validated: text, a whole number, or a date."""

_DIGITS = re.compile(r"\d+", re.ASCII)
_MOBILE = re.compile(r"(?:\+98|0098|98|0)?(9\d{9})", re.ASCII)
_POSTAL_CODE = re.compile(r"(?!(\d)\1{3})[13-9]{4}[1346-9][013-9]{5}", re.ASCII)
_SHEBA = re.compile(r"IR\d{24}", re.ASCII)
# Thousands separators people type: ASCII comma, Persian '٬', Arabic comma, apostrophe; spaces and ZWNJ.
# The Persian decimal separator '٫' is not one of them: a fraction is refused, not misread.
_NUMBER_SEPARATORS = re.compile(f"[,٬،'\\s{ZWNJ}]")
_MINUS = re.compile("[-\u2212\u2010-\u2015]")
_LEGAL_ID_WEIGHTS = (29, 27, 23, 19, 17)


def national_id(raw: str) -> str:
    """A national ID (کد ملی): 10 digits (8 or 9 are left-padded with zeros), not all the same, valid checksum."""
    value = normalize_identifier(raw)
    if not _DIGITS.fullmatch(value) or not 8 <= len(value) <= 10:
        raise ValidationError("desk.national_id.format")
    value = value.zfill(10)
    if len(set(value)) == 1:
        raise ValidationError("desk.national_id.invalid")
    digits = [int(c) for c in value]
    s = sum(d * (10 - i) for i, d in enumerate(digits[:9])) % 11
    expected = s if s < 2 else 11 - s
    if digits[9] != expected:
        raise ValidationError("desk.national_id.invalid")
    return value


def legal_id(raw: str) -> str:
    """A legal entity's national ID (شناسه ملی): 11 digits with its checksum."""
    value = normalize_identifier(raw)
    if not _DIGITS.fullmatch(value) or len(value) != 11:
        raise ValidationError("desk.legal_id.format")
    digits = [int(c) for c in value]
    # Digits 4..9 are the registration number, which is never zero.
    if not any(digits[3:9]):
        raise ValidationError("desk.legal_id.invalid")
    k = digits[9] + 2
    s = sum((k + d) * _LEGAL_ID_WEIGHTS[i % 5] for i, d in enumerate(digits[:10])) % 11
    if s == 10:
        s = 0
    if s != digits[10]:
        raise ValidationError("desk.legal_id.invalid")
    return value


def mobile(raw: str) -> str:
    """An Iranian mobile number typed with +98, 98, 0098, 0 or no prefix; returned as '09xxxxxxxxx'."""
    value = normalize_identifier(raw).replace("(", "").replace(")", "")
    match = _MOBILE.fullmatch(value)
    if match is None:
        raise ValidationError("desk.mobile.format")
    return "0" + match.group(1)


def postal_code(raw: str) -> str:
    """A postal code (کد پستی): 10 digits, checked with the common heuristic (there is no checksum)."""
    value = normalize_identifier(raw)
    if not _DIGITS.fullmatch(value) or len(value) != 10:
        raise ValidationError("desk.postal_code.format")
    if not _POSTAL_CODE.fullmatch(value):
        raise ValidationError("desk.postal_code.invalid")
    return value


def sheba(raw: str) -> str:
    """A Sheba (IBAN) number: 'IR' and 24 digits (the 'IR' may be left out), mod 97 == 1; returned with 'IR'."""
    value = normalize_identifier(raw).upper()
    if _DIGITS.fullmatch(value) and len(value) == 24:
        value = "IR" + value
    if not _SHEBA.fullmatch(value):
        raise ValidationError("desk.sheba.format")
    rearranged = value[4:] + "1827" + value[2:4]
    if int(rearranged) % 97 != 1:
        raise ValidationError("desk.sheba.invalid")
    return value


_UNITS: Final = frozenset(
    {"متر", "مترمربع", "م", "م2", "مربع", "طبقه", "عدد", "درخت", "اصله", "نفر", "واحد", "ریال",
     "m", "m2", "sqm", "meter", "meters", "metre", "metres", "squaremeters", "squaremetres",
     "floor", "floors", "tree", "trees", "rial", "rials"}
)  # fmt: skip
"""Words a person may type after a number ('۲۵۰ متر', '3 floors'): the units the catalog's questions ask in."""

_TOMAN: Final = frozenset({"تومان", "تومن", "toman", "tomans"})
"""A tenth of the rial amounts Miz asks for: refused with a word on rials, never silently multiplied."""

_NUMBER_WITH_UNIT = re.compile(r"(?P<number>.*\d)\s*(?P<unit>[^\d]+2?)")


def number(raw: str) -> int:
    """A whole non-negative number, with any digits and thousands separators ('۱٬۲۵۰٬۰۰۰', '1,250,000').

    A unit typed after it ('۲۵۰ متر', '۲۵۰ مترمربع', '250 m²', '۳ طبقه') is dropped; an amount in tomans is
    refused with a request for rials.
    """
    value = normalize(raw)
    if with_unit := _NUMBER_WITH_UNIT.fullmatch(value):
        unit = _NUMBER_SEPARATORS.sub("", with_unit["unit"]).lower()
        if unit in _TOMAN:
            raise ValidationError("desk.number.toman")
        if unit in _UNITS:
            value = with_unit["number"]
    value = _NUMBER_SEPARATORS.sub("", value)
    if _MINUS.match(value) and _DIGITS.fullmatch(value[1:]):
        raise ValidationError("desk.number.negative")
    if not _DIGITS.fullmatch(value):
        raise ValidationError("desk.number.format")
    result = int(value)
    if result > NUMBER_MAX:
        raise ValidationError("desk.number.too_large")
    return result


@dataclass(frozen=True, slots=True)
class Coordinates:
    """A point on the map: latitude and longitude in degrees."""

    latitude: float
    longitude: float


_COORDINATE = r"(-?\d{1,3}(?:\.\d+)?)"
_COORDINATE_PAIRS: Final = (
    # Map links: Google (@lat,lon / q=lat,lon / ll=), OpenStreetMap (mlat=…&mlon=…), Balad and Neshan
    # (latitude=…&longitude=…), geo: URIs; then two numbers typed by hand ('32.555, 51.510').
    re.compile(
        rf"(?:latitude|lat|mlat)=\s*{_COORDINATE}.*?(?:longitude|lng|lon|mlon)=\s*{_COORDINATE}", re.I
    ),
    re.compile(rf"(?:[@/=:]|^){_COORDINATE},\s*{_COORDINATE}(?:[,/&?z]|$)"),
    re.compile(rf"^{_COORDINATE}\s*[,\s]\s*{_COORDINATE}$"),
)
_IRAN_LATITUDES: Final = (24.0, 40.5)
_IRAN_LONGITUDES: Final = (43.5, 63.5)


def coordinates(raw: str) -> Coordinates:
    """A point typed as two numbers ('۳۲٫۵۵۵، ۵۱٫۵۱۰') or pasted as a map link that carries it (Google Maps,
    OpenStreetMap, Balad, Neshan, ``geo:``), for a citizen whose messenger cannot share a location (a desktop).

    Persian digits and the Persian decimal separator are read; a pair given longitude first is put in order,
    since in Iran the two never overlap; a point outside Iran is refused, as is a short link without numbers.
    """
    value = normalize(raw).replace("٫", ".").replace("،", ",")
    for pattern in _COORDINATE_PAIRS:
        if found := pattern.search(value):
            first, second = float(found[1]), float(found[2])
            for latitude, longitude in ((first, second), (second, first)):
                if _IRAN_LATITUDES[0] <= latitude <= _IRAN_LATITUDES[1] and (
                    _IRAN_LONGITUDES[0] <= longitude <= _IRAN_LONGITUDES[1]
                ):
                    return Coordinates(latitude=latitude, longitude=longitude)
            raise ValidationError("desk.location.outside_iran")
    raise ValidationError("desk.location.format")


def jalali_date(raw: str, today: date | None = None) -> date:
    """A Jalali date (1405/09/06, ۱۴۰۵-۹-۶, 1405.9.6) as a Gregorian ``date``; see ``parse_jalali_date``."""
    return parse_jalali_date(raw, today)


class DateWhen(StrEnum):
    """On which side of today (in Tehran) a date answer may fall; today itself is on both sides."""

    ANY = "any"
    PAST = "past"
    """Today or earlier: a birth date, the day of an incident, the date of a letter or a permit."""
    FUTURE = "future"
    """Today or later: a preferred day for a visit or a pickup, the start of works."""


@dataclass(frozen=True, slots=True)
class DateRule:
    """Which dates a date field accepts, besides the calendar window of ``parse_jalali_date``.

    ``when`` picks the side of today; ``within_years`` (when set) refuses dates more than that many Jalali
    years from today, so a birth date or an appointment with a mistyped year is caught at once.
    """

    when: DateWhen = DateWhen.ANY
    within_years: int | None = None

    def check(self, value: date, today: date) -> date:
        """``value`` when the rule allows it on ``today``; else ``ValidationError`` naming the nearest allowed day."""
        if self.when is DateWhen.PAST and value > today:
            raise ValidationError("desk.date.after_today", today=today)
        if self.when is DateWhen.FUTURE and value < today:
            raise ValidationError("desk.date.before_today", today=today)
        if self.within_years is not None:
            earliest = add_jalali_years(today, -self.within_years)
            latest = add_jalali_years(today, self.within_years)
            if value < earliest:
                raise ValidationError("desk.date.too_long_ago", earliest=earliest)
            if value > latest:
                raise ValidationError("desk.date.too_far_ahead", latest=latest)
        return value


def _text(raw: str, limit: int, *, multiline: bool) -> str:
    value = normalize(raw, multiline=multiline)
    if not value:
        raise ValidationError("desk.text.empty")
    if len(value) > limit:
        raise ValidationError("desk.text.too_long", limit=limit, length=len(value))
    return value


def text(raw: str) -> str:
    """A short text answer: normalized on one line, not empty, at most ``TEXT_MAX`` characters."""
    return _text(raw, TEXT_MAX, multiline=False)


def long_text(raw: str) -> str:
    """A long text answer: normalized with its line breaks kept, not empty, at most ``LONG_TEXT_MAX`` characters."""
    return _text(raw, LONG_TEXT_MAX, multiline=True)


def validate_field(
    kind: str, raw: str, *, date_rule: DateRule | None = None, today: date | None = None
) -> FieldValue:
    """Check a typed answer to a form field of ``kind`` (a catalog field type) and return its normalized value.

    A date is also held to ``date_rule`` (the field's ``when`` and ``within_years``) on ``today``, by
    default today in Tehran. Raises ``ValidationError`` for a bad answer, and ``desk.field.use_buttons``
    when the field is answered with buttons (choice, yes_no, location) but the citizen typed instead.
    ``ValueError`` for a kind the catalog does not know is a bug, not the citizen's mistake.
    """
    match kind:
        case "text":
            return text(raw)
        case "long_text":
            return long_text(raw)
        case "number":
            return number(raw)
        case "national_id":
            return national_id(raw)
        case "legal_id":
            return legal_id(raw)
        case "mobile":
            return mobile(raw)
        case "postal_code":
            return postal_code(raw)
        case "date":
            rule, day = date_rule or DateRule(), today or datetime.now(TEHRAN).date()
            return rule.check(jalali_date(raw, day), day)
        case "tracking_code":
            return normalize_tracking_code(raw)
        case _ if kind in BUTTON_FIELD_KINDS:
            raise ValidationError("desk.field.use_buttons")
        case _:
            raise ValueError(f"unknown form field kind: {kind!r}")


_TYPED_STORED: Final = frozenset(
    {"text", "long_text", "number", "national_id", "legal_id", "mobile", "postal_code"}
)
"""The typed kinds whose stored answer is what :func:`validate_field` makes of the typed text."""


def stored_answer(question: Mapping[str, Any], value: Any) -> Any:
    """``value`` as an answer to ``question`` (a form field of a service snapshot) may be stored: what the form
    could have made of the citizen's input, checked again in ``desk`` because a modified client can press a
    button the question never offered or carry any value in a forged one.

    A typed kind is validated (and normalized) again; a choice must be one of its choices, a yes/no a boolean,
    a location a point on Earth, a date an ISO date, a tracking code well formed. Returns the value to store;
    raises ``ValidationError`` (``desk.field.use_buttons`` for a value no button gives) otherwise.
    """
    kind = str(question.get("type") or "text")
    if kind in _TYPED_STORED:
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ValidationError("desk.field.use_buttons")
        return validate_field(kind, str(value))
    if kind == "choice":
        if value not in {choice.get("id") for choice in question.get("choices") or ()}:
            raise ValidationError("desk.field.use_buttons")
        return value
    if kind == "yes_no":
        if not isinstance(value, bool):
            raise ValidationError("desk.field.use_buttons")
        return value
    if kind == "location":
        if not isinstance(value, dict) or not all(
            isinstance(value.get(axis), int | float)
            and not isinstance(value.get(axis), bool)
            and -limit <= value[axis] <= limit
            for axis, limit in (("latitude", 90), ("longitude", 180))
        ):
            raise ValidationError("desk.field.use_buttons")
        return {"latitude": float(value["latitude"]), "longitude": float(value["longitude"])}
    if kind == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValidationError("desk.field.use_buttons") from None
    if kind == "tracking_code":
        return normalize_tracking_code(str(value))
    raise ValueError(f"unknown form field kind: {kind!r}")
