"""Persian text in and out: normalizing what citizens type, Persian digits, and Jalali dates.

Citizens type with Persian, Arabic-Indic or Latin digits, with Arabic or Persian letters, and their
keyboards add invisible marks. Every input is normalized here before it is validated or searched
(docs/RULES.md, "Persian input"); ``re`` patterns that follow use ``re.ASCII`` because ``\\d`` would also
match Persian digits. Output for citizens uses Persian digits and Jalali dates in Asia/Tehran time;
month names and date patterns come from ``locales/`` (``desk.month.<n>``, ``desk.date.pattern``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from persiantools.jdatetime import JalaliDate

from desk.errors import ValidationError
from desk.i18n import translator

__all__ = [
    "JALALI_FIRST_DAY",
    "JALALI_LAST_DAY",
    "LRI",
    "LRM",
    "NAME_MAX",
    "PDI",
    "TEHRAN",
    "ZWNJ",
    "TypedDate",
    "add_jalali_years",
    "display_name",
    "for_sms",
    "format_decimal",
    "format_identifier",
    "format_jalali_date",
    "format_jalali_datetime",
    "format_jalali_typed",
    "format_number",
    "label_for",
    "ltr",
    "normalize",
    "normalize_identifier",
    "parse_jalali_date",
    "persian_digits_in_words",
    "search_key",
    "tehran_today",
    "to_persian_digits",
    "visible",
]

TEHRAN = ZoneInfo("Asia/Tehran")
"""The county's time zone: every date or time shown to a person is in it."""

ZWNJ = "\u200c"
"""Zero-width non-joiner (نیم‌فاصله): part of Persian spelling, so it is kept (once) by ``normalize``."""

LRI = "\u2066"
"""Left-to-right isolate: starts a run that is laid out left to right whatever surrounds it (ended by ``PDI``)."""
PDI = "\u2069"
"""Pop directional isolate: ends the run ``LRI`` started."""
LRM = "\u200e"
"""Left-to-right mark: a strong left-to-right character that shows nothing (what SMS carry instead of isolates)."""

NAME_MAX = 128
"""Longest name kept from a messenger profile (what the name columns hold; Telegram allows 64 per name)."""

_PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
_ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"

_TO_ASCII = str.maketrans(
    {
        **{c: str(i) for i, c in enumerate(_PERSIAN_DIGITS)},
        **{c: str(i) for i, c in enumerate(_ARABIC_DIGITS)},
        "ي": "ی",
        "ى": "ی",
        "ك": "ک",
    }
)
_TO_PERSIAN_DIGITS = str.maketrans(
    {
        **{str(i): c for i, c in enumerate(_PERSIAN_DIGITS)},
        **dict(zip(_ARABIC_DIGITS, _PERSIAN_DIGITS, strict=True)),
    }
)

# Characters that show nothing but can disguise text: every Unicode format character except ZWNJ (zero-width
# space and joiner, LRM/RLM and the Arabic letter mark, the bidi embeddings, overrides such as U+202E and isolates,
# the word joiner U+2060 and the invisible operators, BOM, soft hyphen, tags), control characters other than
# whitespace, the grapheme joiner, and the Hangul fillers that make a name look blank.
_HIDDEN = re.compile(
    "[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2"
    "\u115f\u1160\u180e\u200b\u200d-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0"
    "\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f]"
)
# Tatweel and harakat (fathatan .. sukun): they change nothing a person meant either.
_MARKS = re.compile("[\u0640\u064b-\u0652]")
_ZWNJ_RUN = re.compile(f"{ZWNJ}{{2,}}")
# A ZWNJ at a word's edge (next to a space or the text's ends) joins nothing.
_ZWNJ_AT_EDGE = re.compile(rf"(?:^|(?<=\s)){ZWNJ}|{ZWNJ}(?=\s|$)")
_SPACES = re.compile(r"\s+")
_INLINE_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_DASHES = re.compile("[-\u2010-\u2015\u2212\ufe63\uff0d]")

# Letters that people type interchangeably when searching: alef forms, teh marbuta, heh with
# yeh/hamza, waw with hamza, and the hamza that marks the ezafe.
_SEARCH_FOLD = str.maketrans({"آ": "ا", "أ": "ا", "إ": "ا", "ٱ": "ا", "ة": "ه", "ۀ": "ه", "ؤ": "و", "ئ": "ی"})
_SEARCH_DROP = re.compile(f"[\\s{ZWNJ}\u0654\u0655\u0670]+")


