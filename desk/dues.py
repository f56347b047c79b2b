"""Dues (بدهی عوارض): the renovation fee of properties, the business fee of shops and the annual fee of cars, as the
finance system bills them.

An organization's finance system exports what each property or business owes as a CSV file with the columns
``code``, ``national_id``, ``amount_rials`` and ``period``; ``miz dues import`` checks every row
(:func:`parse_dues_csv`), refuses the whole file if any row is bad, and otherwise writes the dues in one
transaction (:func:`import_dues`), replacing the unpaid dues of the same kind and periods. A citizen then finds
their dues by code and national ID (:func:`lookup_dues`) and pays them through any bank channel with the bill
ID and payment ID (``desk.billing``; docs/RULES.md, "Bill and payment identifiers").

Vehicles
    A car's annual municipal fee (عوارض سالیانه خودرو, kind ``vehicle``) is billed by plate: the ``code`` column
    of a vehicle file holds the plate in any form people write it, stored in its canonical form
    (``desk.plates``). A citizen types a property or business code or a plate at the same question
    (:func:`read_code`): a text that looks like a plate (it names «ایران», or it is digits, one plate letter,
    digits) is read as one and refused with the plate's shape if it is not a plate.

The file
    UTF-8, with or without a byte-order mark (what Excel's "CSV UTF-8" writes); separated by commas, semicolons,
    tabs or Persian commas (the header decides); Persian, Arabic or Latin digits; amounts may carry thousands
    separators (``1,250,000``, ``۱٬۲۵۰٬۰۰۰``: quote them when the separator is a comma). The header may also use
    Persian names (``کد``, ``کد ملی``, ``مبلغ``, ``دوره``). Rows are numbered as a spreadsheet shows them: the
    header is row 1, so the first due is row 2. Blank rows are skipped; other columns are ignored.

Periods
    ``1405`` is the whole Jalali year (period 00 in the payment ID); ``1405/3`` (or ``1405-03``) is instalment
    or month 3 of 1405.

File numbers (the first digits of a bill ID)
    A bill ID has room for an 8-digit file number. The first digit tells the kind, so a property and a business
    with the same code never share a bill ID: 1 renovation and 2 business for codes made of at most 7 digits
    (not starting with 0), which are written as they are (code ``12-34-567`` -> file number ``11234567``),
    and 3 renovation and 4 business for every other code (longer, with letters, or a leading zero), which get
    the next free number of that range on their first import and keep it on later imports. Either way two codes
    of an organization never share a file number, and a code keeps its bill ID from one year to the next.
    Plates always have a letter, so vehicles only have assigned numbers: first digit 6. ``desk.payments`` gives
    requests' payments first digit 5; 7 to 9 are free.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk import billing
from desk.errors import NotFound, ValidationError
from desk.i18n import translator
from desk.persian import normalize, to_persian_digits
from desk.plates import looks_like_plate, parse_plate
from desk.throttle import Throttle
from desk.validators import national_id as validate_national_id
from desk.validators import number as parse_number
from storage.columns import utcnow
from storage.models import DuesImport
from storage.repositories import Dues

__all__ = [
    "AMOUNT_MAX",
    "CODE_MAX",
    "COLUMNS",
    "DUES_FAILURE_LIMIT",
    "DUES_WINDOW_SECONDS",
    "FILE_RANGE",
    "DueKind",
    "DueRow",
    "DueView",
    "DuesFile",
    "DuesView",
    "ImportSummary",
    "Period",
    "RowProblem",
    "dues_throttle",
    "file_number",
    "import_dues",
    "lookup_dues",
    "names_a_plate",
    "normalize_code",
    "parse_dues_csv",
    "read_code",
]

COLUMNS: Final = ("code", "national_id", "amount_rials", "period")
"""The columns a dues file must have (in any order)."""
CODE_MAX: Final = 32
"""Most characters of a property or business code, separators left out."""
AMOUNT_MAX: Final = (10**8 - 1) * 1000
"""The largest amount a payment ID can carry: 8 digits of thousands of rials."""
DUES_FAILURE_LIMIT: Final = 5
"""Look-ups that find nothing a citizen may make within ``DUES_WINDOW_SECONDS``."""
DUES_WINDOW_SECONDS: Final = 600.0
"""The window of the dues throttle: ten minutes."""

_ALIASES: Final[Mapping[str, str]] = {
    "code": "code",
    "property_code": "code",
    "business_code": "code",
    "کد": "code",
    "کد ملک": "code",
    "کد نوسازی": "code",
    "کد صنفی": "code",
    "national_id": "national_id",
    "کد ملی": "national_id",
    "کدملی": "national_id",
    "amount_rials": "amount_rials",
    "amount": "amount_rials",
    "مبلغ": "amount_rials",
    "مبلغ ریال": "amount_rials",
    "مبلغ (ریال)": "amount_rials",
    "period": "period",
    "دوره": "period",
}
_DELIMITERS: Final = (",", ";", "\t", "،")
_CODE_SEPARATORS: Final = re.compile(r"[\s\-/\\._\u2010-\u2015\u2212]+")
_DIRECT: Final = re.compile(r"[1-9][0-9]{0,6}", re.ASCII)
_PERIOD: Final = re.compile(r"(\d{4})(?:[/\-.٫](\d{1,2}))?", re.ASCII)
_JALALI_YEARS: Final = range(1300, 1500)
FILE_RANGE: Final = 10**7
"""File numbers of one kind share their first digit: the kind's digit times this, plus up to 7 digits."""


