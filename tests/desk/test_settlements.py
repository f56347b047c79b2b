"""Bank reports of bills paid: readable or refused whole, matched to dues and requests' payments, never twice."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from desk import billing
from desk.dues import DueKind, import_dues, parse_dues_csv
from desk.handling import resume
from desk.lifecycle import Status
from desk.payments import WALLET, record_payment
from desk.settlements import Outcome, SettlementSummary, apply_settlements, parse_settlement_csv
from storage.models import Due, OutboxMessage, Settlement, SettlementImport
from storage.repositories import Citizens
from storage.uow import unit_of_work

from .test_handling import GROUPS, clerk_acts, outbox, stored  # type: ignore[import-not-found]
from .test_payments import ask, claimed, payments_of  # type: ignore[import-not-found]

Factory = async_sessionmaker[AsyncSession]

HEADER = "bill_id,payment_id,amount_rials,paid_on,trace_number\n"
DUES = "code,national_id,amount_rials,period\n12-34-567,0499370899,1250000,1405\n777,0790419904,350000,1405\n"
BILL = billing.bill_id(11_234_567, 311)
PAY = billing.payment_id(1_250_000, 1405, 0, BILL)
BILL_777 = billing.bill_id(10_000_777, 311)
PAY_777 = billing.payment_id(350_000, 1405, 0, BILL_777)


def report(*rows: str) -> bytes:
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode()


async def seed_dues(factory: Factory) -> None:
    parsed = parse_dues_csv(DUES.encode())
    async with unit_of_work(factory, write=True) as session:
        await import_dues(
            session,
            parsed.rows,
            organization_id="falavarjan",
            company_code=311,
            kind=DueKind.RENOVATION,
            file_name="dues.csv",
            sha256="dues",
            imported_by="tester",
        )


async def settle(factory: Factory, data: bytes) -> SettlementSummary:
    parsed = parse_settlement_csv(data)
    assert parsed.ok, parsed.problems
    async with unit_of_work(factory, write=True) as session:
        return await apply_settlements(
            session,
            parsed.rows,
            file_name="bank.csv",
            sha256=str(hash(data)),
            imported_by="tester",
            groups_of=lambda _org: GROUPS,
        )


def outcomes(summary: SettlementSummary) -> list[tuple[int, str]]:
    return [(row.row, outcome) for row, outcome in summary.outcomes]


# Reading the report


def test_a_report_in_persian_with_every_date_form() -> None:
    text = (
        "شماره پیگیری;تاریخ;شناسه قبض;شناسه پرداخت;مبلغ\n"
        f"۱۲۳۴۵۶;۱۴۰۵/۰۹/۱۴;{BILL};{PAY};۱٬۲۵۰٬۰۰۰\n"
        f"A-77;2026-12-05;{BILL_777.zfill(13)};{PAY_777.zfill(13)};350000\n"  # padded to 13, as barcodes are
        f"88;14050914;{BILL};{PAY};1250000\n"
    )
    parsed = parse_settlement_csv(text.encode())
    assert parsed.ok, parsed.problems
    assert [(r.trace_number, r.paid_on, r.bill_id, r.payment_id, r.amount_rials) for r in parsed.rows] == [
        ("123456", date(2026, 12, 5), BILL, PAY, 1_250_000),
        ("A77", date(2026, 12, 5), BILL_777, PAY_777, 350_000),  # dashes dropped, as in every identifier
        ("88", date(2026, 12, 5), BILL, PAY, 1_250_000),
    ]


def test_unreadable_rows_make_the_whole_report_refused() -> None:
    parsed = parse_settlement_csv(
        report(
            f"{BILL},{PAY},1250000,1405/09/14,T1",
            f"12345,{PAY},1250000,1405/09/14,T2",  # a bill ID too short
            f"{BILL},{PAY},,1405/09/14,T3",  # no amount
            f"{BILL},{PAY},1250000,1405/13/40,T4",  # no such day
            f"{BILL},{PAY},1250000,1405/09/14,",  # no trace number
        )
    )
    assert not parsed.ok
    assert [(p.row, p.key) for p in parsed.problems] == [
        (3, "settlements.row.bill_id"),
        (4, "settlements.row.amount"),
        (5, "settlements.row.date"),
        (6, "settlements.row.trace"),
    ]
    assert "row 5: the payment date cannot be read" in parsed.problems[2].render()
    assert "ردیف ۵: تاریخ پرداخت خوانده نشد" in parsed.problems[2].render()


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"", "dues.file.empty"),
        (b"\xff\xfe", "dues.file.not_utf8"),
        (b"bill_id,payment_id,amount_rials\n", "dues.file.columns"),
        (HEADER.encode(), "dues.file.no_rows"),
    ],
)
def test_broken_files(data: bytes, key: str) -> None:
    assert [p.key for p in parse_settlement_csv(data).problems] == [key]


# Applying it (SQLite and PostgreSQL)


async def test_good_rows_are_applied_and_mismatches_listed(factory: Factory) -> None:
    await seed_dues(factory)
    wrong_check = PAY[:-1] + str((int(PAY[-1]) + 1) % 10)
    stranger = billing.bill_id(10_000_999, 311)
    summary = await settle(
        factory,
        report(
            f"{BILL},{PAY},1250000,1405/09/14,T1",  # row 2: applied
            f"{BILL_777},{wrong_check},350000,1405/09/14,T2",  # row 3: the payment ID does not check
            f"{BILL_777},{PAY_777},300000,1405/09/14,T3",  # row 4: not the amount asked
            f"{stranger},{billing.payment_id(1000, 1405, 0, stranger)},1000,1405/09/14,T4",  # row 5: unknown
            f"{BILL},{billing.payment_id(1_000_000, 1405, 0, BILL)},1000000,1405/09/14,T5",  # row 6: not asked
            f"{BILL},{PAY},1250000,1405/09/14,T1",  # row 7: the same payment twice in the report
            f"{BILL},{PAY},1250000,1405/09/15,T6",  # row 8: paid a second time
        ),
    )
    assert outcomes(summary) == [
        (2, Outcome.DUE),
        (3, Outcome.CHECK),
        (4, Outcome.AMOUNT),
        (5, Outcome.UNKNOWN_BILL),
        (6, Outcome.NOT_ASKED),
        (7, Outcome.DUPLICATE),
        (8, Outcome.ALREADY_PAID),
    ]
    assert (summary.applied, summary.applied_rials) == (1, 1_250_000)
    assert [p.row for p in summary.listed] == [3, 4, 5, 6, 7, 8]
    assert "row 5: no due or request has this bill ID" in summary.listed[2].render()
    async with factory() as session:
        dues = {due.code_key: due for due in (await session.scalars(select(Due))).all()}
        settlements = (await session.scalars(select(Settlement).order_by(Settlement.id))).all()
        (batch,) = (await session.scalars(select(SettlementImport))).all()
    assert dues["1234567"].paid_at is not None
    assert dues["777"].paid_at is None
    assert [(s.trace_number, s.outcome, s.due_id) for s in settlements] == [
        ("T1", "due", dues["1234567"].id),
        ("T6", "already_paid", dues["1234567"].id),
    ]
    assert (batch.rows, batch.applied, batch.duplicates, batch.mismatches) == (7, 1, 1, 5)


async def test_the_same_report_twice_changes_nothing(factory: Factory) -> None:
    await seed_dues(factory)
    data = report(f"{BILL},{PAY},1250000,1405/09/14,T1", f"{BILL_777},{PAY_777},350000,1405/09/14,T2")
    first = await settle(factory, data)
    async with factory() as session:
        paid_at = {due.code_key: due.paid_at for due in (await session.scalars(select(Due))).all()}
    again = await settle(factory, data)
    assert first.applied == 2
    assert outcomes(again) == [(2, Outcome.DUPLICATE), (3, Outcome.DUPLICATE)]
    assert again.previous_import_at is not None
    async with factory() as session:
        assert {due.code_key: due.paid_at for due in (await session.scalars(select(Due))).all()} == paid_at
        assert len((await session.scalars(select(Settlement))).all()) == 2


async def test_a_request_awaiting_payment_goes_back_to_the_clerks_and_the_citizen_is_told(
    factory: Factory,
) -> None:
    request_id = await claimed(factory)
    async with unit_of_work(factory, write=True) as session:
        citizens = Citizens(session)
        citizen = await citizens.find("telegram", 1001)
        assert citizen is not None
        await citizens.set_phone(citizen, "09131234567", verified=True)
        await citizens.set_sms_enabled(citizen, True)
    await ask(factory, request_id, 30_000)
    (payment,) = await payments_of(factory, request_id)
    summary = await settle(factory, report(f"{payment.bill_id},{payment.payment_id},30000,1405/09/14,987654"))
    assert outcomes(summary) == [(2, Outcome.REQUEST)]
    assert (await stored(factory, request_id)).status == Status.IN_PROGRESS.value
    (paid,) = await payments_of(factory, request_id)
    assert (paid.status, paid.channel, paid.provider_transaction_id) == ("paid", "bank", "987654")
    rows: list[OutboxMessage] = await outbox(factory)
    keys = [row.payload.get("key") for row in rows]
    assert "notify.citizen.paid" in keys
    (sms,) = [row for row in rows if row.payload.get("key") == "sms.paid"]
    assert sms.phone == "09131234567"
    assert "payments.group.paid" in keys  # the clerks' groups are told

    # The same row in the next day's report: nothing moves again.
    again = await settle(factory, report(f"{payment.bill_id},{payment.payment_id},30000,1405/09/14,987654"))
    assert outcomes(again) == [(2, Outcome.DUPLICATE)]
    assert len(await outbox(factory)) == len(rows)


async def test_a_request_paid_in_the_wallet_or_asked_again_is_listed_not_moved(factory: Factory) -> None:
    request_id = await claimed(factory)
    await ask(factory, request_id, 30_000)
    (first,) = await payments_of(factory, request_id)
    await clerk_acts(factory, resume, request_id, seen=Status.AWAITING_PAYMENT)
    await ask(factory, request_id, 40_000)  # the clerk asks again: the 30,000 asked first is void
    second = next(p for p in await payments_of(factory, request_id) if p.id != first.id)
    async with unit_of_work(factory, write=True) as session:  # the wallet takes the new amount
        assert await record_payment(session, second, "WALLET-1", 40_000, channel=WALLET, groups=GROUPS)
    before = len(await outbox(factory))
    summary = await settle(
        factory,
        report(
            f"{first.bill_id},{first.payment_id},30000,1405/09/14,T1",  # paid at a bank after it was void
            f"{second.bill_id},{second.payment_id},40000,1405/09/14,T2",  # paid at a bank too
        ),
    )
    assert outcomes(summary) == [(2, Outcome.NOT_ASKED), (3, Outcome.ALREADY_PAID)]
    assert len(await outbox(factory)) == before  # nobody is told anything
    assert (await stored(factory, request_id)).status == Status.IN_PROGRESS.value
    async with factory() as session:
        (recorded,) = (await session.scalars(select(Settlement))).all()
    assert (recorded.trace_number, recorded.outcome, recorded.paid_payment_id) == (
        "T2",
        "already_paid",
        second.id,
    )