def normalize(text: str, *, multiline: bool = False) -> str:
    """Normalize what a person typed: NFKC, Persian yeh/kaf, ASCII digits, no invisible marks, tidy spaces.

    Repeated ZWNJ collapses to one (and a ZWNJ next to a space is dropped); whitespace collapses to
    single spaces and the ends are trimmed. With ``multiline`` (long texts) line breaks are kept,
    each line is trimmed, and more than one blank line in a row becomes one.
    """
    return _tidy(unicodedata.normalize("NFKC", text).translate(_TO_ASCII), multiline=multiline)


def _tidy(text: str, *, multiline: bool) -> str:
    text = _MARKS.sub("", _HIDDEN.sub("", text))
    text = _ZWNJ_RUN.sub(ZWNJ, text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if multiline:
        lines = [_INLINE_SPACES.sub(" ", line).strip() for line in text.split("\n")]
        text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
    else:
        text = _SPACES.sub(" ", text).strip()
    return _ZWNJ_AT_EDGE.sub("", text)


def display_name(raw: str | None) -> str | None:
    """A first or last name from a messenger profile, fit to show others; None when nothing visible is left.

    Like ``normalize`` (NFKC, no bidi controls or invisible marks, ZWNJ kept where it joins, one line) but the
    letters and digits stay as written, and at most ``NAME_MAX`` characters are kept.
    """
    value = _tidy(unicodedata.normalize("NFKC", raw or ""), multiline=False)[:NAME_MAX]
    return _ZWNJ_AT_EDGE.sub("", value.rstrip()) or None


def visible(text: str) -> str:
    """``text`` without the characters that show nothing but can disguise it (bidi overrides, zero-width marks
    other than ZWNJ), otherwise as written: for what was stored as typed (a note, a message) when shown to others."""
    return _HIDDEN.sub("", text)


def normalize_identifier(text: str) -> str:
    """Normalize an identifier (code, number, phone): like ``normalize``, and also without spaces, ZWNJ or dashes."""
    text = normalize(text)
    return _DASHES.sub("", _SPACES.sub("", text.replace(ZWNJ, "")))


def search_key(text: str) -> str:
    """A key for matching typed names: normalized, case-folded, alef/heh/hamza forms folded, no spaces or ZWNJ.

    "خدمات  شهری", "خدمات‌شهري" and "خدماتشهری" get the same key, so a citizen finds a service
    however their keyboard spelled it.
    """
    text = normalize(text).casefold().translate(_SEARCH_FOLD)
    return _SEARCH_DROP.sub("", text)


_ENDS_A_LABEL = ("?", "؟", ":", "：")


def label_for(label: str) -> str:
    """A label that a value follows on the same line: with a colon, unless it already ends a question or has one
    ("مساحت زمین:" but "آیا نام شما پنهان بماند؟" as it is), so no line reads "…بماند؟: بله"."""
    stripped = label.rstrip()
    return stripped if stripped.endswith(_ENDS_A_LABEL) else f"{stripped}:"


def to_persian_digits(value: str | int) -> str:
    """``value`` with its ASCII and Arabic-Indic digits written as Persian digits; other characters unchanged."""
    return str(value).translate(_TO_PERSIAN_DIGITS)


_LATIN_WORD = re.compile(r"[A-Za-z@/]")
_WORD = re.compile(r"\S+")


def persian_digits_in_words(text: str) -> str:
    """A person's Persian text with Persian digits again ('پلاک 12' → 'پلاک ۱۲'): what they typed is stored
    normalized to ASCII digits (``normalize``), and a Persian reader sees it back as written. A word with a Latin
    letter, '@' or '/' keeps its digits, so an e-mail address, a link or 'B2' reads as typed."""
    return _WORD.sub(
        lambda word: word[0] if _LATIN_WORD.search(word[0]) else to_persian_digits(word[0]), text
    )


def format_number(n: int, lang: str = "fa") -> str:
    """An integer for people: in Persian with Persian digits and the separator '٬' (۱٬۲۵۰٬۰۰۰), in English 1,250,000.

    Not isolated (``ltr``): an amount is drawn in order in any line. Persian digits and '٬' are all "Arabic
    number" characters under the Unicode bidi rules, and Latin digits with ',' one number, whatever the words
    around them (``tests/e2e/test_codes_read_as_typed.py`` shows it in a browser).
    """
    grouped = f"{n:,}"
    if lang == "en":
        return grouped
    return to_persian_digits(grouped.replace(",", "٬"))


def format_decimal(value: Decimal, lang: str = "fa", *, places: int = 2, grouped: bool = True) -> str:
    """A figure for people: rounded half up to at most ``places`` decimals, without trailing zeros.

    In Persian with Persian digits, the separator '٬' and the decimal mark '٫' (۱۲٬۵۰۰٫۷۵), in English
    12,500.75. ``grouped=False`` leaves out the thousands separator (a year: ۱۴۰۵).
    """
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded.is_zero():
        rounded = abs(rounded)  # never "-0"
    text = f"{rounded:,.{places}f}" if grouped else f"{rounded:.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if lang == "en":
        return text
    return to_persian_digits(text.replace(",", "٬").replace(".", "٫"))


def _isolated_unless_digits(text: str) -> str:
    """``text`` isolated (``ltr``) when it has a separator, sign, star or dash, so the words beside it cannot
    reorder its parts; a run of digits alone is drawn in order whatever surrounds it, and stays as it is."""
    return text if not text or text.isdigit() else ltr(text)


def _localize_digits(text: str, lang: str) -> str:
    return text if lang == "en" else to_persian_digits(text)


def ltr(text: str) -> str:
    """``text`` isolated as one left-to-right run, so it reads in a right-to-left message as it is typed.

    Why: in a Persian line every digit after a Persian letter counts as an "Arabic number" under the Unicode
    bidi algorithm, and the dashes, stars and '#' between them take the line's right-to-left direction, so a
    code's groups are drawn in reverse ('۸۱۶۴-۷۴۲۴-۹۲۵۹' as '۹۲۵۹-۷۴۲۴-۸۱۶۴', '*780#' as '#780*',
    '۰۴۹****۸۹۹' as '۸۹۹****۰۴۹'). Between LRI and PDI the run is laid out on its own, left to right, and
    the words around it keep their places. Isolates (not LRM marks) are used in chats because a mark would
    also turn a whole paragraph left-to-right when a code starts it; Telegram's and Bale's apps and every
    browser draw isolates (the web chat page is the reference, ``tests/e2e/test_codes_read_as_typed.py``).
    SMS carry marks instead (``for_sms``). Every code, ID and phone shown to a person goes through here
    (``format_identifier``, ``desk.tracking.format_tracking_code``; amounts need it not, see ``format_number``);
    text already isolated is returned as it is. ``normalize`` drops isolates from what people type back.
    """
    if text.startswith(LRI) and text.endswith(PDI):
        return text
    return f"{LRI}{text}{PDI}"


def for_sms(text: str, lang: str = "fa") -> str:
    """A text for an SMS: in Persian each isolate (``ltr``) becomes a left-to-right mark; in English none is kept.

    Phones' SMS apps are older than chat apps: many (feature phones, old Android) draw an isolate as a box,
    while every one has drawn LRM for decades. A mark before and after a code makes its digits and dashes one
    left-to-right run just as well; only a code that starts a paragraph would turn it left-to-right, and no
    SMS text starts with one. A Persian SMS is UCS-2 anyway: each mark costs one character of 70. An English
    SMS reads left to right throughout, so it needs no mark, and without one it stays in GSM-7 (160 a part).
    A mark that ends the text has nothing after it to keep in place, and is left out.
    """
    if lang == "en":
        return text.replace(LRI, "").replace(PDI, "")
    return text.replace(LRI, LRM).replace(PDI, LRM).removesuffix(LRM)


def format_identifier(value: str | int, lang: str = "fa") -> str:
    """A code, ID or phone for people: in the reader's digits (Persian in Persian), isolated left-to-right when
    it has more than digits (``ltr``).

    For what is typed or dialled character by character: dues codes ('۱۲-۳۴-۵۶۷'), masked national IDs and
    phones ('۰۴۹****۸۹۹'), USSD codes ('*780#'). Tracking codes have their own grouping
    (``desk.tracking.format_tracking_code``); bill and payment IDs stay in ASCII digits for bank apps, and a run
    of digits alone needs no isolating.
    """
    return _isolated_unless_digits(_localize_digits(str(value), lang))


def _in_tehran(dt: datetime) -> datetime:
    # Naive datetimes are UTC: that is how storage keeps them (SQLite drops the offset).
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(TEHRAN)


def format_jalali_date(d: date, lang: str = "fa") -> str:
    """A date as people read it: '۶ آذر ۱۴۰۵' in Persian, '6 Azar 1405' in English.

    A ``datetime`` is first moved to Tehran time (naive ones are taken as UTC), so a request filed at
    23:00 UTC shows the next day, as it was in Falavarjan.
    """
    if isinstance(d, datetime):
        d = _in_tehran(d).date()
    jd = JalaliDate(d)  # type: ignore[no-untyped-call]  # persiantools has no annotations
    t = translator(lang)
    text = t("desk.date.pattern", day=jd.day, month=t(f"desk.month.{jd.month}"), year=jd.year)
    return _localize_digits(text, lang)


def format_jalali_typed(d: date, lang: str = "fa") -> str:
    """A date as a citizen types it, year/month/day: '۱۴۰۵/۰۹/۰۶' in Persian, '1405/09/06' in English."""
    jd = JalaliDate(d)  # type: ignore[no-untyped-call]  # persiantools has no annotations
    return _localize_digits(f"{jd.year:04d}/{jd.month:02d}/{jd.day:02d}", lang)


def tehran_today() -> date:
    """Today's date in Falavarjan."""
    return datetime.now(TEHRAN).date()


@dataclass(frozen=True, slots=True)
class TypedDate:
    """A date shown as typed (``format_jalali_typed``) in a message: the example of a date question's hint and
    errors, which is today, so it is never refused by the question it illustrates (today is on both sides)."""

    day: date

    def shown(self, lang: str) -> str:
        return format_jalali_typed(self.day, lang)


def format_jalali_datetime(dt: datetime, lang: str = "fa") -> str:
    """A moment in Tehran time: '۶ آذر ۱۴۰۵، ساعت ۱۴:۰۵' in Persian; naive datetimes are taken as UTC."""
    local = _in_tehran(dt)
    text = translator(lang)(
        "desk.datetime.pattern",
        date=format_jalali_date(local.date(), lang),
        time=f"{local.hour:02d}:{local.minute:02d}",
    )
    return _localize_digits(text, lang)


_DATE_PARTS = re.compile(r"(\d{1,4})[/.\-٫،,](\d{1,2})[/.\-٫،,](\d{1,4})", re.ASCII)
# The conversion handles Jalali years 1 to 9377, so the window is a plausibility rule: 1300 (1921) comes just
# before the Jalali calendar became Iran's official one (1304) and before the birth of nearly every living
# citizen; 1499 (2121) is far beyond any appointment. A year outside is a typo (1504 for 1405).
_JALALI_YEARS = range(1300, 1500)


def _from_jalali(year: int, month: int, day: int) -> date:
    """The Gregorian date of a Jalali one; ``ValueError`` when that Jalali day does not exist."""
    gregorian: date = JalaliDate(year, month, day).to_gregorian()  # type: ignore[no-untyped-call]
    return gregorian


JALALI_FIRST_DAY = _from_jalali(_JALALI_YEARS.start, 1, 1)
"""The earliest date ``parse_jalali_date`` accepts: 1 Farvardin 1300."""
JALALI_LAST_DAY = _from_jalali(_JALALI_YEARS.stop, 1, 1) - timedelta(days=1)
"""The latest date ``parse_jalali_date`` accepts: the last day of 1499."""


def add_jalali_years(d: date, years: int) -> date:
    """The same Jalali day ``years`` later (earlier when negative); 30 Esfand becomes 29 in a common year."""
    jd = JalaliDate(d)  # type: ignore[no-untyped-call]  # persiantools has no annotations
    try:
        return _from_jalali(jd.year + years, jd.month, jd.day)
    except ValueError:
        return _from_jalali(jd.year + years, jd.month, jd.day - 1)


def parse_jalali_date(text: str, today: date | None = None) -> date:
    """Read a Jalali date typed as 1405/09/06, ۱۴۰۵-۹-۶ or 1405.9.6 (or day first: 6/9/1405) into a Gregorian date.

    Raises ``ValidationError`` with ``desk.date.format`` when the shape is wrong, ``desk.date.gregorian``
    when the year looks Gregorian, ``desk.date.out_of_range`` for a year outside 1300..1499
    (``JALALI_FIRST_DAY`` .. ``JALALI_LAST_DAY``), and ``desk.date.invalid`` for a day that does not exist
    (1405/12/31); each error's ``example`` is ``today`` (by default today in Tehran) as it is typed.
    """
    example = TypedDate(today or tehran_today())
    compact = _DASHES.sub("-", _SPACES.sub("", normalize(text).replace(ZWNJ, "")))
    match = _DATE_PARTS.fullmatch(compact)
    if match is None:
        raise ValidationError("desk.date.format", example=example)
    first, month_text, last = match.groups()
    if len(first) == 4 and len(last) <= 2:
        year_text, day_text = first, last
    elif len(last) == 4 and len(first) <= 2:
        year_text, day_text = last, first
    else:
        raise ValidationError("desk.date.format", example=example)
    year, month, day = int(year_text), int(month_text), int(day_text)
    if year >= 1900:
        raise ValidationError("desk.date.gregorian", example=example)
    if year not in _JALALI_YEARS:
        raise ValidationError("desk.date.out_of_range", first=JALALI_FIRST_DAY, last=JALALI_LAST_DAY)
    try:
        return _from_jalali(year, month, day)
    except ValueError:
        raise ValidationError("desk.date.invalid", example=example) from None
