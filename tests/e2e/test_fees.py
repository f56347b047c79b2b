"""A citizen works out a fee from the tariff booklet, on Telegram and on Bale, through the emulator over HTTP.

The figures are checked against hand computations from ``catalog/data/tariffs/1405/`` (written beside each
test), so a test fails if the dialog shows anything other than what the booklet says.
"""

from __future__ import annotations

import re
from typing import Any

from bot.platforms import Platform

FEES = "💰 عوارض و محاسبه"
BACK = "↩️ مرحله قبل"
CANCEL = "✖️ انصراف"
LATIN_DIGITS = re.compile(r"[0-9]")


def buttons(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message.get("buttons") or [] for b in row]


def keyboard(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in (message.get("reply_keyboard") or {}).get("keyboard", []) for b in row]


async def open_fee(person: Any, org: str, fee: str) -> None:
    """From /start to the first question of ``fee`` in ``org``'s booklet."""
    await person.send("/start")
    await person.expect("میز خدمت")
    await person.press(FEES)
    await person.expect("کدام شهر یا روستا")
    await person.press(org)
    await person.expect("کدام عوارض یا محاسبه")
    await person.press(fee)
    await person.expect("پرسش ۱ از")


async def test_renovation_fee_of_a_municipality(world: Any, platform: Platform) -> None:
    # Hand computation from catalog/data/tariffs/1405 for Falavarjan, a residential plot of 200 m² with a
    # 150 m² steel-frame building:
    #   regional value P, residential (falavarjan.yaml)     7,500,000 rials/m² × p_adjustment 1
    #   land value        200 × 7,500,000               = 1,500,000,000 rials
    #   building value    150 × 8,000,000 (steel_concrete) = 1,200,000,000 rials
    #   fee   (1,500,000,000 + 1,200,000,000) × 5 / 1000 =    13,500,000 rials (a multiple of 1,000: no rounding)
    #                                                    =     1,350,000 tomans
    zahra = await world.citizen(platform)
    await zahra.send("/start")
    welcome = await zahra.expect("میز خدمت")
    assert FEES in keyboard(welcome)
    await zahra.press(FEES)
    orgs = await zahra.expect("کدام شهر یا روستا")
    assert "شهرداری فلاورجان" in buttons(orgs)
    assert not any("فرمانداری" in name for name in buttons(orgs)), "the governorate has no booklet"
    await zahra.press("شهرداری فلاورجان")
    fees = await zahra.expect("کدام عوارض یا محاسبه")
    assert fees["message_id"] == orgs["message_id"], "choosing the organization edits the same message"
    assert "دفترچه تعرفه عوارض محلی سال ۱۴۰۵ شهرداری فلاورجان" in fees["text"]
    for title in (
        "عوارض نوسازی سالانه",
        "تراکم، سطح اشغال و طبقات مجاز",
        "زیربنای مجاز در هر طبقه",
        "عوارض مازاد بر تراکم پایه",
        "عوارض سالانه کسب و پیشه",
        "عوارض سالانه خودرو",
    ):
        assert title in buttons(fees)

    await zahra.press("عوارض نوسازی سالانه")
    intro = await zahra.expect("۴ پرسش کوتاه")
    assert keyboard(intro) == [BACK, CANCEL]
    zone = await zahra.expect("پرسش ۱ از ۴: ")
    assert "پهنه ملک" in zone["text"]
    assert buttons(zone) == [
        "بافت مرکزی و تجاری شهر",
        "بر خیابان‌های اصلی",
        "بافت مسکونی",
        "حاشیه شهر و اراضی تازه‌الحاق",
    ]
    await zahra.press("بافت مسکونی", wait_answer=20)
    assert zahra.last_answer is not None
    assert "بافت مسکونی" in zahra.last_answer["text"]

    land = await zahra.expect("پرسش ۲ از ۴")
    assert "مساحت زمین طبق سند" in land["text"]
    assert "از ۱ تا ۱۰۰٬۰۰۰ متر مربع" in land["text"], "the allowed range, in Persian digits"
    await zahra.send("دویست")
    await zahra.expect("مساحت زمین طبق سند باید عدد باشد")
    await zahra.expect("پرسش ۲ از ۴")
    await zahra.send("۲۵۰٬۰۰۰")
    await zahra.expect("حداکثر ۱۰۰٬۰۰۰ متر مربع")
    await zahra.expect("پرسش ۲ از ۴")
    await zahra.send("۲۰۰")
    building = await zahra.expect("پرسش ۳ از ۴")
    assert "برای زمین خالی صفر بنویسید" in building["text"], "the input's help"

    await zahra.press(BACK)
    await zahra.expect("پرسش ۲ از ۴")
    await zahra.send("۲۰۰")
    await zahra.expect("پرسش ۳ از ۴")
    await zahra.send("150")
    structure = await zahra.expect("پرسش ۴ از ۴")
    assert "اسکلت فلزی یا بتنی" in buttons(structure)
    await zahra.press("اسکلت فلزی یا بتنی")

    done = await zahra.expect("محاسبه انجام شد")
    assert FEES in keyboard(done), "the main menu is back"
    answer = await zahra.expect("مبلغ برآوردی")
    text = answer["text"]
    for shown in (
        "پهنه ملک: بافت مسکونی",
        "مساحت زمین طبق سند: ۲۰۰ متر مربع",
        "۷٬۵۰۰٬۰۰۰ ریال برای هر متر مربع",
        "بهای زمین: ۱٬۵۰۰٬۰۰۰٬۰۰۰ ریال",
        "۸٬۰۰۰٬۰۰۰ ریال برای هر متر مربع",
        "بهای ساختمان: ۱٬۲۰۰٬۰۰۰٬۰۰۰ ریال",
        "۱۳٬۵۰۰٬۰۰۰ ریال (برابر ۱٬۳۵۰٬۰۰۰ تومان)",
        "دفترچه تعرفه عوارض محلی سال ۱۴۰۵ شهرداری فلاورجان",
        "سال ۱۴۰۵",
        "ماده ۲ قانون نوسازی و عمران شهری",
        "ارقام نمونه",
        "مبلغ رسمی همان است که شهرداری فلاورجان در قبض عوارض صادر می‌کند",
    ):
        assert shown in text, shown
    assert not LATIN_DIGITS.search(text), "every figure in Persian digits"
    assert any(e["type"] == "bold" for e in answer["entities"]), "headings are bold on both platforms"
    assert buttons(answer) == ["🔁 محاسبه دوباره با ارقام دیگر", "📋 عوارض دیگر", "🏠 منوی اصلی"]

    await zahra.press("🔁 محاسبه دوباره با ارقام دیگر")
    again = await zahra.expect("پرسش ۱ از ۴")
    assert "پهنه ملک" in again["text"]


