"""A citizen looks up their car's annual fee by plate and national ID; on Bale they pay it in the wallet (issue #17)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.platforms import Platform
from desk.billing import bill_id, is_valid_pair
from desk.dues import DueKind, import_dues, parse_dues_csv
from storage.models import Due

from .test_dues_certificates import ask_dues, in_store  # type: ignore[import-not-found]
from .test_payments import invoice_of, with_wallet  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

VEHICLES_CSV = "code,national_id,amount_rials,period\n12-ب-345-67,0499370899,850000,1405\n"
VEHICLE_BILL = bill_id(60_000_001, 311)  # the first vehicle file number at Falavarjan (sample company code)


async def seed_vehicle_dues(world: Any) -> None:
    parsed = parse_dues_csv(VEHICLES_CSV.encode(), kind=DueKind.VEHICLE)
    assert parsed.ok

    async def work(session: Any) -> None:
        await import_dues(
            session,
            parsed.rows,
            organization_id="falavarjan",
            company_code=311,
            kind=DueKind.VEHICLE,
            file_name="vehicles.csv",
            sha256="e2e-vehicles",
            imported_by="e2e",
        )

    await in_store(world, work)


async def test_a_citizen_finds_their_cars_dues_by_plate(world: Any, platform: Platform) -> None:
    await seed_vehicle_dues(world)
    zahra = await world.citizen(platform)
    await zahra.send("/start")
    await zahra.expect("میز خدمت")
    await zahra.press("💳 استعلام و پرداخت عوارض")
    await zahra.expect("عوارض کدام شهرداری")
    await zahra.press("شهرداری فلاورجان")
    asked = await zahra.expect("پلاک خودرو")
    assert "۱۲ ب ۳۴۵ ایران ۶۷" in asked["text"]  # the plate's shape, as an example

    await zahra.send("۱۲ ب ۳۴۵۶")  # a digit short: the shape is explained, the question stays
    refused = await zahra.expect("این پلاک خودرو درست نیست")
    assert "۱۲ ب ۳۴۵ ایران ۶۷" in refused["text"]
    await zahra.send("۶۷ ایران ۳۴۵ ب ۱۲")  # typed as a Persian reader reads the plate, region first
    await zahra.expect("کد ملی مالک")
    await zahra.send("۰۴۹۹۳۷۰۸۹۹")
    found = await zahra.expect("بدهی‌های پرداخت‌نشده")
    text = found["text"]
    assert "عوارض سالیانه خودرو" in text
    assert "۸۵۰٬۰۰۰ ریال" in text
    assert "🚗 پلاک: \u2066۱۲ ب ۳۴۵ ایران ۶۷\u2069" in text  # the plate as mounted, isolated left to right
    assert VEHICLE_BILL in text

    await ask_dues(zahra, "12 ب 345 67")
    await zahra.send("0790419904")  # someone else's national ID
    await zahra.expect("بدهی‌ای با این پلاک و کد ملی")


async def test_a_bale_citizen_pays_their_cars_dues_in_the_wallet(world: Any) -> None:
    await with_wallet(world)
    await seed_vehicle_dues(world)
    zahra = await world.citizen(Platform.BALE)
    await zahra.send("/start")
    await zahra.expect("میز خدمت")
    await ask_dues(zahra, "12B34567")  # the Latin letter B is ب
    await zahra.send("0499370899")
    await zahra.expect("بدهی‌های پرداخت‌نشده")
    offer = await zahra.expect("کیف پول بله")
    await zahra.press("💳 پرداخت در کیف پول بله", message=offer)
    invoice = await invoice_of(zahra)
    assert (invoice["invoice"]["currency"], invoice["invoice"]["total_amount"]) == ("IRR", 850_000)
    await zahra.pay(invoice)
    receipt = await zahra.expect("پرداخت شما دریافت شد")
    assert "عوارض سالیانه خودرو" in receipt["text"]
    assert VEHICLE_BILL in receipt["text"]

    async def the_due(session: Any) -> Any:
        return (await session.scalars(select(Due).where(Due.kind == "vehicle"))).one()

    due = await in_store(world, the_due)
    assert due.paid_at is not None
    assert is_valid_pair(due.bill_id, due.payment_id)
