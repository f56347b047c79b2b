"""Odd input in the middle of a form gets a polite Persian answer and loses nothing, on Telegram and on Bale."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import func, select

from bot.platforms import Platform
from storage.db import create_engine
from storage.models import Document, ServiceRequest

from .conftest import PDF, TOKENS, png  # type: ignore[import-not-found]
from .test_request import (  # type: ignore[import-not-found]
    buttons,
    fill_every_field,
    open_card,
    report_a_dark_street,
)

pytestmark = pytest.mark.slow


async def count(world: Any, model: Any) -> int:
    engine = create_engine(world.settings.database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())
    finally:
        await engine.dispose()


async def test_a_sticker_instead_of_a_document_is_refused_politely_and_the_document_asked_again(
    world: Any, platform: Platform
) -> None:
    ali = await world.citizen(platform, name="علی")
    await report_a_dark_street(ali)

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


CONTINUE = "▶️ ادامهٔ همین درخواست"
START_NEW = "🆕 شروع درخواست تازه"


async def two_answers_into_a_building_permit(person: Any) -> dict[str, Any]:
    """Open the building permit's card, start its form and answer two of its five questions; answers the card."""
    card = await open_card(person, "شهرداری فلاورجان", "پروانه", "صدور پروانه ساختمانی")
    await person.press("📝 ثبت درخواست")
    await person.expect("پرسش ۱ از ۷")
    await person.send("۰۴۹۹۳۷۰۸۹۹")
    await person.expect("پرسش ۲ از ۷")
    await person.send("۲۵۰")
    await person.expect("یکی از گزینه‌ها")
    return card


