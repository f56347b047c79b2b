"""A clerk asks for payment; the citizen pays at a bank or in the Bale wallet and the request moves on (issue #7)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
from pydantic import SecretStr

from bot.payments import inquirer
from bot.platforms import Platform
from desk import billing
from storage.repositories import Payments, Requests

from .conftest import TOKENS  # type: ignore[import-not-found]
from .test_desk import file_request  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

PROVIDER_TOKEN = "WALLET-PROVIDER-e2e"


async def ask_for_payment(world: Any, platform: Platform, amount: str) -> tuple[Any, Any, str]:
    """A citizen files a request, a clerk takes it and asks for ``amount`` (after one amount refused)."""
    clerk = await world.clerk(platform)
    zahra, code = await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.press("🙋 برمی‌دارم", message=card)
    card = await clerk.expect("در حال بررسی")
    await clerk.press("💳 درخواست پرداخت", message=card)
    await clerk.expect("مضربی از ۱۰۰۰ ریال")
    await clerk.send("۱۲۵۰۵۰۰")
    refused = await clerk.expect("مضربی از ۱۰۰۰ ریال باشد")
    assert "شناسه پرداخت" in refused["text"]
    await clerk.send(amount)
    await clerk.expect("درخواست پرداخت برای شهروند فرستاده شد")
    return clerk, zahra, code


def ids_in(text: str) -> tuple[str, str]:
    bill = re.search(r"شناسه قبض: `?(\d+)", text)
    pay = re.search(r"شناسه پرداخت: `?(\d+)", text)
    assert bill is not None, text
    assert pay is not None, text
    return bill.group(1), pay.group(1)


async def invoice_of(citizen: Any, timeout: float = 20) -> dict[str, Any]:  # noqa: ASYNC109 (a test's deadline)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in reversed(await citizen.transcript()):
            if message.get("invoice") and message.get("outgoing"):
                return dict(message)
        await asyncio.sleep(0.1)
    raise AssertionError("no invoice reached the citizen")


async def payment_of(world: Any, code: str) -> Any:
    async with world.miz.factory() as session:
        request = await Requests(session).by_tracking_code(code)
        assert request is not None
        assert request.id is not None
        return request, (await Payments(session).of_request(request.id))[-1]


async def with_wallet(world: Any) -> None:
    world.settings.bale_provider_token = SecretStr(PROVIDER_TOKEN)
    await world.restart()


async def test_the_citizen_gets_the_bill_and_payment_ids(world: Any, platform: Platform) -> None:
    _clerk, zahra, code = await ask_for_payment(world, platform, "۳۰۰۰۰")
    await zahra.expect("۳۰٬۰۰۰ ریال")
    notice = await zahra.expect("شناسه قبض")
    bill_id, payment_id = ids_in(notice["text"])
    assert billing.is_valid_pair(bill_id, payment_id)
    assert billing.amount_of(payment_id) == 30_000
    assert "خودپرداز" in notice["text"], "any bank channel is named"
    _request, payment = await payment_of(world, code)
    assert (payment.bill_id, payment.payment_id, payment.status) == (bill_id, payment_id, "pending")
    await asyncio.sleep(0.5)
    assert not [m for m in await zahra.transcript() if m.get("invoice")], (
        "no invoice without a provider token"
    )


async def test_a_bale_citizen_pays_in_the_wallet_and_the_request_moves_on(world: Any) -> None:
    await with_wallet(world)
    clerk, zahra, code = await ask_for_payment(world, Platform.BALE, "۳۰۰۰۰")
    await zahra.expect("کیف پول بله")
    invoice = await invoice_of(zahra)
    assert invoice["invoice"]["currency"] == "IRR"
    assert invoice["invoice"]["total_amount"] == 30_000
    payments = await world.client.request("GET", f"/sim/bots/{zahra.bot_token}/payments")
    _request, payment = await payment_of(world, code)
    assert payments["invoices"][-1]["payload"] == payment.invoice_payload

    await zahra.pay(invoice)
    receipt = await zahra.expect("دریافت شد")
    assert "۳۰٬۰۰۰" in receipt["text"]
    await clerk.expect("پرداخت درخواست")
    await clerk.expect("در حال بررسی")  # the card is redrawn
    request, payment = await payment_of(world, code)
    assert request.status == "in_progress"
    assert (payment.status, payment.channel) == ("paid", "bale_wallet")
    assert payment.provider_transaction_id

    # What reconciliation asks the wallet (Bale's inquireTransaction) about this payment.
    inquire = inquirer(world.miz.bots[list(TOKENS).index(Platform.BALE)])
    answer = await inquire(payment.provider_transaction_id)
    assert answer is not None
    assert (answer["status"], answer["amount"]) == ("succeed", 30_000)
    assert await inquire("000") is None


async def test_a_wallet_asking_another_amount_is_refused(world: Any) -> None:
    await with_wallet(world)
    _clerk, zahra, code = await ask_for_payment(world, Platform.BALE, "۳۰۰۰۰")
    invoice = await invoice_of(zahra)
    # A tampered wallet: the pre-checkout query will carry another total than the invoice asked.
    stored = next(
        chat.messages[invoice["message_id"]]
        for chat in world.emu.state.private_chats.values()
        if invoice["message_id"] in chat.messages and chat.id == invoice["chat_id"]
    )
    stored.raw["invoice"]["total_amount"] = 3_000
    await zahra.pay(invoice)
    refused = await _invoice_error(zahra, invoice["message_id"])
    assert "مبلغ" in refused
    request, payment = await payment_of(world, code)
    assert (request.status, payment.status) == ("awaiting_payment", "pending")


async def test_a_pre_checkout_answered_too_late_takes_nothing(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await with_wallet(world)
    _clerk, zahra, code = await ask_for_payment(world, Platform.BALE, "۳۰۰۰۰")
    invoice = await invoice_of(zahra)
    # Bale's 10 s window, shortened so the test need not wait it out; the bot's answer is held longer.
    monkeypatch.setattr("emulator.methods.PRE_CHECKOUT_WINDOW", 0.3)
    await world.client.inject_fault(zahra.bot_token, "delay", method="answerPreCheckoutQuery", delay=1.0)
    await zahra.pay(invoice)
    await asyncio.sleep(2.5)
    transcript = await zahra.transcript()
    assert not [m for m in transcript if m.get("successful_payment")]
    assert not next(m for m in transcript if m["message_id"] == invoice["message_id"])["invoice"]["paid"]
    request, payment = await payment_of(world, code)
    assert (request.status, payment.status) == ("awaiting_payment", "pending")


async def _invoice_error(citizen: Any, message_id: int, timeout: float = 20) -> str:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in await citizen.transcript():
            if message["message_id"] == message_id and message.get("invoice", {}).get("error"):
                return str(message["invoice"]["error"])
        await asyncio.sleep(0.1)
    raise AssertionError("the payment was not refused")
