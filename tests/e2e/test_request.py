"""A citizen files a request from /start to a tracking code, on Telegram and on Bale, and follows it."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.platforms import Platform
from desk.tracking import format_tracking_code
from storage.db import create_engine
from storage.models import Document, RequestEvent, ServiceRequest
from tests.e2e.pickers import pick_organization

from .conftest import PDF, png  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow


def buttons(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message.get("buttons", []) for b in row]


async def open_card(person: Any, org: str, service_words: str, service_title: str) -> dict[str, Any]:
    """From /start to a service's card: menu, organization (any page), then typing part of the name."""
    await person.send("/start")
    await person.expect("میز خدمت")
    await person.press("🗂 خدمات و ثبت درخواست")
    await person.expect("شهر یا روستای خود")
    await pick_organization(person, org)
    await person.expect("گروه خدمت")
    await person.send(service_words)
    await person.expect("پیدا شد")
    await person.press(service_title)
    return await person.expect("مدارک لازم")


async def report_a_dark_street(person: Any, *, dangerous: str = "بله", place: str | None = None) -> None:
    """From /start to the photo step of a street problem report in Oshtorjan, every question answered; the
    place by the location button, or as ``place`` typed (numbers or a map link)."""
    await open_card(person, "دهیاری اشترجان", "گزارش", "گزارش مشکلات شهری و روستایی")
    await person.press("📝 ثبت درخواست")
    await person.expect("یکی از گزینه‌ها")
    await person.press(next(b for b in buttons(person.last_message) if "روشنایی" in b))
    await person.expect("پرسش ۲ از ۴")
    await person.send("سه چراغ کوچه از یک هفته پیش خاموش است")
    await person.expect("پرسش ۳ از ۴")
    if place is None:
        await person.press("📍 ارسال موقعیت")
    else:
        await person.send(place)
    await person.expect("یکی از گزینه‌ها")
    await person.press(dangerous)
    await person.expect("مدرک ۱ از ۱")


async def copyable_code(person: Any) -> str:
    """The tracking code the bot sent alone in a message, so it can be copied with one tap."""
    for message in reversed(await person.transcript()):
        text = message.get("text", "").strip()
        if message.get("outgoing") and text.isdigit():
            return str(text)
    raise AssertionError("no copyable tracking code in the chat")


async def fill_every_field(person: Any) -> None:
    """Answer the test service's eight questions rightly (the last, optional one is skipped)."""
    answers = ("0499370899", "10380284790", "09123456789", "8491753981", "1405/09/06", "120", "رضا")
    for number, answer in enumerate(answers, start=1):
        await person.expect(f"پرسش {PERSIAN[number]} از ۸")
        await person.send(answer)
    await person.expect("پرسش ۸ از ۸")
    await person.press("⏭ رد کردن")


async def count(world: Any, model: Any) -> int:
    engine = create_engine(world.settings.database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())
    finally:
        await engine.dispose()


