"""A citizen pays a request's bill at a bank; the admin imports the bank's report, the citizen is told by message
and SMS, and the request is back in the clerks' queue (issue #17)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main as miz
from bot.platforms import Platform

from .test_payments import ids_in, payment_of  # type: ignore[import-not-found]
from .test_sms import file_with_own_number  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow


async def test_a_bill_paid_at_a_bank_moves_the_request_on_once_the_report_is_imported(
    world: Any, platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk = await world.clerk(platform)
    zahra = await world.citizen(platform)
    code = await file_with_own_number(zahra)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.press("🙋 برمی‌دارم", message=card)
    card = await clerk.expect("در حال بررسی")
    await clerk.press("💳 درخواست پرداخت", message=card)
    await clerk.expect("مضربی از ۱۰۰۰ ریال")
    await clerk.send("۳۰۰۰۰")
    await clerk.expect("درخواست پرداخت برای شهروند فرستاده شد")
    notice = await zahra.expect("شناسه قبض")
    bill, pay = ids_in(notice["text"])

    # Zahra pays at her bank's app; the next morning the bank's report reaches the municipality's admin.
    report = tmp_path / "bank-1405-09-14.csv"
    report.write_text(
        f"شناسه قبض,شناسه پرداخت,مبلغ,تاریخ,شماره پیگیری\n{bill},{pay},30000,1405/09/14,556677\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("MIZ_CATALOG_DIR", str(world.settings.catalog_dir))
    command = ["payments", "import", "--url", world.settings.database_url, str(report)]
    assert await asyncio.to_thread(miz, command) == 0

    told = await zahra.expect("پرداخت ۳۰٬۰۰۰ ریال دریافت شد")
    assert "556677" in told["text"]  # the bank's trace number
    await world.client.expect_sms(zahra.user["phone_number"], "۳۰٬۰۰۰ ریال")
    paid = await clerk.expect("از راه بانک")
    assert "556677" in paid["text"]
    await clerk.expect("در حال بررسی")  # the card is redrawn, back in the clerks' queue
    request, payment = await payment_of(world, code)
    assert request.status == "in_progress"
    assert (payment.status, payment.channel, payment.provider_transaction_id) == ("paid", "bank", "556677")

    # The same report again (imported twice by mistake): nobody is told anything twice.
    before = len(await zahra.transcript())
    assert await asyncio.to_thread(miz, command) == 0
    await asyncio.sleep(1.5)
    assert len(await zahra.transcript()) == before
