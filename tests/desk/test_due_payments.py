"""Dues paid in the Bale wallet (issue #7), on SQLite and PostgreSQL: the invoice, the pre-checkout answer,
recording once, the due marked paid, reconciliation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from desk import payments
from desk.dues import DueKind, import_dues, lookup_dues, parse_dues_csv
from desk.errors import NotFound, ValidationError
from storage.models import Citizen, Due, Payment
from storage.repositories import Citizens, Dues, Payments
from storage.uow import unit_of_work

from .test_handling import GROUPS, outbox  # type: ignore[import-not-found]

Factory = async_sessionmaker[AsyncSession]
CSV = "code,national_id,amount_rials,period\n12-34-567,0499370899,1250000,1405\n12-34-567,0499370899,300000,1404\n"
HOLDER = "0499370899"


async def _import(factory: Factory, text: str = CSV) -> None:
    parsed = parse_dues_csv(text.encode())
    assert parsed.ok, parsed.problems
    async with unit_of_work(factory, write=True) as session:
        await import_dues(
            session,
            parsed.rows,
            organization_id="falavarjan",
            company_code=311,
            kind=DueKind.RENOVATION,
            file_name="dues.csv",
            sha256=str(hash(text)),
            imported_by="tester",
        )


async def _citizen(factory: Factory, user_id: int = 3001) -> Citizen:
    async with unit_of_work(factory, write=True) as session:
        return await Citizens(session).get_or_create("bale", user_id, chat_id=user_id, first_name="زهرا")


async def _due_1405(factory: Factory) -> Due:
    async with factory() as session:
        view = await lookup_dues(session, "falavarjan", "1234567", HOLDER)
        (due_id,) = [d.due_id for d in view.unpaid if d.period.year == 1405]
        assert due_id is not None
        due = await Dues(session).get(due_id)
        assert due is not None
        return due


async def _offer(factory: Factory, due: Due, citizen: Citizen) -> Payment:
    assert due.id is not None
    async with unit_of_work(factory, write=True) as session:
        return await payments.offer_due_payment(session, due.id, citizen, payment_id=due.payment_id)


async def _record(factory: Factory, payment: Payment, reference: str = "W-1", **kwargs: Any) -> bool:
    async with unit_of_work(factory, write=True) as session:
        return await payments.record_payment(
            session,
            payment,
            reference,
            kwargs.pop("amount", payment.amount_rials),
            channel=payments.WALLET,
            groups=GROUPS,
        )


async def _checkout(factory: Factory, payment: Payment, amount: int) -> payments.Checkout:
    async with factory() as session:
        return await payments.check_checkout(session, payment.invoice_payload, amount, "IRR")


@pytest.fixture
async def offered(factory: Factory) -> tuple[Due, Citizen, Payment]:
    await _import(factory)
    citizen = await _citizen(factory)
    due = await _due_1405(factory)
    assert due.id is not None
    return due, citizen, await _offer(factory, due, citizen)


async def test_an_invoice_for_the_due_is_queued_with_its_ids(
    factory: Factory, offered: tuple[Due, Citizen, Payment]
) -> None:
    due, citizen, payment = offered
    assert (payment.due_id, payment.citizen_id, payment.request_id) == (due.id, citizen.id, None)
    assert (payment.bill_id, payment.payment_id) == (due.bill_id, due.payment_id)
    assert (payment.amount_rials, payment.status, payment.channel) == (1_250_000, "pending", "bale_wallet")
    (invoice,) = [row for row in await outbox(factory) if row.payload.get("type") == "invoice"]
    assert (invoice.platform, invoice.chat_id) == ("bale", citizen.chat_id)
    assert invoice.payload["payload"] == payment.invoice_payload
    assert invoice.payload["amount_rials"] == 1_250_000
    assert invoice.payload["params"]["period"] == "سال ۱۴۰۵"
    assert invoice.payload["params"]["org"] == "falavarjan"


async def test_a_due_payment_is_recorded_once_and_the_due_marked_paid(
    factory: Factory, offered: tuple[Due, Citizen, Payment]
) -> None:
    due, citizen, payment = offered
    assert (await _checkout(factory, payment, 1_250_000)).ok
    assert await _record(factory, payment, "W-77") is True
    async with factory() as session:
        assert due.id is not None
        stored = await Dues(session).get(due.id)
        assert stored is not None
        assert stored.paid_at is not None
        (paid,) = await Payments(session).of_due(due.id)
    assert (paid.status, paid.provider_transaction_id, paid.channel) == ("paid", "W-77", "bale_wallet")
    rows = [row for row in await outbox(factory) if row.payload.get("key") == "payments.due_receipt"]
    assert len(rows) == 1
    assert rows[0].chat_id == citizen.chat_id
    params = rows[0].payload["params"]
    assert (params["period"], params["amount"], params["bill_id"], params["text"]) == (
        "سال ۱۴۰۵",
        "۱٬۲۵۰٬۰۰۰",
        due.bill_id,
        "W-77",
    )

    before = len(await outbox(factory))
    assert await _record(factory, payment, "W-77") is False, "a repeated receipt records nothing"
    assert len(await outbox(factory)) == before
    async with factory() as session:
        view = await lookup_dues(session, "falavarjan", "12-34-567", HOLDER)
    assert [d.period.year for d in view.unpaid] == [1404]
    assert view.paid_count == 1


async def test_a_wrong_amount_is_refused_at_pre_checkout(
    factory: Factory, offered: tuple[Due, Citizen, Payment]
) -> None:
    _due, _citizen, payment = offered
    wrong = await _checkout(factory, payment, 125_000)
    assert (wrong.ok, wrong.error_key) == (False, "payments.checkout.amount")
    with pytest.raises(ValidationError):
        await _record(factory, payment, amount=125_000)


async def test_a_paid_due_refuses_a_new_invoice_and_its_old_invoice(
    factory: Factory, offered: tuple[Due, Citizen, Payment]
) -> None:
    due, citizen, first = offered
    assert due.id is not None
    second = await _offer(factory, due, citizen)  # pressed twice: two invoices
    assert await _record(factory, first) is True
    refused = await _checkout(factory, second, 1_250_000)
    assert (refused.ok, refused.error_key) == (False, "payments.checkout.due_paid")
    invoices = len([row for row in await outbox(factory) if row.payload.get("type") == "invoice"])
    with pytest.raises(ValidationError) as raised:
        await _offer(factory, due, citizen)
    assert raised.value.key == "payments.due.paid"
    assert "پرداخت شده" in raised.value.render("fa")
    assert len([row for row in await outbox(factory) if row.payload.get("type") == "invoice"]) == invoices


async def test_a_due_replaced_by_an_import_refuses_its_invoice(
    factory: Factory, offered: tuple[Due, Citizen, Payment]
) -> None:
    due, citizen, payment = offered
    assert due.id is not None
    await _import(factory, CSV.replace("1250000", "1300000"))
    async with factory() as session:
        stale = await Payments(session).by_token(payment.invoice_payload)
    assert stale is not None
    assert stale.due_id is None, "the replaced due's payment is kept, unlinked"
    refused = await _checkout(factory, payment, 1_250_000)
    assert (refused.ok, refused.error_key) == (False, "payments.checkout.not_pending")
    with pytest.raises(NotFound):
        await _offer(factory, due, citizen)


async def test_reconcile_settles_a_due_payment_the_wallet_took(
    factory: Factory, offered: tuple[Due, Citizen, Payment]
) -> None:
    due, _citizen, payment = offered
    async with unit_of_work(factory, write=True) as session:
        await payments.note_transaction(session, payment.invoice_payload, "W-9")

    async def inquire(transaction_id: str) -> Mapping[str, Any] | None:
        return {"id": transaction_id, "status": "succeed", "amount": 1_250_000}

    def groups_of(_org: str) -> Mapping[str, int]:
        return GROUPS

    done = await payments.reconcile(factory, inquire, groups_of=groups_of, older_than=timedelta(0))
    assert done == 1
    async with factory() as session:
        assert due.id is not None
        stored = await Dues(session).get(due.id)
        assert stored is not None
        assert stored.paid_at is not None
    assert await payments.reconcile(factory, inquire, groups_of=groups_of, older_than=timedelta(0)) == 0