async def test_municipal_request_from_start_to_tracking_code(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    card = await open_card(zahra, "شهرداری فلاورجان", "پروانه", "صدور پروانه ساختمانی")
    assert "📝 ثبت درخواست" in buttons(card)
    await zahra.press("📝 ثبت درخواست")
    await zahra.expect("پرسش ۱ از ۷")
    await zahra.send("۰۴۹۹۳۷۰۸۹۹")  # Persian digits are fine
    await zahra.expect("پرسش ۲ از ۷")
    await zahra.send("۲۵۰")
    await zahra.expect("یکی از گزینه‌ها")
    await zahra.press("مسکونی")
    await zahra.expect("پرسش ۴ از ۷")
    await zahra.send("2")
    await zahra.expect("پرسش ۵ از ۷")
    await zahra.press("📍 ارسال موقعیت")  # the platform's location button
    await zahra.expect("پرسش ۶ از ۷")
    await zahra.send("زهرا احمدی")  # the holder, written on the permit
    await zahra.expect("پرسش ۷ از ۷")
    await zahra.send("فلاورجان، خیابان امام، کوچه ۱۲، پلاک ۵")
    await zahra.expect("مدرک ۱ از ۴")
    await zahra.send_photo(png(), filename="deed.png")
    await zahra.expect("فایل ۱ از «سند مالکیت» دریافت شد")  # the deed takes every page: "done" ends it
    await zahra.press("✅ تمام شد")
    await zahra.expect("مدرک ۲ از ۴")
    await zahra.send_document(PDF, filename="id-card.pdf", mime_type="application/pdf")
    await zahra.expect("مدرک ۳ از ۴")
    await zahra.send_photo(png(16, 12), filename="site.png")
    await zahra.expect("فایل ۱ از «عکس ملک از سمت گذر» دریافت شد")
    await zahra.press("✅ تمام شد")
    prompt = await zahra.expect("مدرک ۴ از ۴")
    assert "✅ سند مالکیت" in prompt["text"], "the checklist shows what is already received"
    await zahra.press("⏭ رد کردن")  # the plans are optional
    review = await zahra.expect("بازبینی درخواست")
    assert "۰۴۹۹۳۷۰۸۹۹" in review["text"]
    assert "مسکونی" in review["text"]
    await zahra.press("✅ ثبت نهایی")
    done = await zahra.expect("کد رهگیری")
    assert "ثبت شد" in done["text"]
    code = await copyable_code(zahra)
    assert len(code) == 12
    assert await count(world, ServiceRequest) == 1
    assert await count(world, Document) == 3
    assert await count(world, RequestEvent) == 1

    await zahra.press("📂 درخواست‌های من")
    mine = await zahra.expect("درخواست‌های شما")
    assert format_tracking_code(code) in mine["text"], "grouped in Persian digits, as on the notice"
    assert format_tracking_code(code) in done["text"]
    assert "ثبت شده" in mine["text"] or "ثبت‌شده" in mine["text"]
    await zahra.press("🔎 پیگیری درخواست")
    await zahra.expect("کد رهگیری درخواست را بفرستید")
    await zahra.send(code)
    status = await zahra.expect("وضعیت")
    assert "صدور پروانه ساختمانی" in status["text"]


async def test_a_citizen_on_a_computer_gives_the_place_as_a_map_link(world: Any, platform: Platform) -> None:
    """A desktop messenger has no location button that works: a pasted map link or typed numbers do instead."""
    ali = await world.citizen(platform, name="علی")
    await open_card(ali, "دهیاری اشترجان", "گزارش", "گزارش مشکلات شهری و روستایی")
    await ali.press("📝 ثبت درخواست")
    await ali.expect("یکی از گزینه‌ها")
    await ali.press(next(b for b in buttons(ali.last_message) if "روشنایی" in b))
    await ali.expect("پرسش ۲ از ۴")
    await ali.send("چراغ کوچه 12 خاموش است؛ عکسش در https://example.org/p/12 است")
    question = await ali.expect("پرسش ۳ از ۴")
    assert "پیوند نقشه" in question["text"], "the question says what to do without the button"
    await ali.send("https://maps.app.goo.gl/x7Kq2")  # a short link carries no numbers
    await ali.expect("پیوند نقشه‌ای که مختصات در آن است")
    await ali.send("۵۱٫۵۱۰۲، ۱۲٫۰")  # neither order is a point in Iran
    await ali.expect("این نقطه در ایران نیست")
    await ali.send("https://www.google.com/maps/@32.5555,51.5102,17z")
    await ali.expect("یکی از گزینه‌ها")
    await ali.press("بله")
    await ali.expect("مدرک ۱ از ۱")
    await ali.press("⏭ رد کردن")
    review = await ali.expect("بازبینی درخواست")
    assert "محل مشکل: 📍 ۳۲٫۵۵۵۵، ۵۱٫۵۱۰۲" in review["text"], "the point, in Persian digits"
    assert "کوچه ۱۲ خاموش" in review["text"], "digits typed in Latin read back in Persian"
    assert "https://example.org/p/12" in review["text"], "a link keeps its digits"
    await ali.press("✅ ثبت نهایی")
    await ali.expect("کد رهگیری")


async def test_the_clerks_get_the_place_as_a_pin_under_the_card(world: Any, platform: Platform) -> None:
    ali = await world.citizen(platform, name="علی")
    clerk = await world.clerk(platform, "oshtorjan")
    await report_a_dark_street(ali, dangerous="خیر", place="32.5555, 51.5102")
    await ali.press("⏭ رد کردن")
    await ali.expect("بازبینی درخواست")
    await ali.press("✅ ثبت نهایی")
    await ali.expect("کد رهگیری")

    card = await clerk.expect("گزارش مشکلات")
    for _ in range(100):
        pins = [m for m in await clerk.transcript() if "location" in m]
        if pins:
            break
        await asyncio.sleep(0.1)
    assert len(pins) == 1, "one pin, under the card"
    pin = pins[0]
    assert pin["location"] == {"latitude": 32.5555, "longitude": 51.5102}
    assert pin["reply_to_message_id"] == card["message_id"], "the pin answers the card it belongs to"


async def test_dehyari_problem_report_with_buttons_and_location(world: Any, platform: Platform) -> None:
    ali = await world.citizen(platform, name="علی")
    await open_card(ali, "دهیاری اشترجان", "گزارش", "گزارش مشکلات شهری و روستایی")
    await ali.press("📝 ثبت درخواست")
    await ali.expect("یکی از گزینه‌ها")
    await ali.press(next(b for b in buttons(ali.last_message) if "روشنایی" in b))
    await ali.expect("پرسش ۲ از ۴")
    await ali.send("چراغ کوچه <b>*خاموش*</b> است")  # markup typed by a citizen stays plain text
    await ali.expect("پرسش ۳ از ۴")
    await ali.send("اینجا")  # text where a location is expected
    await ali.expect("ارسال موقعیت» را بزنید")
    await ali.press("📍 ارسال موقعیت")
    await ali.expect("یکی از گزینه‌ها")
    await ali.press("بله")
    await ali.expect("مدرک ۱ از ۱")
    await ali.press("⏭ رد کردن")
    review = await ali.expect("بازبینی درخواست")
    assert "خاموش" in review["text"]
    await ali.press("✅ ثبت نهایی")
    await ali.expect("کد رهگیری")


VALIDATION_CASES = [
    # (wrong answers with the explanation each gets, then the right answer), one field after another
    ([("123", "کد ملی باید ۱۰ رقم باشد"), ("0684159415", "این کد ملی درست نیست")], "0499370899"),
    (
        [("1234567891", "شناسه ملی شخص حقوقی باید ۱۱ رقم باشد"), ("10380284792", "این شناسه ملی درست نیست")],
        "10380284790",
    ),
    ([("123456", "شماره همراه درست نیست")], "۰۹۱۲۳۴۵۶۷۸۹"),
    ([("12345", "کد پستی باید ۱۰ رقم باشد"), ("1111111111", "این کد پستی درست نیست")], "8491753981"),
    (
        [
            ("2026-11-27", "لطفاً تاریخ را شمسی بنویسید"),
            ("1405/13/40", "تاریخ"),
            ("1500/01/01", "لطفاً سال را بررسی کنید"),
            ("1490/01/01", "این تاریخ هنوز نرسیده است"),  # the question asks for a past date
        ],
        "۱۴۰۵/۰۹/۰۶",
    ),
    ([("صد", "لطفاً فقط یک عدد صحیح بنویسید"), ("-5", "عدد نمی‌تواند منفی باشد")], "120"),
    ([("   ", "پاسخ خالی است")], "رضا رضایی"),
]
PERSIAN = "۰۱۲۳۴۵۶۷۸۹"


async def test_every_validator_explains_and_asks_again(world: Any, platform: Platform) -> None:
    reza = await world.citizen(platform, name="رضا")
    await open_card(reza, "شهرداری فلاورجان", "آزمون", "آزمون همه پرسش‌ها")
    await reza.press("📝 ثبت درخواست")
    for number, (wrongs, right) in enumerate(VALIDATION_CASES, start=1):
        question = f"پرسش {PERSIAN[number]} از ۸"
        await reza.expect(question)
        for wrong, explanation in wrongs:
            await reza.send(wrong)
            await reza.expect(explanation)
            await reza.expect(question)  # the same question again
        await reza.send(right)
    await reza.expect("پرسش ۸ از ۸")
    await reza.press("⏭ رد کردن")
    await reza.expect("مدرک ۱ از ۲")


async def test_documents_refused_politely_and_replaceable(world: Any, platform: Platform) -> None:
    reza = await world.citizen(platform, name="رضا")
    await open_card(reza, "شهرداری فلاورجان", "آزمون", "آزمون همه پرسش‌ها")
    await reza.press("📝 ثبت درخواست")
    await fill_every_field(reza)
    await reza.expect("مدرک ۱ از ۲")
    await reza.send_photo(png())  # the slot takes PDF only
    await reza.expect("فایل PDF لازم است")
    await reza.send("این هم مدرک")  # text instead of a file
    await reza.expect("عکس یا فایل مدرک را بفرستید")
    await reza.send_document(b"<html>not a pdf</html>", filename="scan.pdf", mime_type="application/pdf")
    await reza.expect("PDF")
    await reza.expect("مدرک ۱ از ۲")
    await reza.send_document(
        b"%PDF-" + b"0" * (21 * 1024 * 1024), filename="huge.pdf", mime_type="application/pdf"
    )
    await reza.expect("مگابایت")
    await reza.send_document(PDF, filename="scan.pdf", mime_type="application/pdf")
    await reza.expect("مدرک ۲ از ۲")
    await reza.press("⏭ رد کردن")
    await reza.expect("بازبینی درخواست")
    await reza.press("✏️ اصلاح پاسخ یا مدرک")
    await reza.expect("کدام مورد")
    await reza.press("📎 پویش سند")
    replace = await reza.expect("مدرک ۱ از ۲")
    assert "جایگزینی" in replace["text"]
    await reza.send_document(PDF + b"%v2", filename="scan2.pdf", mime_type="application/pdf")
    await reza.expect("بازبینی درخواست")


async def test_back_and_cancel_at_every_step(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    await open_card(zahra, "شهرداری فلاورجان", "پروانه", "صدور پروانه ساختمانی")
    await zahra.press("📝 ثبت درخواست")
    await zahra.expect("پرسش ۱ از ۷")
    await zahra.send("0499370899")
    await zahra.expect("پرسش ۲ از ۷")
    await zahra.press("↩️ مرحله قبل")
    await zahra.expect("پرسش ۱ از ۷")
    await zahra.send("0790419904")
    await zahra.expect("پرسش ۲ از ۷")
    await zahra.press("✖️ انصراف")
    cancelled = await zahra.expect("لغو شد")
    assert "🗂 خدمات و ثبت درخواست" in [
        b["text"] for row in cancelled["reply_keyboard"]["keyboard"] for b in row
    ]
    assert await count(world, ServiceRequest) == 0


async def _to_the_documents(person: Any) -> None:
    await open_card(person, "شهرداری فلاورجان", "آزمون", "آزمون همه پرسش‌ها")
    await person.press("📝 ثبت درخواست")
    await fill_every_field(person)
    await person.expect("مدرک ۱ از ۲")


async def _to_the_review(person: Any) -> dict[str, Any]:
    await _to_the_documents(person)
    await person.send_document(PDF, filename="scan.pdf", mime_type="application/pdf")
    await person.expect("مدرک ۲ از ۲")
    await person.press("⏭ رد کردن")
    review: dict[str, Any] = await person.expect("بازبینی درخواست")
    return review


async def test_back_and_cancel_work_in_the_documents_and_the_review_too(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await open_card(zahra, "شهرداری فلاورجان", "آزمون", "آزمون همه پرسش‌ها")
    await zahra.press("📝 ثبت درخواست")
    await zahra.expect("پرسش ۱ از ۸")
    await zahra.press("↩️ مرحله قبل")  # back before the first question: out of the form
    left = await zahra.expect("از فرم خارج شدید")
    assert "🗂 خدمات و ثبت درخواست" in [b["text"] for row in left["reply_keyboard"]["keyboard"] for b in row]

    await _to_the_documents(zahra)
    await zahra.press("↩️ مرحله قبل")  # from the first document back to the last question
    await zahra.expect("پرسش ۸ از ۸")
    await zahra.press("⏭ رد کردن")
    await zahra.expect("مدرک ۱ از ۲")
    await zahra.send_document(PDF, filename="scan.pdf", mime_type="application/pdf")
    await zahra.expect("مدرک ۲ از ۲")
    await zahra.press("✖️ انصراف")  # cancel while sending documents
    await zahra.expect("لغو شد")

    await _to_the_review(zahra)
    await zahra.press("✖️ انصراف")  # the review's own cancel button
    await zahra.expect("لغو شد")
    assert await count(world, ServiceRequest) == 0


async def test_review_buttons_pressed_while_changing_an_answer_bring_the_review_back(
    world: Any, platform: Platform
) -> None:
    reza = await world.citizen(platform, name="رضا")
    first_review = await _to_the_review(reza)
    await reza.press("✏️ اصلاح پاسخ یا مدرک")
    edit_list = await reza.expect("کدام مورد")
    await reza.press("↩️ بازگشت به بازبینی")  # changed their mind: back to the review, nothing changed
    await reza.expect("بازبینی درخواست")

    await reza.press(buttons(edit_list)[0], message=edit_list)  # the first answer, from the list above
    await reza.expect("پرسش ۱ از ۸")
    await reza.press("✅ ثبت نهایی", message=first_review)  # the old review's submit, mid-change
    fresh_review = await reza.expect("بازبینی درخواست")
    assert await count(world, ServiceRequest) == 0, "nothing is filed before the citizen sees the review"

    await reza.press("✅ ثبت نهایی", message=fresh_review)
    await reza.expect("کد رهگیری")
    assert await count(world, ServiceRequest) == 1


async def test_typing_where_a_button_is_expected_asks_for_the_button(world: Any, platform: Platform) -> None:
    ali = await world.citizen(platform, name="علی")
    await open_card(ali, "دهیاری اشترجان", "گزارش", "گزارش مشکلات شهری و روستایی")
    await ali.press("📝 ثبت درخواست")
    await ali.expect("یکی از گزینه‌ها")
    await ali.send("روشنایی")
    await ali.expect("با زدن یکی از دکمه‌ها")
    asked_again = await ali.expect("یکی از گزینه‌ها")  # the same question, with its buttons, again
    await ali.press(next(b for b in buttons(asked_again) if "روشنایی" in b), message=asked_again)
    await ali.expect("پرسش ۲ از ۴")


async def test_half_filled_form_survives_a_restart(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    await open_card(zahra, "شهرداری فلاورجان", "پروانه", "صدور پروانه ساختمانی")
    await zahra.press("📝 ثبت درخواست")
    await zahra.expect("پرسش ۱ از ۷")
    await zahra.send("0499370899")
    await zahra.expect("پرسش ۲ از ۷")
    await world.restart()
    await zahra.send("300")
    await zahra.expect("یکی از گزینه‌ها")


async def test_double_tap_on_submit_files_one_request(world: Any, platform: Platform) -> None:
    ali = await world.citizen(platform, name="علی")
    await report_a_dark_street(ali, dangerous="خیر")
    await ali.press("⏭ رد کردن")
    review = await ali.expect("بازبینی درخواست")
    await asyncio.gather(ali.press("✅ ثبت نهایی", message=review), ali.press("✅ ثبت نهایی", message=review))
    await ali.expect("کد رهگیری")
    await asyncio.sleep(0.5)
    assert await count(world, ServiceRequest) == 1
    after_review = [m for m in await ali.transcript() if m["message_id"] > review["message_id"]]
    told = [m for m in after_review if m.get("outgoing") and "کد رهگیری" in (m.get("text") or "")]
    assert len(told) == 1, "the citizen is told the tracking code once"


async def test_old_buttons_answer_politely(world: Any, platform: Platform) -> None:
    ali = await world.citizen(platform, name="علی")
    await open_card(ali, "دهیاری اشترجان", "گزارش", "گزارش مشکلات شهری و روستایی")
    await ali.press("📝 ثبت درخواست")
    choice = await ali.expect("یکی از گزینه‌ها")
    await ali.press("✖️ انصراف")
    await ali.expect("لغو شد")
    await ali.press(buttons(choice)[0], message=choice, wait_answer=20)
    assert ali.last_answer is not None
    assert "دیگر کار نمی‌کند" in ali.last_answer["text"]
    assert await count(world, ServiceRequest) == 0


async def test_a_stranger_sees_a_request_only_with_its_national_id(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    await open_card(zahra, "شهرداری فلاورجان", "آزمون", "آزمون همه پرسش‌ها")
    await zahra.press("📝 ثبت درخواست")
    await fill_every_field(zahra)
    await zahra.expect("مدرک ۱ از ۲")
    await zahra.send_document(PDF, filename="scan.pdf", mime_type="application/pdf")
    await zahra.expect("مدرک ۲ از ۲")
    await zahra.press("⏭ رد کردن")
    await zahra.expect("بازبینی")
    await zahra.press("✅ ثبت نهایی")
    await zahra.expect("کد رهگیری")
    code = await copyable_code(zahra)

    stranger = await world.citizen(platform, name="ناشناس")
    await stranger.send("/start")
    await stranger.expect("میز خدمت")
    await stranger.send(code)  # a code sent outside any conversation is tracked at once
    await stranger.expect("کد ملی ثبت‌شده")
    await stranger.send("0790419904")  # someone else's national ID
    refused = await stranger.expect("پیدا نشد")
    assert "زهرا" not in refused["text"]
    await stranger.press("🔎 پیگیری درخواست")
    await stranger.expect("کد رهگیری درخواست")
    await stranger.send(code)
    await stranger.expect("کد ملی ثبت‌شده")
    await stranger.send("۰۴۹۹۳۷۰۸۹۹")
    seen = await stranger.expect("وضعیت")
    assert "آزمون همه پرسش‌ها" in seen["text"]
    mistyped = code[:-1] + str((int(code[-1]) + 1) % 10)
    await stranger.send(mistyped)
    await stranger.expect("کد رهگیری")


async def test_my_requests_shows_status_and_jalali_dates_and_pages_through_older_ones(
    world: Any, platform: Platform
) -> None:
    from desk.tracking import new_tracking_code

    zahra = await world.citizen(platform)
    await _to_the_review(zahra)
    await zahra.press("✅ ثبت نهایی")
    confirmed = await zahra.expect("کد رهگیری")
    assert "۱۴۰" in confirmed["text"], "the expected completion date is a Jalali date in Persian digits"
    await zahra.press("📂 درخواست‌های من")
    mine = await zahra.expect("درخواست‌های شما")
    assert "آزمون همه پرسش‌ها" in mine["text"]
    assert "ثبت‌شده" in mine["text"]
    assert re.search(r"ثبت [۰-۹]+ \S+ ۱۴[۰-۹]{2}، موعد [۰-۹]+ \S+ ۱۴[۰-۹]{2}", mine["text"]), mine["text"]
    assert "تازه‌تر" not in mine["text"]

    engine = create_engine(world.settings.database_url)  # 20 more requests of hers, filed earlier
    try:
        async with engine.begin() as conn:
            row = (await conn.execute(select(ServiceRequest.__table__))).mappings().one()  # type: ignore[attr-defined]
            copies = [
                {**row, "id": None, "tracking_code": new_tracking_code(), "idempotency_key": None}
                for _ in range(20)
            ]
            await conn.execute(ServiceRequest.__table__.insert(), copies)  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
    await zahra.press("📂 درخواست‌های من")
    mine = await zahra.expect("درخواست‌های شما")
    assert mine["text"].count("آزمون همه پرسش‌ها") == 10
    assert "صفحهٔ ۱ از ۳ (۲۱ درخواست)" in mine["text"]
    await zahra.press("قدیمی‌تر ➡️", message=mine)
    await zahra.expect("صفحهٔ ۲ از ۳")
    await zahra.press("قدیمی‌تر ➡️", message=mine)
    oldest = await zahra.expect("صفحهٔ ۳ از ۳")
    assert oldest["text"].count("آزمون همه پرسش‌ها") == 1, "the 21st request is not left out"


async def test_guessing_tracking_codes_is_throttled(world: Any, platform: Platform) -> None:
    from desk.tracking import new_tracking_code

    guesser = await world.citizen(platform, name="حدس")
    await guesser.send("/start")
    await guesser.expect("میز خدمت")
    for _ in range(6):  # codes alone tell nothing (anyone's code is answered alike), so they are not counted
        await guesser.send(new_tracking_code())
        await guesser.expect("کد ملی ثبت‌شده")
        await guesser.press("✖️ انصراف")
        await guesser.expect("یکی از دکمه‌های")
    for _ in range(5):  # five national IDs that do not match
        await guesser.send(new_tracking_code())
        await guesser.expect("کد ملی ثبت‌شده")
        await guesser.send("0790419904")
        await guesser.expect("پیدا نشد")
    await guesser.send(new_tracking_code())
    await guesser.expect("دقیقه")
