"""Payments for requests (issue #7), on SQLite and PostgreSQL: bill and payment IDs, recording, reconciling."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from desk import billing, payments
from desk.dues import FILE_RANGE
from desk.errors import ValidationError
from desk.handling import claim, resume
from desk.lifecycle import Status
from storage.models import Payment
from storage.repositories import Payments
from storage.uow import unit_of_work

from .test_handling import (  # type: ignore[import-not-found]
    CLERK,
    GROUPS,
    all_events,
    clerk_acts,
    file_request,
    outbox,
    rows_for,
    snapshot_counts,
    stored,
)

Factory = async_sessionmaker[AsyncSession]
COMPANY = 311
TODAY = date(2026, 4, 1)  # 12 Farvardin 1405


async def ask(
    factory: Factory,
    request_id: int,
    amount: int,
    *,
    seen: Status = Status.IN_PROGRESS,
    company_code: int | None = COMPANY,
    bale_invoice: bool = False,
) -> None:
    async with unit_of_work(factory, write=True) as session:
        await payments.ask_payment(
            session,
            request_id,
            CLERK,
            amount,
            company_code=company_code,
            bale_invoice=bale_invoice,
            seen_status=seen,
            groups=GROUPS,
            today=TODAY,
        )


async def claimed(factory: Factory, **kwargs: Any) -> int:
    request_id, _code = await file_request(factory, **kwargs)
    await clerk_acts(factory, claim, request_id, seen=Status.SUBMITTED)
    return request_id


async def payments_of(factory: Factory, request_id: int) -> list[Payment]:
    async with factory() as session:
        return list(await Payments(session).of_request(request_id))


async def record(factory: Factory, payment: Payment, reference: str = "TX-1", **kwargs: Any) -> bool:
    async with unit_of_work(factory, write=True) as session:
        return await payments.record_payment(
            session, payment, reference, kwargs.pop("amount", payment.amount_rials), groups=GROUPS, **kwargs
        )


async def test_a_request_payment_has_a_valid_bill_and_payment_id_that_carry_the_amount(
    factory: Factory,
) -> None:
    request_id = await claimed(factory)
    await ask(factory, request_id, 1_250_000)
    (payment,) = await payments_of(factory, request_id)
    assert billing.is_valid_pair(payment.bill_id, payment.payment_id)
    assert billing.amount_of(payment.payment_id) == 1_250_000
    assert payment.bill_id[:-5] == str(payments.file_number(request_id))
    assert payment.bill_id[:-5].startswith("5"), "requests' file numbers start with 5; dues use 1 to 4"
    assert payment.bill_id[-5:-2] == "311"
    assert payment.bill_id[-2] == str(billing.MUNICIPALITY_SERVICE)
    assert payment.payment_id[-5:-2] == "501", "year 1405's last digit, then the first payment of the request"
    assert payment.status == "pending"
    assert payment.channel == "bank"
    assert len(payment.invoice_payload) >= 32
    assert (await stored(factory, request_id)).status == Status.AWAITING_PAYMENT.value


async def test_the_citizen_gets_the_ids_after_the_awaiting_payment_notice(factory: Factory) -> None:
    request_id = await claimed(factory)
    await ask(factory, request_id, 17_000)
    (payment,) = await payments_of(factory, request_id)
    rows = [row for row in await outbox(factory) if row.chat_id == 1011]
    keys = [row.payload.get("key") for row in rows]
    assert keys.index("notify.citizen.awaiting_payment") < keys.index("payments.notice")
    notice = next(row for row in rows if row.payload.get("key") == "payments.notice")
    assert notice.payload["params"]["bill_id"] == payment.bill_id
    assert notice.payload["params"]["payment_id"] == payment.payment_id
    assert notice.payload["params"]["amount"] == "۱۷٬۰۰۰"
    assert not [row for row in rows if row.payload.get("type") == "invoice"], "no invoice on Telegram"


async def test_a_bale_citizen_gets_an_invoice_when_the_wallet_is_configured(factory: Factory) -> None:
    request_id = await claimed(factory, platform="bale", user_id=2001)
    await ask(factory, request_id, 30_000, bale_invoice=True)
    (payment,) = await payments_of(factory, request_id)
    assert payment.channel == "bale_wallet"
    (invoice,) = [row for row in await outbox(factory) if row.payload.get("type") == "invoice"]
    assert invoice.platform == "bale"
    assert invoice.payload["payload"] == payment.invoice_payload
    assert invoice.payload["amount_rials"] == 30_000


@pytest.mark.parametrize("amount", [1_250_500, 999, 10**11])
async def test_an_amount_a_payment_id_cannot_carry_is_refused_and_nothing_is_written(
    factory: Factory, amount: int
) -> None:
    request_id = await claimed(factory)
    before = await snapshot_counts(factory)
    with pytest.raises(ValidationError) as raised:
        await ask(factory, request_id, amount)
    assert raised.value.key == "payments.amount_thousands"
    assert "۱۰۰۰" in raised.value.render("fa")
    assert await snapshot_counts(factory) == before
    assert (await stored(factory, request_id)).status == Status.IN_PROGRESS.value


async def test_without_a_company_code_only_the_amount_is_told(factory: Factory) -> None:
    request_id = await claimed(factory)
    await ask(factory, request_id, 1_250_500, company_code=None)
    assert await payments_of(factory, request_id) == []
    assert (await stored(factory, request_id)).status == Status.AWAITING_PAYMENT.value


async def test_record_payment_moves_the_request_on_and_is_idempotent(factory: Factory) -> None:
    request_id = await claimed(factory)
    await ask(factory, request_id, 40_000)
    (payment,) = await payments_of(factory, request_id)
    assert await record(factory, payment, "TX-77") is True
    request = await stored(factory, request_id)
    assert request.status == Status.IN_PROGRESS.value
    last = (await all_events(factory, request_id))[-1]
    assert (last.actor_kind, last.to_status, last.public, last.text) == (
        "system",
        "in_progress",
        True,
        "TX-77",
    )
    (paid,) = await payments_of(factory, request_id)
    assert (paid.status, paid.provider_transaction_id, paid.channel) == ("paid", "TX-77", "bank")
    assert paid.paid_at is not None
    rows = await outbox(factory)
    receipt = rows_for(rows, f"event:{last.id}:citizen")
    assert receipt[0].payload["key"] == "notify.citizen.paid"
    assert len(rows_for(rows, f"event:{last.id}:card:telegram")) == 1
    assert {row.dedupe_key for row in rows if row.payload.get("key") == "payments.group.paid"} == {
        f"payment:{paid.id}:group:bale",
        f"payment:{paid.id}:group:telegram",
    }

    before = await snapshot_counts(factory)
    assert await record(factory, payment, "TX-77") is False
    assert await snapshot_counts(factory) == before


async def test_record_payment_refuses_another_amount(factory: Factory) -> None:
    request_id = await claimed(factory)
    await ask(factory, request_id, 40_000)
    (payment,) = await payments_of(factory, request_id)
    with pytest.raises(ValidationError):
        await record(factory, payment, amount=39_000)
    assert (await stored(factory, request_id)).status == Status.AWAITING_PAYMENT.value


async def test_asking_again_cancels_the_pending_payment_and_gives_a_new_payment_id(factory: Factory) -> None:
    request_id = await claimed(factory)
    await ask(factory, request_id, 40_000)
    (first,) = await payments_of(factory, request_id)
    await record(factory, first)
    await ask(factory, request_id, 40_000)
    second = (await payments_of(factory, request_id))[-1]
    assert second.bill_id == first.bill_id, "one bill ID per request"
    assert second.payment_id != first.payment_id, "the payment's number is its period"
    assert billing.is_valid_pair(second.bill_id, second.payment_id)


async def test_a_payment_arriving_after_the_clerk_resumed_only_gives_a_receipt(factory: Factory) -> None:
    request_id = await claimed(factory)
    await ask(factory, request_id, 40_000)
    (payment,) = await payments_of(factory, request_id)
    await clerk_acts(factory, resume, request_id, seen=Status.AWAITING_PAYMENT)
    events = len(await all_events(factory, request_id))
    assert await record(factory, payment) is True
    assert len(await all_events(factory, request_id)) == events
    keys = {row.payload.get("key") for row in await outbox(factory)}
    assert "payments.receipt" in keys


async def test_check_checkout_accepts_only_the_pending_amount(factory: Factory) -> None:
    request_id = await claimed(factory, platform="bale", user_id=2002)
    await ask(factory, request_id, 30_000, bale_invoice=True)
    (payment,) = await payments_of(factory, request_id)
    async with factory() as session:
        token = payment.invoice_payload
        assert (await payments.check_checkout(session, token, 30_000, "IRR")).ok
        wrong = await payments.check_checkout(session, token, 3_000, "IRR")
        assert (wrong.ok, wrong.error_key) == (False, "payments.checkout.amount")
        unknown = await payments.check_checkout(session, "nope", 30_000, "IRR")
        assert (unknown.ok, unknown.error_key) == (False, "payments.checkout.not_pending")
    await record(factory, payment)
    async with factory() as session:
        assert not (await payments.check_checkout(session, payment.invoice_payload, 30_000, "IRR")).ok


async def test_reconcile_records_what_the_wallet_says_was_paid(factory: Factory) -> None:
    request_id = await claimed(factory, platform="bale", user_id=2003)
    await ask(factory, request_id, 30_000, bale_invoice=True)
    (payment,) = await payments_of(factory, request_id)
    async with unit_of_work(factory, write=True) as session:
        await payments.note_transaction(session, payment.invoice_payload, "W-1")
    asked: list[str] = []

    async def inquire(transaction_id: str) -> Mapping[str, Any] | None:
        asked.append(transaction_id)
        return {"id": transaction_id, "status": "succeed", "amount": 30_000}

    def groups_of(_org: str) -> Mapping[str, int]:
        return GROUPS

    young = await payments.reconcile(factory, inquire, groups_of=groups_of, older_than=timedelta(minutes=5))
    assert (young, asked) == (0, []), "a payment asked just now is left alone"
    done = await payments.reconcile(factory, inquire, groups_of=groups_of, older_than=timedelta(0))
    assert (done, asked) == (1, ["W-1"])
    (paid,) = await payments_of(factory, request_id)
    assert (paid.status, paid.channel) == ("paid", "bale_wallet")
    assert (await stored(factory, request_id)).status == Status.IN_PROGRESS.value
    assert await payments.reconcile(factory, inquire, groups_of=groups_of, older_than=timedelta(0)) == 0


def test_request_file_numbers_stay_clear_of_the_dues_ranges() -> None:
    assert payments.file_number(1) == 5 * FILE_RANGE + 1
    assert payments.file_number(FILE_RANGE - 1) < 6 * FILE_RANGE
    with pytest.raises(ValueError, match="file number"):
        payments.file_number(FILE_RANGE)