async def test_permitted_density_has_no_total(world: Any, platform: Platform) -> None:
    # Falavarjan uses the county's detailed-plan table (_county.yaml, building_plan): a residential plot of
    # 250 m² is in the 200-300 row: density 120 %, occupancy 60 %, 3 floors; 250 × 120 / 100 = 300 m².
    ali = await world.citizen(platform, name="علی")
    await open_fee(ali, "شهرداری فلاورجان", "تراکم، سطح اشغال و طبقات مجاز")
    await ali.press(BACK)
    left = await ali.expect("به فهرست عوارض برگشتید")
    assert FEES in keyboard(left)
    await ali.expect("کدام عوارض یا محاسبه")
    await ali.press("تراکم، سطح اشغال و طبقات مجاز")
    await ali.expect("پرسش ۱ از ۲")
    await ali.press("بافت مسکونی")
    await ali.expect("پرسش ۲ از ۲")
    await ali.send("۲۵۰")
    answer = await ali.expect("جزئیات محاسبه")
    text = answer["text"]
    for shown in (
        "تراکم مجاز: ۱۲۰ درصد",
        "سطح اشغال مجاز: ۶۰ درصد",
        "حداکثر تعداد طبقات: ۳ طبقه",
        "کل زیربنای مجاز: ۳۰۰ متر مربع",
        "ضوابط طرح تفصیلی مصوب",
        "ارقام نمونه",
        "ارقام رسمی همان است که شهرداری فلاورجان",
    ):
        assert shown in text, shown
    assert "مبلغ برآوردی" not in text, "a calculation without an amount shows no total"
    await ali.press("📋 عوارض دیگر")
    await ali.expect("کدام عوارض یا محاسبه")


