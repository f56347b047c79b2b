"""A building permit names the owner the form asked for, not the messenger's name, and describes the property by
its address, on Telegram and on Bale."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.platforms import Platform
from desk.privacy import mask_name

from .conftest import PDF, png  # type: ignore[import-not-found]
from .test_request import open_card  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

_PRINTED = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


async def test_a_permit_names_the_owner_asked_for_and_the_propertys_address(
    world: Any, platform: Platform
) -> None:
    clerk = await world.clerk(platform)
    zahra = await world.citizen(platform, name="Zizi")  # a messenger nickname, in Latin letters
    await open_card(zahra, "شهرداری فلاورجان", "پروانه", "صدور پروانه ساختمانی")
    await zahra.press("📝 ثبت درخواست")
    await zahra.expect("پرسش ۱ از ۷")
    await zahra.send("۰۴۹۹۳۷۰۸۹۹")
    await zahra.expect("پرسش ۲ از ۷")
    await zahra.send("۲۵۰")
    await zahra.expect("یکی از گزینه‌ها")
    await zahra.press("مسکونی")
    await zahra.expect("پرسش ۴ از ۷")
    await zahra.send("2")
    await zahra.expect("پرسش ۵ از ۷")
    await zahra.press("📍 ارسال موقعیت")
    owner = await zahra.expect("پرسش ۶ از ۷")
    assert "نام و نام خانوادگی مالک" in owner["text"]
    await zahra.send("مریم رضایی")
    await zahra.expect("نشانی ملک")
    await zahra.send("فلاورجان، خیابان امام، کوچه ۱۲، پلاک ۵")
    await zahra.expect("مدرک ۱ از ۴")
    await zahra.send_photo(png(), filename="deed.png")
    await zahra.expect("فایل ۱ از «سند مالکیت» دریافت شد")
    await zahra.press("✅ تمام شد")
    await zahra.expect("مدرک ۲ از ۴")
    await zahra.send_document(PDF, filename="id-card.pdf", mime_type="application/pdf")
    await zahra.expect("مدرک ۳ از ۴")
    await zahra.send_photo(png(16, 12), filename="site.png")
    await zahra.expect("فایل ۱ از «عکس ملک از سمت گذر» دریافت شد")
    await zahra.press("✅ تمام شد")
    await zahra.expect("مدرک ۴ از ۴")
    await zahra.press("⏭ رد کردن")
    await zahra.expect("بازبینی درخواست")
    await zahra.press("✅ ثبت نهایی")
    await zahra.expect("کد رهگیری")

    card = await clerk.expect("صدور پروانه ساختمانی")
    await clerk.press("🙋 برمی‌دارم", message=card)
    card = await clerk.expect("در حال بررسی")
    await clerk.press("✅ انجام شد", message=card)
    await clerk.expect("نتیجه کار را")
    await clerk.send("پروانه صادر شد")
    done = await zahra.expect("کد استعلام")
    found = _PRINTED.search(done["text"])
    assert found is not None, done["text"]

    bank = await world.citizen(platform, name="بانک")
    await bank.send(f"/verify {found.group()}")
    shown = (await bank.expect("این گواهی معتبر است"))["text"]
    masked = mask_name("مریم رضایی")
    assert (masked if platform is Platform.TELEGRAM else masked.replace("*", "∗")) in shown, shown
    assert mask_name("Zizi") not in shown, "the messenger's name is not the holder"
    assert "🏠 ملک: فلاورجان، خیابان امام، کوچه ۱۲، پلاک ۵" in shown, "the property named once"
    assert not re.search(r"\d+\.\d+, \d+", shown), "no raw coordinates"