class DueKind(StrEnum):
    """What a due is for: a property's renovation fee, a business's fee or a car's annual fee."""

    RENOVATION = "renovation"
    BUSINESS = "business"
    VEHICLE = "vehicle"

    @property
    def label_key(self) -> str:
        return f"dues.kind.{self.value}"

    @property
    def _direct_digit(self) -> int | None:
        return {DueKind.RENOVATION: 1, DueKind.BUSINESS: 2}.get(self)

    @property
    def _assigned_digit(self) -> int:
        return {DueKind.RENOVATION: 3, DueKind.BUSINESS: 4, DueKind.VEHICLE: 6}[self]

    def read(self, text: str) -> tuple[str, str]:
        """A code of this kind as stored and its look-up key: a plate for vehicles, else ``normalize_code``."""
        if self is DueKind.VEHICLE:
            plate = parse_plate(text)
            return plate.text, plate.key
        return normalize_code(text)


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A billing period: a Jalali year, and the instalment (1..99) or 0 for the whole year."""

    year: int
    number: int = 0

    @classmethod
    def parse(cls, text: str) -> Period:
        """``1405``, ``۱۴۰۵``, ``1405/3``, ``1405-03``; ``ValidationError('dues.row.period_invalid')`` otherwise."""
        match = _PERIOD.fullmatch(re.sub(r"\s+", "", normalize(text)))
        if match is None:
            raise ValidationError("dues.row.period_invalid")
        year, number = int(match.group(1)), int(match.group(2) or 0)
        if year not in _JALALI_YEARS or (match.group(2) is not None and not 1 <= number <= 99):
            raise ValidationError("dues.row.period_invalid")
        return cls(year, number)

    def label(self, lang: str = "fa") -> str:
        """``سال ۱۴۰۵`` or ``سال ۱۴۰۵، قسط ۳`` (``year 1405, instalment 3``) as people read it."""
        t = translator(lang)
        text = (
            t("dues.period.part", year=self.year, number=self.number)
            if self.number
            else t("dues.period.year", year=self.year)
        )
        return text if lang == "en" else to_persian_digits(text)

    def __str__(self) -> str:
        return f"{self.year}/{self.number:02d}" if self.number else str(self.year)


def normalize_code(text: str) -> tuple[str, str]:
    """A property or business code as written (``12-34-567``) and its key for look-ups (``1234567``).

    Digits become ASCII, Latin letters upper case, and any run of spaces, dashes, slashes or dots one dash.
    Raises ``ValidationError`` (``dues.row.code_missing``, ``dues.row.code_invalid``) for an empty code or one
    with other characters or longer than ``CODE_MAX``.
    """
    value = normalize(text).replace("\u200c", "").upper()
    value = _CODE_SEPARATORS.sub("-", value).strip("-")
    if not value:
        raise ValidationError("dues.row.code_missing")
    key = value.replace("-", "")
    if not key.isalnum() or len(key) > CODE_MAX:  # ASCII digits, Latin or Persian letters
        raise ValidationError("dues.row.code_invalid", limit=CODE_MAX)
    return value, key


def file_number(kind: DueKind, code_key: str) -> int | None:
    """The file number of a code written as it is (at most 7 digits, not starting with 0), else None.

    None means the code gets a number of the assigned range on its first import (see the module's notes).
    """
    digit = kind._direct_digit
    if digit is not None and _DIRECT.fullmatch(code_key):
        return digit * FILE_RANGE + int(code_key)
    return None


def read_code(text: str) -> tuple[str, tuple[str, ...]]:
    """What a citizen typed at the code question: its written form and the keys to look it up by.

    A text that looks like a plate (``desk.plates.looks_like_plate``) must be one (``ValidationError`` with the
    plate's shape otherwise). Any other text is a property or business code, and also a plate when it reads as
    one (``12B34567`` could be either), so both keys are looked up; the national ID still has to match.
    """
    if looks_like_plate(text):
        plate = parse_plate(text)
        return plate.text, (plate.key,)
    written, key = normalize_code(text)
    try:
        plate = parse_plate(text)
    except ValidationError:
        return written, (key,)
    return plate.text, (key, plate.key)


@dataclass(frozen=True, slots=True)
class DueRow:
    """One good row of a dues file."""

    row: int
    code: str
    code_key: str
    national_id: str
    amount_rials: int
    period: Period


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why a row (or, with ``row`` None, the whole file) cannot be imported: a message id and its parameters."""

    row: int | None
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "en") -> str:
        """The reason in ``lang``, prefixed with the row number (in that language's digits)."""
        t = translator(lang)
        params = dict(self.params)
        if lang != "en":
            params = {name: to_persian_digits(value) for name, value in params.items()}
        reason = t(self.key, **params)
        if self.row is None:
            return reason
        row = str(self.row) if lang == "en" else to_persian_digits(self.row)
        return t("dues.row.prefix", row=row, reason=reason)

    def render(self) -> str:
        """``row 5: English reason | ردیف ۵: دلیل فارسی``: one line per problem, in both languages."""
        return f"{self.message('en')} | {self.message('fa')}"


@dataclass(frozen=True, slots=True)
class DuesFile:
    """A parsed dues file: its good rows, and every problem found (import only when there are none)."""

    rows: tuple[DueRow, ...]
    problems: tuple[RowProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)

    @property
    def bad_rows(self) -> int:
        """How many rows have at least one problem."""
        return len({p.row for p in self.problems if p.row is not None})


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _header_name(cell: str) -> str:
    name = normalize(cell).lower().replace("\u200c", " ")
    name = re.sub(r"\s+", " ", name).strip()
    return _ALIASES.get(name, _ALIASES.get(name.replace(" ", "_"), name))


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _check_amount(raw: str) -> int:
    if not normalize(raw):
        raise ValidationError("dues.row.amount_missing")
    try:
        amount = parse_number(raw)
    except ValidationError as error:
        if error.key == "desk.number.negative":
            raise ValidationError("dues.row.amount_thousands") from None
        raise ValidationError("dues.row.amount_invalid") from None
    if amount <= 0 or amount % 1000:
        raise ValidationError("dues.row.amount_thousands")
    if amount > AMOUNT_MAX:
        raise ValidationError("dues.row.amount_too_large")
    return amount


def _check_national_id(raw: str) -> str:
    if not normalize(raw):
        raise ValidationError("dues.row.national_id_missing")
    try:
        return validate_national_id(raw)
    except ValidationError as error:
        key = (
            "dues.row.national_id_format"
            if error.key == "desk.national_id.format"
            else "dues.row.national_id"
        )
        raise ValidationError(key) from None


def names_a_plate(written: str) -> bool:
    """Whether ``written`` (the first item :func:`read_code` gives) is a car plate, so answers say "plate"."""
    try:
        return parse_plate(written).text == written
    except ValidationError:
        return False


def parse_dues_csv(
    data: bytes,
    progress: Callable[[int, int], None] | None = None,
    *,
    kind: DueKind = DueKind.RENOVATION,
) -> DuesFile:
    """Check every row of a dues file (bytes as read from disk); never raises for what the file holds.

    ``progress(done, total)`` is called now and then with the rows checked so far. ``kind`` decides how the
    code column is read: plates for vehicles (``desk.plates``), property or business codes otherwise.
    """
    text = _decode(data)
    if text is None:
        return DuesFile((), (RowProblem(None, "dues.file.not_utf8"),))
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return DuesFile((), (RowProblem(None, "dues.file.empty"),))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(lines[0]))
    header = next(record for record in reader if any(cell.strip() for cell in record))
    names = [_header_name(cell) for cell in header]
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        return DuesFile((), (RowProblem(None, "dues.file.columns", {"missing": ", ".join(missing)}),))
    position = {name: names.index(name) for name in COLUMNS}
    rows: list[DueRow] = []
    problems: list[RowProblem] = []
    seen: dict[tuple[str, Period], int] = {}
    total = len(lines) - 1  # for the progress line only: a quoted cell may span lines
    done = 0
    for record in reader:
        # The reader's line number: the row a spreadsheet shows, the header being row 1.
        row_number = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        done += 1
        if progress is not None and done % 1000 == 0:
            progress(done, total)

        def cell(name: str, record: list[str] = record) -> str:
            at = position[name]
            return record[at] if at < len(record) else ""

        found: list[RowProblem] = []
        values: dict[str, Any] = {}
        checks: tuple[tuple[str, Callable[[str], Any]], ...] = (
            ("code", kind.read),
            ("national_id", _check_national_id),
            ("amount_rials", _check_amount),
            ("period", Period.parse),
        )
        for name, check in checks:
            try:
                values[name] = check(cell(name))
            except ValidationError as error:
                found.append(RowProblem(row_number, error.key, error.params))
        if not found:
            code, key = values["code"]
            period: Period = values["period"]
            earlier = seen.setdefault((key, period), row_number)
            if earlier != row_number:
                found.append(RowProblem(row_number, "dues.row.duplicate", {"first": earlier}))
            else:
                rows.append(
                    DueRow(row_number, code, key, values["national_id"], values["amount_rials"], period)
                )
        problems.extend(found)
    if progress is not None:
        progress(done, done)  # finished, whatever the estimate was
    if not rows and not problems:
        problems.append(RowProblem(None, "dues.file.no_rows"))
    return DuesFile(tuple(rows), tuple(problems))


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import did."""

    batch_id: int
    imported: int
    replaced: int
    skipped_paid: int
    total_rials: int
    periods: tuple[Period, ...]
    previous_import_at: datetime | None
    """When the same file (same bytes) was imported before for this organization and kind, if it was."""


async def import_dues(
    session: AsyncSession,
    rows: Sequence[DueRow],
    *,
    organization_id: str,
    company_code: int,
    kind: DueKind,
    file_name: str,
    sha256: str,
    imported_by: str,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Write the checked ``rows`` as the organization's dues of ``kind``; the caller's transaction commits.

    The unpaid dues of the same kind and of the periods in ``rows`` are replaced (a due missing from the new
    file is gone: it was settled or cancelled in the finance system). A row whose due of that period is already
    paid is left out and counted in ``skipped_paid``. Bill IDs use ``company_code`` and the file numbers
    described in the module's notes; payment IDs carry the amount, the year's last digit and the period.
    """
    dues = Dues(session)
    periods = {(row.period.year, row.period.number) for row in rows}
    paid = await dues.paid_keys(organization_id, kind.value, periods)
    known = await dues.file_numbers(organization_id, kind.value)
    low = kind._assigned_digit * FILE_RANGE
    next_assigned = max((n for n in known.values() if low < n < low + FILE_RANGE), default=low) + 1
    previous = await dues.batch_by_sha256(organization_id, kind.value, sha256)
    now = utcnow()
    values: list[dict[str, Any]] = []
    for row in rows:
        if (row.code_key, row.period.year, row.period.number) in paid:
            continue
        number = file_number(kind, row.code_key) or known.get(row.code_key)
        if number is None:
            if next_assigned >= low + FILE_RANGE:
                raise ValidationError("dues.file.numbers_exhausted")
            number = known[row.code_key] = next_assigned
            next_assigned += 1
        bill = billing.bill_id(number, company_code)
        values.append(
            {
                "organization_id": organization_id,
                "kind": kind.value,
                "property_or_business_code": row.code,
                "code_key": row.code_key,
                "national_id": row.national_id,
                "amount_rials": row.amount_rials,
                "period_year": row.period.year,
                "period_number": row.period.number,
                "bill_id": bill,
                "payment_id": billing.payment_id(row.amount_rials, row.period.year, row.period.number, bill),
                "imported_at": now,
            }
        )
    batch = await dues.add_batch(
        DuesImport(
            organization_id=organization_id,
            kind=kind.value,
            file_name=file_name[-255:],
            sha256=sha256,
            rows=len(values),
            skipped_paid=len(rows) - len(values),
            imported_by=imported_by[:64],
            at=now,
        )
    )
    assert batch.id is not None
    batch.replaced = await dues.delete_unpaid(organization_id, kind.value, periods)
    chunk = 2000
    for start in range(0, len(values), chunk):
        part = values[start : start + chunk]
        for item in part:
            item["import_batch_id"] = batch.id
        await dues.insert_many(part)
        if progress is not None:
            progress(start + len(part), len(values))
    session.add(batch)
    return ImportSummary(
        batch_id=batch.id,
        imported=len(values),
        replaced=batch.replaced,
        skipped_paid=batch.skipped_paid,
        total_rials=sum(item["amount_rials"] for item in values),
        periods=tuple(sorted(Period(year, number) for year, number in periods)),
        previous_import_at=previous.at if previous is not None else None,
    )


