"""Bank settlements (گزارش قبوض پرداخت‌شده): a bank's report of bills paid, applied to dues and requests' payments.

A citizen may pay a due or a request's payment anywhere the bill ID and payment ID are accepted (a branch, an
ATM, an internet bank, a bill-payment app). The bank reports those payments to the organization; an admin
imports the report with ``miz payments import FILE``: :func:`parse_settlement_csv` reads it and
:func:`apply_settlements` applies it in the caller's one transaction.

The file
    UTF-8 (with or without a byte-order mark), separated by commas, semicolons, tabs or Persian commas, with the
    columns ``bill_id``, ``payment_id``, ``amount_rials``, ``paid_on`` and ``trace_number`` in any order (Persian
    headers too: ``شناسه قبض``, ``شناسه پرداخت``, ``مبلغ``, ``تاریخ``, ``شماره پیگیری``); Persian, Arabic or
    Latin digits; the date in Jalali (``1405/09/14``, ``14050914``) or Gregorian (``2026-12-05``). Rows are
    numbered as a spreadsheet shows them, the header being row 1. A bank's fixed-width layout is not read: none
    is publicly documented (docs/MONEY.md).

Broken rows and mismatches
    A row that cannot be read (a bill or payment ID that is not 6 to 13 digits, no amount, no date, no trace
    number) means the file is broken: nothing is applied and every such row is listed, as with dues files. A
    readable row that matches nothing payable is a mismatch: it is listed and skipped, and the other rows are
    applied, because a county's finance office wants the good payments recorded today and the odd ones
    investigated, not a whole day's report held back by one row. Mismatches: a payment ID whose check digits do
    not fit the bill ID, an amount other than the one the payment ID asks, a bill ID no due or request has, a
    payment ID no longer asked for that bill (replaced by a later dues import, or a payment the clerk asked
    again), and a bill already paid (money taken twice, for the finance office to refund; recorded, so it is
    listed once).

Never twice
    Each applied row is recorded by trace number and bill ID (``storage.models.Settlement``, unique): a row
    already recorded, or repeated in the same file, is a duplicate and changes nothing, so importing the same
    report again (or the next day's report that repeats some rows) is safe. A row is applied whole or not at
    all: the due marked paid, or the request's payment recorded and the request moved on
    (``desk.payments.record_payment``: the citizen's message and SMS, the card back in the clerks' queue) and its
    settlement written, all in the one transaction of the whole file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk import billing
from desk.dues import RowProblem
from desk.errors import ValidationError
from desk.payments import BANK, record_payment
from desk.persian import normalize, normalize_identifier, parse_jalali_date
from desk.validators import number as parse_number
from storage.columns import utcnow
from storage.models import Settlement, SettlementImport
from storage.repositories import Dues, Payments, Settlements

__all__ = [
    "COLUMNS",
    "TRACE_MAX",
    "BankPayment",
    "Outcome",
    "SettlementFile",
    "SettlementSummary",
    "apply_settlements",
    "parse_settlement_csv",
]

COLUMNS: Final = ("bill_id", "payment_id", "amount_rials", "paid_on", "trace_number")
"""The columns a bank's report must have (in any order)."""
TRACE_MAX: Final = 32
"""Most characters of a trace number."""

_ALIASES: Final[Mapping[str, str]] = {
    "bill_id": "bill_id",
    "billid": "bill_id",
    "bill": "bill_id",
    "شناسه قبض": "bill_id",
    "payment_id": "payment_id",
    "paymentid": "payment_id",
    "pay_id": "payment_id",
    "شناسه پرداخت": "payment_id",
    "amount_rials": "amount_rials",
    "amount": "amount_rials",
    "مبلغ": "amount_rials",
    "مبلغ ریال": "amount_rials",
    "مبلغ (ریال)": "amount_rials",
    "paid_on": "paid_on",
    "date": "paid_on",
    "payment_date": "paid_on",
    "تاریخ": "paid_on",
    "تاریخ پرداخت": "paid_on",
    "trace_number": "trace_number",
    "trace": "trace_number",
    "trace_no": "trace_number",
    "reference": "trace_number",
    "شماره پیگیری": "trace_number",
    "کد پیگیری": "trace_number",
}
_DELIMITERS: Final = (",", ";", "\t", "،")
_ID: Final = re.compile(r"[0-9]{6,13}", re.ASCII)
_TRACE: Final = re.compile(r"[0-9A-Za-z]{1,32}", re.ASCII)
_COMPACT_DATE: Final = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})", re.ASCII)
_ISO_DATE: Final = re.compile(r"(19[0-9]{2}|2[0-9]{3})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})", re.ASCII)


