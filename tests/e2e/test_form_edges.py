"""Odd input in the middle of a form gets a polite Persian answer and loses nothing, on Telegram and on Bale."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.platforms import Platform
from storage.db import create_engine
from storage.models import Document, ServiceRequest

from .conftest import png  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow


def buttons(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message.get("buttons", []) for b in row]


async def count(world: Any, model: Any) -> int:
    engine = create_engine(world.settings.database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())
    finally:
        await engine.dispose()


async def reach_the_photo_of_a_problem_report(person: Any) -> None:
    """From /start to the document step of a street problem report in Oshtorjan, answering every question."""
    await person.send("/start")
    await person.expect("میز خدمت")
    await person.press("🗂 خدمات و ثبت درخواست")
    await person.expect("شهر یا روستای خود")
    while "دهیاری اشترجان" not in buttons(person.last_message):
        await person.press(next(b for b in buttons(person.last_message) if b.startswith("بعدی")))
        await person.expect("شهر یا روستای خود")
    await person.press("دهیاری اشترجان")
    await person.expect("گروه خدمت")
    await person.send("گزارش")
    await person.expect("پیدا شد")
    await person.press("گزارش مشکلات شهری و روستایی")
    await person.expect("مدارک لازم")
    await person.press("📝 ثبت درخواست")
    await person.expect("یکی از گزینه‌ها")
    await person.press(next(b for b in buttons(person.last_message) if "روشنایی" in b))
    await person.expect("پرسش ۲ از ۴")
    await person.send("سه چراغ کوچه از یک هفته پیش خاموش است")
    await person.expect("پرسش ۳ از ۴")
    await person.press("📍 ارسال موقعیت")
    await person.expect("یکی از گزینه‌ها")
    await person.press("بله")
    await person.expect("مدرک ۱ از ۱")


async def test_a_sticker_instead_of_a_document_is_refused_politely_and_the_document_asked_again(
    world: Any, platform: Platform
) -> None:
    ali = await world.citizen(platform, name="علی")
    await reach_the_photo_of_a_problem_report(ali)

    await ali.send_sticker("😀")
    refusal = await ali.expect("عکس یا فایل مدرک را بفرستید")
    assert "استیکر" in refusal["text"], "the citizen is told a sticker is not a document"
    again = await ali.expect("مدرک ۱ از ۱")
    assert "عکس مشکل" in again["text"], "the same document is asked again"

    await ali.send_photo(png(), filename="street-light.png")
    await ali.expect("«عکس مشکل» دریافت شد")
    review = await ali.expect("بازبینی درخواست")
    assert "خرابی روشنایی معابر" in review["text"], "the answers given before the sticker are kept"
    assert "سه چراغ کوچه از یک هفته پیش خاموش است" in review["text"]
    assert "✅ عکس مشکل" in review["text"]

    await ali.press("✅ ثبت نهایی")
    await ali.expect("کد رهگیری")
    assert await count(world, ServiceRequest) == 1
    assert await count(world, Document) == 1, "the photo is kept and the sticker is not taken for a document"