@dataclass(frozen=True, slots=True)
class DueView:
    """One due as the citizen sees it."""

    kind: DueKind
    code: str
    period: Period
    amount_rials: int
    bill_id: str
    payment_id: str
    paid: bool
    due_id: int | None = None
    """The stored due's id, which a wallet payment of it names (``desk.payments.offer_due_payment``)."""

    @property
    def barcode(self) -> str:
        """The 26-digit number under a bill's barcode, for apps and ATMs that ask for it."""
        return billing.barcode(self.bill_id, self.payment_id)


@dataclass(frozen=True, slots=True)
class DuesView:
    """What a look-up found: the unpaid dues first to last period, and how many are already paid."""

    organization_id: str
    unpaid: tuple[DueView, ...]
    paid_count: int

    @property
    def total_rials(self) -> int:
        return sum(due.amount_rials for due in self.unpaid)


async def lookup_dues(
    session: AsyncSession, organization_id: str, code_text: str, national_id: str
) -> DuesView:
    """The dues of the code or plate ``code_text`` at the organization, for the holder with ``national_id``.

    The code and the national ID are normalized and checked first (``ValidationError``, not a miss). A code
    unknown to the organization, and a national ID that is not the holder's, both raise ``NotFound`` with the
    same key, so the answer never tells whether a code exists; callers count it with :func:`dues_throttle`.
    """
    _code, keys = read_code(code_text)
    holder = validate_national_id(national_id)
    found = await Dues(session).of_holder(organization_id, keys, holder)
    if not found:
        raise NotFound("dues.lookup.not_found")
    views = [
        DueView(
            kind=DueKind(due.kind),
            code=due.property_or_business_code,
            period=Period(due.period_year, due.period_number),
            amount_rials=due.amount_rials,
            bill_id=due.bill_id,
            payment_id=due.payment_id,
            paid=due.paid_at is not None,
            due_id=due.id,
        )
        for due in found
    ]
    return DuesView(
        organization_id=organization_id,
        unpaid=tuple(view for view in views if not view.paid),
        paid_count=sum(1 for view in views if view.paid),
    )


def dues_throttle(clock: Callable[[], float] = time.monotonic) -> Throttle:
    """The throttle of dues look-ups: 5 that find nothing per 10 minutes per citizen (see ``desk.throttle``).

    A code or national ID refused by its format or checksum never reaches the database and is not counted.
    """
    return Throttle(DUES_FAILURE_LIMIT, DUES_WINDOW_SECONDS, clock, message_key="dues.throttled")