@dataclass(frozen=True, slots=True)
class BankPayment:
    """One readable row of a bank's report: a bill the bank says was paid."""

    row: int
    bill_id: str
    payment_id: str
    amount_rials: int
    paid_on: date
    trace_number: str

    @property
    def key(self) -> tuple[str, str]:
        """What makes a payment the same payment in any report: its trace number and bill ID."""
        return self.trace_number, self.bill_id


@dataclass(frozen=True, slots=True)
class SettlementFile:
    """A parsed report: its readable rows, and why the others cannot be read (apply only when there are none)."""

    rows: tuple[BankPayment, ...]
    problems: tuple[RowProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)

    @property
    def bad_rows(self) -> int:
        return len({p.row for p in self.problems if p.row is not None})


def _header_name(cell: str) -> str:
    name = re.sub(r"\s+", " ", normalize(cell).lower().replace("\u200c", " ")).strip()
    return _ALIASES.get(name, _ALIASES.get(name.replace(" ", "_"), name))


def _check_id(raw: str, key: str) -> str:
    value = normalize_identifier(raw)
    if not _ID.fullmatch(value):
        raise ValidationError(key)
    return value.lstrip("0") or "0"  # some banks pad both IDs to 13 digits, as the barcode does


def _check_amount(raw: str) -> int:
    if not normalize(raw):
        raise ValidationError("settlements.row.amount")
    try:
        amount = parse_number(raw)
    except ValidationError:
        raise ValidationError("settlements.row.amount") from None
    if amount <= 0:
        raise ValidationError("settlements.row.amount")
    return amount


def _check_date(raw: str) -> date:
    text = normalize_identifier(raw).replace("/", "-")
    compact = _COMPACT_DATE.fullmatch(text)
    if compact is not None:
        text = "-".join(compact.groups())
    iso = _ISO_DATE.fullmatch(text)
    try:
        if iso is not None:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        return parse_jalali_date(text)
    except (ValueError, ValidationError):
        raise ValidationError("settlements.row.date") from None


def _check_trace(raw: str) -> str:
    value = normalize_identifier(raw)
    if not _TRACE.fullmatch(value):
        raise ValidationError("settlements.row.trace", limit=TRACE_MAX)
    return value.upper()


def parse_settlement_csv(data: bytes) -> SettlementFile:
    """Read every row of a bank's report (bytes as read from disk); never raises for what the file holds."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return SettlementFile((), (RowProblem(None, "dues.file.not_utf8"),))
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return SettlementFile((), (RowProblem(None, "dues.file.empty"),))
    counts = {d: lines[0].count(d) for d in _DELIMITERS}
    delimiter = max(_DELIMITERS, key=lambda d: counts[d]) if any(counts.values()) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(record for record in reader if any(cell.strip() for cell in record))
    names = [_header_name(cell) for cell in header]
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        return SettlementFile((), (RowProblem(None, "dues.file.columns", {"missing": ", ".join(missing)}),))
    position = {name: names.index(name) for name in COLUMNS}
    checks: tuple[tuple[str, Callable[[str], Any]], ...] = (
        ("bill_id", lambda raw: _check_id(raw, "settlements.row.bill_id")),
        ("payment_id", lambda raw: _check_id(raw, "settlements.row.payment_id")),
        ("amount_rials", _check_amount),
        ("paid_on", _check_date),
        ("trace_number", _check_trace),
    )
    rows: list[BankPayment] = []
    problems: list[RowProblem] = []
    for record in reader:
        row_number = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        values: dict[str, Any] = {}
        for name, check in checks:
            at = position[name]
            try:
                values[name] = check(record[at] if at < len(record) else "")
            except ValidationError as error:
                problems.append(RowProblem(row_number, error.key, error.params))
        if len(values) == len(checks):
            rows.append(BankPayment(row=row_number, **values))
    if not rows and not problems:
        problems.append(RowProblem(None, "dues.file.no_rows"))
    return SettlementFile(tuple(rows), tuple(problems))


class Outcome:
    """What became of a row: applied to a due or a request's payment, or why it was listed and skipped."""

    DUE: Final = "due"
    REQUEST: Final = "request"
    ALREADY_PAID: Final = "already_paid"
    DUPLICATE: Final = "duplicate"
    CHECK: Final = "check"
    AMOUNT: Final = "amount"
    UNKNOWN_BILL: Final = "unknown_bill"
    NOT_ASKED: Final = "not_asked"

    APPLIED: Final = frozenset({DUE, REQUEST})
    RECORDED: Final = frozenset({DUE, REQUEST, ALREADY_PAID})