async def test_start_again_on_a_half_filled_form_asks_and_continue_keeps_the_answers(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await two_answers_into_a_building_permit(zahra)

    await zahra.press("📝 ثبت درخواست")  # the same card's button again
    asked = await zahra.expect("نیمه‌تمام")
    assert "صدور پروانه ساختمانی" in asked["text"]
    assert "۲ از ۷" in asked["text"], "the citizen sees how far the open form got"
    assert buttons(asked) == [CONTINUE, START_NEW]

    await zahra.press(CONTINUE)
    await zahra.expect("پرسش ۳ از ۷")  # the same question comes back
    await zahra.press("مسکونی")
    await zahra.expect("پرسش ۴ از ۷")
    await zahra.send("2")
    await zahra.expect("پرسش ۵ از ۷")
    await zahra.press("📍 ارسال موقعیت")
    await zahra.expect("پرسش ۶ از ۷")
    await zahra.send("زهرا احمدی")  # the holder, written on the permit
    await zahra.expect("پرسش ۷ از ۷")
    await zahra.send("فلاورجان، خیابان امام، کوچه ۱۲، پلاک ۵")
    await zahra.expect("مدرک ۱ از ۴")
    await zahra.send_photo(png(), filename="deed.png")
    await zahra.expect("فایل ۱ از «سند مالکیت» دریافت شد")
    await zahra.press("✅ تمام شد")
    await zahra.expect("مدرک ۲ از ۴")
    await zahra.send_document(PDF, filename="id-card.pdf", mime_type="application/pdf")
    await zahra.expect("مدرک ۳ از ۴")
    await zahra.send_album([png(16, 12), png(18, 12)])  # "one or two photos": both, and the form goes on
    await zahra.expect("مدرک ۴ از ۴")
    await zahra.press("⏭ رد کردن")
    review = await zahra.expect("بازبینی درخواست")
    assert "۰۴۹۹۳۷۰۸۹۹" in review["text"], "the answers given before the question are kept"
    assert "۲۵۰" in review["text"]
    assert "مسکونی" in review["text"]
    await zahra.press("✅ ثبت نهایی")
    await zahra.expect("کد رهگیری")
    assert await count(world, ServiceRequest) == 1


async def test_start_new_from_an_older_card_of_another_service_starts_afresh(
    world: Any, platform: Platform
) -> None:
    reza = await world.citizen(platform, name="رضا")
    other_card = await open_card(reza, "شهرداری فلاورجان", "آزمون", "آزمون همه پرسش‌ها")
    await two_answers_into_a_building_permit(reza)

    await reza.press("📝 ثبت درخواست", message=other_card)  # an older card, higher up in the chat
    asked = await reza.expect("نیمه‌تمام")
    assert "صدور پروانه ساختمانی" in asked["text"], (
        "the question names the open form, not the pressed service"
    )
    await reza.press(START_NEW)
    intro = await reza.expect("آزمون همه پرسش‌ها")
    assert "ثبت درخواست" in intro["text"]
    await fill_every_field(reza)  # from question 1 of the pressed service
    await reza.expect("مدرک ۱ از ۲")


async def test_start_new_on_the_same_card_starts_at_question_one(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    await two_answers_into_a_building_permit(zahra)
    await zahra.press("📝 ثبت درخواست")
    await zahra.expect("نیمه‌تمام")
    await zahra.press(START_NEW)
    await zahra.expect("پرسش ۱ از ۷")
    await zahra.send("0790419904")
    await zahra.expect("پرسش ۲ از ۷")
    await zahra.send("۱۸۰")
    await zahra.expect("یکی از گزینه‌ها")
    await zahra.press("📝 ثبت درخواست")
    asked = await zahra.expect("نیمه‌تمام")
    assert "۲ از ۷" in asked["text"], "the new form counts only its own answers"


async def test_start_on_a_card_with_an_empty_open_form_just_starts(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    await open_card(zahra, "شهرداری فلاورجان", "پروانه", "صدور پروانه ساختمانی")
    await zahra.press("📝 ثبت درخواست")
    await zahra.expect("پرسش ۱ از ۷")
    await zahra.press("📝 ثبت درخواست")  # nothing answered yet: nothing to lose
    await zahra.expect("پرسش ۱ از ۷")
    assert not any("نیمه‌تمام" in m.get("text", "") for m in await zahra.transcript())


async def test_continue_or_start_new_pressed_after_the_form_was_cancelled(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await two_answers_into_a_building_permit(zahra)
    await zahra.press("📝 ثبت درخواست")
    await zahra.expect("نیمه‌تمام")
    await zahra.press("✖️ انصراف")
    await zahra.expect("لغو شد")

    await zahra.press(CONTINUE, wait_answer=20)  # the form it would continue is gone
    assert zahra.last_answer is not None
    assert "دیگر کار نمی‌کند" in zahra.last_answer["text"]
    await zahra.press(START_NEW)  # nothing left to lose: it simply starts
    await zahra.expect("پرسش ۱ از ۷")


async def test_browsing_older_lists_mid_form_keeps_the_form(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    card = await two_answers_into_a_building_permit(zahra)

    # The card above, mid-form: back to its category's services, back to the categories, and down again.
    await zahra.press("↩️ خدمات دیگر", message=card)
    services = await zahra.expect("خدمت مورد نظر")
    await zahra.press("↩️ بازگشت", message=services)
    categories = await zahra.expect("گروه خدمت")
    await zahra.press("🏗 شهرسازی و ساختمان", message=categories)
    services = await zahra.expect("خدمت مورد نظر")
    await zahra.press("صدور پروانه ساختمانی", message=services)
    card = await zahra.expect("مدارک لازم")

    await zahra.press("📝 ثبت درخواست", message=card)
    asked = await zahra.expect("نیمه‌تمام")
    assert "۲ از ۷" in asked["text"], "both answers are still there"
    await zahra.press(CONTINUE, message=asked)
    await zahra.expect("پرسش ۳ از ۷")


async def test_typing_at_the_review_shows_the_review_again_with_its_buttons(
    world: Any, platform: Platform
) -> None:
    ali = await world.citizen(platform, name="علی")
    await report_a_dark_street(ali)
    await ali.press("⏭ رد کردن")
    await ali.expect("بازبینی درخواست")
    await ali.send("ثبت کن")
    await ali.expect("از دکمه‌های زیر پیام بازبینی")
    review = await ali.expect("بازبینی درخواست")
    assert "✅ ثبت نهایی" in buttons(review)
    await ali.press("✅ ثبت نهایی", message=review)
    await ali.expect("کد رهگیری")


async def test_a_form_saved_before_its_typed_state_resumes_and_one_that_cannot_be_read_starts_over(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await open_card(zahra, "شهرداری فلاورجان", "پروانه", "صدور پروانه ساختمانی")
    bot_id = world.emu.state.bots[TOKENS[platform]].id
    key = StorageKey(bot_id=bot_id, chat_id=zahra.chat_id, user_id=zahra.user_id)
    version = world.miz.catalogs.catalog.service("falavarjan", "building_permit").version
    saved = {  # what the form stored before it had a typed state, at question 2
        "org": "falavarjan",
        "svc": "building_permit",
        "ver": version,
        "step": 1,
        "answers": {"owner_national_id": "0499370899"},
        "docs": {},
        "key": "5f0c7a0e9b6d4c1e8a2b3c4d5e6f7a8b",
    }
    storage = world.miz.dispatcher.storage
    await storage.set_state(key, "Form:answering")
    await storage.set_data(key, saved)
    await zahra.send("300")
    await zahra.expect("یکی از گزینه‌ها")  # question 3 follows
    stored = await storage.get_data(key)
    assert stored["answers"] == {"owner_national_id": "0499370899", "plot_area": 300}
    assert stored["step"] == 2

    await storage.set_data(key, {**saved, "step": "two", "answers": ["not", "answers"]})
    await zahra.send("300")
    await zahra.expect("از منوی اصلی دوباره شروع کنید")  # as when the service is gone
    assert await storage.get_state(key) is None