async def test_cancel_and_a_button_of_a_finished_calculation(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    await open_fee(zahra, "شهرداری فلاورجان", "عوارض نوسازی سالانه")
    first_run = zahra.last_message
    await zahra.press(CANCEL)
    cancelled = await zahra.expect("محاسبه لغو شد")
    assert FEES in keyboard(cancelled)

    await zahra.press("بافت مسکونی", message=first_run, wait_answer=20)
    assert zahra.last_answer is not None
    assert "تمام یا لغو شده" in zahra.last_answer["text"]

    await zahra.press(FEES)
    await zahra.expect("کدام شهر یا روستا")
    await zahra.press("شهرداری فلاورجان")
    await zahra.expect("کدام عوارض یا محاسبه")
    await zahra.press("عوارض نوسازی سالانه")
    await zahra.expect("پرسش ۱ از ۴")
    await zahra.press("بافت مسکونی", message=first_run, wait_answer=20)
    assert zahra.last_answer is not None
    assert "تمام یا لغو شده" in zahra.last_answer["text"], (
        "an old calculation's button does not answer the new one"
    )
    await zahra.press("بافت مسکونی")  # the new question's button
    await zahra.expect("پرسش ۲ از ۴")


async def test_vehicle_fee_in_english(world: Any, platform: Platform) -> None:
    # The county default (Falavarjan changes nothing here): a motorcycle (factory price 900,000,000 rials) of
    # model year 1400 is 1405 - 1400 = 5 years old: the 3-5 row of vehicle_age, 80 %.
    #   base price 900,000,000 × 80 / 100 = 720,000,000 rials; fee 720,000,000 × 1.5 / 1000 = 1,080,000 rials
    sara = await world.citizen(platform, name="Sara")
    await sara.send("/start")
    await sara.expect("میز خدمت")
    await sara.press("🌐 English")
    await sara.expect("now in English")
    await sara.press("💰 Fees & calculators")
    await sara.expect("Pick the city or village")
    await sara.press("Falavarjan Municipality")
    await sara.expect("Which fee or calculation?")
    await sara.press("Vehicle annual fee")
    await sara.expect("Question 1 of 2")
    await sara.press("Motorcycle")
    year = await sara.expect("Question 2 of 2")
    assert "whole number from 1350 to 1406 (Jalali)" in year["text"]
    await sara.send("1400.5")
    await sara.expect("must be a whole number")
    await sara.expect("Question 2 of 2")
    await sara.send("۱۴۰۰")
    answer = await sara.expect("Estimated amount")
    text = answer["text"]
    for shown in (
        "Model year: 1400 (Jalali)",
        "Vehicle age: 5 years",
        "Share of the price by age: 80 percent",
        "Base price: 720,000,000 rials",
        "1,080,000 rials (108,000 tomans)",
        "year 1405",
        "Sample figures",
        "the bill that Falavarjan Municipality issues",
    ):
        assert shown in text, shown


async def test_a_business_fee_keeps_its_choices_and_answer_in_the_chat(
    world: Any, platform: Platform
) -> None:
    # Hand computation from catalog/data/tariffs/1405 for a 45 m² bakery on a main street of Falavarjan:
    #   P  main_street (falavarjan.yaml)              11,000,000 rials/m² × p_adjustment 1
    #   K  bakery (_county.yaml business_guilds)      0.006
    #   K × P × area   0.006 × 11,000,000 × 45 =      2,970,000 rials (more than the bakery's least, 1,500,000)
    zahra = await world.citizen(platform)
    await open_fee(zahra, "شهرداری فلاورجان", "عوارض سالانه کسب و پیشه")
    guild = zahra.last_message
    await zahra.press("نانوایی")
    await zahra.expect("پرسش ۲ از ۳")
    await zahra.send("۴۵")
    zone = await zahra.expect("پرسش ۳ از ۳")
    await zahra.press("بر خیابان‌های اصلی")
    answer = await zahra.expect("مبلغ برآوردی")

    chat = {m["message_id"]: m for m in await zahra.transcript()}
    assert chat[guild["message_id"]]["text"] == "✔️ رسته صنفی: نانوایی", "the question shows what was chosen"
    assert not chat[guild["message_id"]].get("buttons")
    assert "پهنه محل کسب: بر خیابان‌های اصلی" in chat[zone["message_id"]]["text"]
    for shown in (
        "ارزش منطقه‌ای (P): ۱۱٬۰۰۰٬۰۰۰ ریال",
        "ضریب رسته (K): ۰٫۰۰۶",
        "K × P × مساحت: ۲٬۹۷۰٬۰۰۰ ریال",
    ):
        assert shown in answer["text"], "the coefficient at its own precision, so the breakdown adds up"

    await zahra.press("📋 عوارض دیگر", message=answer)
    fees = await zahra.expect("کدام عوارض یا محاسبه")
    assert fees["message_id"] != answer["message_id"], "the list of fees comes as a new message"
    chat = {m["message_id"]: m for m in await zahra.transcript()}
    assert "۲٬۹۷۰٬۰۰۰ ریال" in chat[answer["message_id"]]["text"], "the answer is still in the chat"
    await zahra.press("عوارض نوسازی سالانه")
    await zahra.expect("پرسش ۱ از ۴")