@dataclass(frozen=True, slots=True)
class SettlementSummary:
    """What an import did: each row's outcome, and when the same report was imported before, if it was."""

    import_id: int
    outcomes: tuple[tuple[BankPayment, str], ...]
    previous_import_at: datetime | None

    def count(self, *outcomes: str) -> int:
        return sum(1 for _row, outcome in self.outcomes if outcome in outcomes)

    @property
    def applied(self) -> int:
        return self.count(*Outcome.APPLIED)

    @property
    def applied_rials(self) -> int:
        return sum(row.amount_rials for row, outcome in self.outcomes if outcome in Outcome.APPLIED)

    @property
    def listed(self) -> tuple[RowProblem, ...]:
        """Every row not applied, with its reason (``settlements.outcome.*``), in the file's order."""
        return tuple(
            RowProblem(row.row, f"settlements.outcome.{outcome}")
            for row, outcome in self.outcomes
            if outcome not in Outcome.APPLIED
        )


async def _apply_row(
    session: AsyncSession,
    row: BankPayment,
    import_id: int,
    groups_of: Callable[[str], Mapping[str, int]],
) -> tuple[str, Settlement | None]:
    """Apply one checked, new row: its outcome, and the settlement to record (None for a mismatch)."""
    settlement = Settlement(
        import_id=import_id,
        trace_number=row.trace_number,
        bill_id=row.bill_id,
        payment_id=row.payment_id,
        amount_rials=row.amount_rials,
        paid_on=row.paid_on,
        outcome=Outcome.ALREADY_PAID,
    )
    for due in await Dues(session).by_bill(row.bill_id, row.payment_id):
        settlement.due_id = due.id
        if due.paid_at is None:
            due.paid_at = utcnow()
            session.add(due)
            settlement.outcome = Outcome.DUE
            return Outcome.DUE, settlement
    if settlement.due_id is not None:
        return Outcome.ALREADY_PAID, settlement
    payments = await Payments(session).of_requests_by_bill(row.bill_id, row.payment_id)
    for payment in payments:
        settlement.paid_payment_id = payment.id
        if payment.status == "pending":
            await record_payment(
                session,
                payment,
                row.trace_number,
                row.amount_rials,
                channel=BANK,
                groups=groups_of(payment.organization_id),
            )
            settlement.outcome = Outcome.REQUEST
            return Outcome.REQUEST, settlement
    if any(payment.status == "paid" for payment in payments):
        return Outcome.ALREADY_PAID, settlement
    # The bill is known but not this payment ID: the clerk asked again, or a later dues import replaced it.
    if payments or await Dues(session).by_bill(row.bill_id):
        return Outcome.NOT_ASKED, None
    if await Payments(session).of_requests_by_bill(row.bill_id):
        return Outcome.NOT_ASKED, None
    return Outcome.UNKNOWN_BILL, None


async def apply_settlements(
    session: AsyncSession,
    rows: Sequence[BankPayment],
    *,
    file_name: str,
    sha256: str,
    imported_by: str,
    groups_of: Callable[[str], Mapping[str, int]],
) -> SettlementSummary:
    """Apply a report's readable ``rows`` in the caller's transaction; the caller commits (see the module notes).

    ``groups_of(organization id)`` gives the clerks' groups to tell of a request's payment.
    """
    settlements = Settlements(session)
    previous = await settlements.import_by_sha256(sha256)
    batch = await settlements.add_import(
        SettlementImport(
            file_name=file_name[-255:], sha256=sha256, rows=len(rows), imported_by=imported_by[:64]
        )
    )
    assert batch.id is not None
    known = await settlements.known(row.key for row in rows)
    outcomes: list[tuple[BankPayment, str]] = []
    for row in rows:
        if row.key in known:
            outcomes.append((row, Outcome.DUPLICATE))
            continue
        if not billing.is_valid_pair(row.bill_id, row.payment_id):
            outcomes.append((row, Outcome.CHECK))
            continue
        if row.amount_rials != billing.amount_of(row.payment_id):
            outcomes.append((row, Outcome.AMOUNT))
            continue
        outcome, settlement = await _apply_row(session, row, batch.id, groups_of)
        if settlement is not None:
            await settlements.add(settlement)
            known.add(row.key)
        outcomes.append((row, outcome))
    summary = SettlementSummary(
        import_id=batch.id,
        outcomes=tuple(outcomes),
        previous_import_at=previous.at if previous is not None else None,
    )
    batch.applied = summary.applied
    batch.duplicates = summary.count(Outcome.DUPLICATE)
    batch.mismatches = len(rows) - batch.applied - batch.duplicates
    session.add(batch)
    return summary
