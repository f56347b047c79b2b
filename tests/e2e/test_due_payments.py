"""A Bale citizen pays a due in the Bale wallet from the dues answer; Telegram keeps the bank IDs (issue #7)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from bot.platforms import Platform
from storage.models import Due
from storage.repositories import Payments

from .test_dues_certificates import BILL, ask_dues, in_store, seed_dues  # type: ignore[import-not-found]
from .test_payments import invoice_of, with_wallet  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

PAY = "💳 پرداخت در کیف پول بله"


async def look_up(world: Any, platform: Platform, name: str = "زهرا") -> Any:
    citizen = await world.citizen(platform, name=name)
    await citizen.send("/start")
    await citizen.expect("میز خدمت")
    await ask_dues(citizen, "12-34-567")
    await citizen.send("0499370899")
    await citizen.expect("بدهی‌های پرداخت‌نشده")
    return citizen


def buttons(message: dict[str, Any]) -> list[str]:
    return [button["text"] for row in message.get("buttons", []) for button in row]


async def test_a_bale_citizen_pays_a_due_in_the_wallet(world: Any) -> None:
    await with_wallet(world)
    await seed_dues(world)  # two dues: 1404 (300,000) and 1405 (1,250,000)
    zahra = await look_up(world, Platform.BALE)
    offer = await zahra.expect("کیف پول بله")
    labels = buttons(offer)
    assert labels == ["💳 سال ۱۴۰۴: ۳۰۰٬۰۰۰ ریال", "💳 سال ۱۴۰۵: ۱٬۲۵۰٬۰۰۰ ریال"], labels

    await zahra.press("💳 سال ۱۴۰۵: ۱٬۲۵۰٬۰۰۰ ریال", message=offer)
    invoice = await invoice_of(zahra)
    assert (invoice["invoice"]["currency"], invoice["invoice"]["total_amount"]) == ("IRR", 1_250_000)
    assert "۱۴۰۵" in invoice["invoice"]["title"]

    await zahra.pay(invoice)
    receipt = await zahra.expect("پرداخت شما دریافت شد")
    text = receipt["text"]
    assert "سال ۱۴۰۵" in text
    assert "۱٬۲۵۰٬۰۰۰" in text
    assert BILL in text

    async def paid_due(session: Any) -> tuple[Any, Any]:
        due = (await session.scalars(select(Due).where(Due.period_year == 1405))).one()
        (payment,) = await Payments(session).of_due(due.id)
        return due, payment

    due, payment = await in_store(world, paid_due)
    assert due.paid_at is not None
    assert (payment.status, payment.channel) == ("paid", "bale_wallet")
    assert payment.provider_transaction_id
    assert payment.provider_transaction_id in text

    # Looking up again: only 1404 is left, with one button to pay it.
    await ask_dues(zahra, "12-34-567")
    await zahra.send("0499370899")
    again = await zahra.expect("بدهی‌های پرداخت‌نشده")
    assert "سال ۱۴۰۵" not in again["text"]
    assert "سال ۱۴۰۴" in again["text"]
    assert buttons(await zahra.expect("کیف پول بله")) == [PAY]

    # The old 1405 button again: a polite message, no new invoice.
    invoices = len([m for m in await zahra.transcript() if m.get("invoice")])
    await zahra.press("💳 سال ۱۴۰۵: ۱٬۲۵۰٬۰۰۰ ریال", message=offer)
    await zahra.expect("پیش‌تر پرداخت شده است")
    await asyncio.sleep(0.5)
    assert len([m for m in await zahra.transcript() if m.get("invoice")]) == invoices


async def test_when_every_due_is_paid_the_look_up_says_so(world: Any) -> None:
    await with_wallet(world)
    await seed_dues(world)
    zahra = await look_up(world, Platform.BALE)
    offer = await zahra.expect("کیف پول بله")
    for label in ("💳 سال ۱۴۰۴: ۳۰۰٬۰۰۰ ریال", "💳 سال ۱۴۰۵: ۱٬۲۵۰٬۰۰۰ ریال"):
        before = {m["message_id"] for m in await zahra.transcript() if m.get("invoice")}
        await zahra.press(label, message=offer)
        invoice = await _new_invoice(zahra, before)
        await zahra.pay(invoice)
        await zahra.expect("پرداخت شما دریافت شد")
    await ask_dues(zahra, "12-34-567")
    await zahra.send("0499370899")
    await zahra.expect("بدهی پرداخت‌نشده‌ای")


async def _new_invoice(citizen: Any, before: set[int], timeout: float = 20) -> dict[str, Any]:  # noqa: ASYNC109
    for _ in range(int(timeout * 10)):
        invoice = await invoice_of(citizen)
        if invoice["message_id"] not in before:
            return invoice
        await asyncio.sleep(0.1)
    raise AssertionError("no new invoice reached the citizen")


@pytest.mark.parametrize("wallet", [False, True], ids=["bale-without-token", "telegram-with-token"])
async def test_no_pay_button_without_the_wallet(world: Any, wallet: bool) -> None:
    if wallet:
        await with_wallet(world)
    platform = Platform.TELEGRAM if wallet else Platform.BALE
    await seed_dues(world)
    zahra = await look_up(world, platform)
    await asyncio.sleep(1.0)
    transcript = await zahra.transcript()
    labels = [label for m in transcript for label in buttons(m)]
    assert not [label for label in labels if "💳" in label], labels
    assert not [m for m in transcript if "کیف پول بله" in (m.get("text") or "")]
