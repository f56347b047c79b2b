"""SMS at every stage (issue: SMS): a citizen who shared their own number with the contact button gets an SMS
when the request is filed and at each stage, can turn SMS off in the bot, and then gets none."""

from __future__ import annotations

from typing import Any

import pytest

from bot.platforms import Platform

from .conftest import PDF, png  # type: ignore[import-not-found]
from .test_desk import card_of  # type: ignore[import-not-found]
from .test_request import PERSIAN, copyable_code, open_card  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow


async def file_with_own_number(citizen: Any) -> str:
    """File the test service at Falavarjan, answering the mobile question with the contact button."""
    await open_card(citizen, "شهرداری فلاورجان", "آزمون", "آزمون همه پرسش‌ها")
    await citizen.press("📝 ثبت درخواست")
    answers: tuple[str | None, ...] = (
        "0499370899",
        "10380284790",
        None,
        "8491753981",
        "1405/09/06",
        "120",
        "رضا",
    )
    for number, answer in enumerate(answers, start=1):
        await citizen.expect(f"پرسش {PERSIAN[number]} از ۸")
        if answer is None:
            await citizen.share_contact()  # "📱 Send my number": the platform vouches for it
        else:
            await citizen.send(answer)
    await citizen.expect("پرسش ۸ از ۸")
    await citizen.press("⏭ رد کردن")
    await citizen.expect("مدرک ۱ از ۲")
    await citizen.send_document(PDF, filename="scan.pdf", mime_type="application/pdf")
    await citizen.expect("مدرک ۲ از ۲")
    await citizen.send_photo(png(), filename="place.png")
    await citizen.expect("بازبینی")
    await citizen.press("✅ ثبت نهایی")
    await citizen.expect("کد رهگیری")
    return await copyable_code(citizen)


def persian_grouped(code: str) -> str:
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    return f"{persian[:4]}-{persian[4:8]}-{persian[8:]}"


async def test_each_stage_reaches_the_citizens_own_mobile_by_sms(world: Any, platform: Platform) -> None:
    clerk = await world.clerk(platform)
    zahra = await world.citizen(platform)
    phone = zahra.user["phone_number"]
    code = await file_with_own_number(zahra)

    filed = await world.client.expect_sms(phone, persian_grouped(code))
    assert "شهرداری فلاورجان" in filed["text"]
    assert "ثبت شد" in filed["text"]
    # Left-to-right marks around the code (phones' SMS apps may not draw isolates), so its groups keep their order.
    assert f"\u200e{persian_grouped(code)}" in filed["text"]

    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.press("🙋 برمی‌دارم", message=card)
    await world.client.expect_sms(phone, "در حال بررسی")

    await zahra.press("🔔 پیامک")
    setting = await zahra.expect("پیامک می‌شود")
    local = "0" + phone.removeprefix("+98")
    assert local.translate(str.maketrans("0123456789", PERSIAN))[:4] in setting["text"]
    assert local.translate(str.maketrans("0123456789", PERSIAN)) not in setting["text"], "shown masked"
    await zahra.press("🔕 پیامک نفرست", message=setting)
    await zahra.expect("پیامک‌ها خاموش است")

    before = len(await world.client.sms_messages(to=phone))
    card = await card_of(clerk, code)
    await clerk.press("✅ انجام شد", message=card)
    await clerk.expect("نتیجه کار را")
    await clerk.send("پروانه صادر شد")
    await zahra.expect("پروانه صادر شد")
    assert len(await world.client.sms_messages(to=phone)) == before, "SMS were turned off"


async def test_a_citizen_without_a_verified_number_is_told_how_to_get_sms(
    world: Any, platform: Platform
) -> None:
    ali = await world.citizen(platform, name="علی")
    await ali.send("/sms")
    answer = await ali.expect("شماره همراه تأییدشده‌ای")
    assert "درخواست‌های من" in answer["text"], "it says where to turn SMS on: an open request's own page"


async def test_a_citizen_who_blocked_the_bot_hears_of_a_clerks_message_by_sms(
    world: Any, platform: Platform
) -> None:
    clerk = await world.clerk(platform)
    zahra = await world.citizen(platform)
    phone = zahra.user["phone_number"]
    code = await file_with_own_number(zahra)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.press("🙋 برمی‌دارم", message=card)
    await world.client.expect_sms(phone, "در حال بررسی")
    stage_sms = len(await world.client.sms_messages(to=phone))

    await zahra.block()
    card = await card_of(clerk, code)
    await clerk.reply_to(card, "لطفاً برای بازدید ساعت ۱۰ در محل باشید")  # a chat message, no stage change

    sms = await world.client.expect_sms(phone, "پیام آن در بات میز است", timeout=15)
    assert persian_grouped(code) in sms["text"]
    assert len(await world.client.sms_messages(to=phone)) == stage_sms + 1, "one SMS, not one per message"
