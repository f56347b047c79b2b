"""A complaint's related tracking code is checked: the citizen's own request is taken at once; anyone else's only
with the national ID written in it, and a code no request has is answered just like someone else's, on Telegram
and on Bale."""

from __future__ import annotations

from typing import Any

import pytest

from bot.platforms import Platform
from desk.tracking import new_tracking_code

from .test_desk import file_request  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

NOT_YOURS = "این کد در درخواست‌های شما نیست"
SKIP = "⏭ رد کردن"


async def complain_up_to_the_related_code(citizen: Any) -> None:
    """From /start to the complaint's question of the related tracking code."""
    await citizen.send("/start")
    await citizen.expect("میز خدمت")
    await citizen.press("📣 ثبت شکایت")
    await citizen.expect("از کدام شهرداری یا دهیاری")
    await citizen.press("شهرداری فلاورجان")
    await citizen.expect("مدارک لازم")
    await citizen.press("📝 ثبت درخواست")
    await citizen.expect("یکی از گزینه‌ها")
    await citizen.press("تأخیر یا بی‌پاسخ ماندن درخواست")
    await citizen.expect("کد رهگیری درخواست مربوط")


async def finish_to_the_review(citizen: Any) -> dict[str, Any]:
    """The rest of the complaint, up to its review."""
    for _ in range(2):  # the official and the date are optional
        await citizen.expect("اختیاری")
        await citizen.press(SKIP)
    await citizen.expect("شرح شکایت")
    await citizen.send("ده روز است پاسخی نگرفته‌ام")
    await citizen.expect("یکی از گزینه‌ها")
    await citizen.press("خیر")
    await citizen.expect("مدرک ۱ از ۱")
    await citizen.press(SKIP)
    return await citizen.expect("بازبینی")


def persian(code: str) -> str:
    digits = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    return f"{digits[:4]}-{digits[4:8]}-{digits[8:]}"


async def test_a_citizens_own_request_is_taken_at_once(world: Any, platform: Platform) -> None:
    zahra, code = await file_request(world, platform)
    await complain_up_to_the_related_code(zahra)
    await zahra.send(code)
    review = await finish_to_the_review(zahra)
    assert persian(code) in review["text"], "the related request is in the complaint"


async def test_someone_elses_code_needs_its_national_id_and_a_made_up_one_reads_the_same(
    world: Any, platform: Platform
) -> None:
    _zahra, code = await file_request(world, platform)
    ali = await world.citizen(platform, name="علی")
    await complain_up_to_the_related_code(ali)

    await ali.send(new_tracking_code())  # no request has it
    made_up = await ali.expect(NOT_YOURS)
    await ali.send("1234")
    refused = await ali.expect("پیدا نشد")
    await ali.expect("کد رهگیری درخواست مربوط")  # the question again

    await ali.send(code)  # Zahra's request
    someone_elses = await ali.expect(NOT_YOURS)
    assert someone_elses["text"] == made_up["text"], "whether the code exists is not told"
    await ali.send("0000")
    again = await ali.expect("پیدا نشد")
    assert again["text"] == refused["text"]
    await ali.expect("کد رهگیری درخواست مربوط")

    await ali.send(code)
    await ali.expect(NOT_YOURS)
    await ali.send("0899")  # the last four digits of the national ID written in Zahra's request
    review = await finish_to_the_review(ali)
    assert persian(code) in review["text"]


async def test_guessing_a_related_codes_national_id_is_limited(world: Any, platform: Platform) -> None:
    _zahra, code = await file_request(world, platform)
    ali = await world.citizen(platform, name="علی")
    await complain_up_to_the_related_code(ali)
    for tail in ("1111", "2222", "3333", "4444", "5555"):
        await ali.send(code)
        await ali.expect(NOT_YOURS)
        await ali.send(tail)
        await ali.expect("پیدا نشد")
    await ali.send(code)
    stopped = await ali.expect("دقیقه")
    assert NOT_YOURS not in stopped["text"], "past the limit no national ID is asked for, right or wrong"
    await ali.press(SKIP)  # the form goes on without it
    review = await finish_to_the_review(ali)
    assert persian(code) not in review["text"]
