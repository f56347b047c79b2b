"""Every step of a form says what it did: a choice stays written under its question, a date question's example is
one it accepts, and no title stutters, on Telegram and on Bale."""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.platforms import Platform
from desk.persian import format_jalali_typed, tehran_today

from .test_request import buttons, open_card  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow


async def test_a_chosen_answer_stays_under_its_question_and_the_date_example_is_accepted(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await open_card(zahra, "شهرداری فلاورجان", "نخاله", "جمع‌آوری نخاله ساختمانی")
    await zahra.press("📝 ثبت درخواست")
    intro = await zahra.expect("ثبت درخواست")
    assert "ثبت درخواست جمع‌آوری نخاله ساختمانی" in intro["text"], "the title does not stutter"
    volume = await zahra.expect("یکی از گزینه‌ها")
    assert "حدود یک وانت" in buttons(volume)
    await zahra.press("حدود یک وانت")

    when = await zahra.expect("پرسش ۲ از ۴")
    example = re.search(r"مثال: ([۰-۹/]+)", when["text"])
    assert example is not None, when["text"]
    assert example.group(1) == format_jalali_typed(tehran_today()), "the example is today"
    await zahra.send(example.group(1))  # a future date question accepts its own example
    await zahra.expect("پرسش ۳ از ۴")

    shown = {m["message_id"]: m for m in await zahra.transcript()}[volume["message_id"]]
    assert shown["text"] == "✔️ حجم تقریبی نخاله: حدود یک وانت", "the question keeps the answer chosen"
    assert not shown.get("buttons"), "and its buttons are gone"


async def test_a_yes_no_answer_reads_as_an_answer_in_the_review(world: Any, platform: Platform) -> None:
    maryam = await world.citizen(platform, name="مریم")
    await maryam.send("/start")
    await maryam.expect("میز خدمت")
    await maryam.press("📣 ثبت شکایت")
    await maryam.expect("از کدام شهرداری یا دهیاری")
    await maryam.press("شهرداری فلاورجان")
    await maryam.expect("مدارک لازم")
    await maryam.press("📝 ثبت درخواست")
    intro = await maryam.expect("ثبت درخواست")
    assert "ثبت درخواست ثبت" not in intro["text"]
    await maryam.expect("یکی از گزینه‌ها")
    await maryam.press("رفتار کارکنان")
    for _ in range(3):
        await maryam.expect("اختیاری")
        await maryam.press("⏭ رد کردن")
    await maryam.expect("شرح شکایت")
    await maryam.send("کارمند باجه به پرسش‌هایم پاسخ نداد")
    await maryam.expect("پنهان بماند")
    hidden = await maryam.expect("یکی از گزینه‌ها")
    await maryam.press("خیر")
    await maryam.expect("مدرک ۱ از ۱")
    shown = {m["message_id"]: m for m in await maryam.transcript()}[hidden["message_id"]]
    assert shown["text"] == "✔️ آیا نام و شماره شما از کارکنان همان سازمان پنهان بماند؟ خیر", shown["text"]
    await maryam.press("⏭ رد کردن")
    review = await maryam.expect("بازبینی")
    assert "پنهان بماند؟ خیر" in review["text"]
    assert "؟:" not in review["text"], "a question is not followed by a colon"
