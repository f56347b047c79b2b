"""SMS updates on a typed mobile number (a one-time code), and tracking with a code and four digits of an ID.

A citizen files a request with a mobile number typed by hand, accepts SMS updates, reads the code the emulator's
Kavenegar gateway received, types a wrong code and then the right one. A number shared with the contact button
needs no code. A stranger follows a request with its tracking code and the last four digits of the national ID
written in it; wrong last four digits are refused and, like any wrong guess, throttled.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.platforms import Platform
from desk.persian import normalize_identifier, to_persian_digits
from desk.verification import PHONE_LIMIT
from storage.db import create_engine, session_factory
from storage.models import Citizen, PhoneVerification

from .conftest import PDF  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

TYPED_MOBILE = "09123456789"
NATIONAL_ID = "0499370899"
PERSIAN = "۰۱۲۳۴۵۶۷۸۹"


def buttons(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message.get("buttons", []) for b in row]


async def file_request(person: Any, *, share_contact: bool = False) -> str:
    """File the test service of every question (falavarjan), answering the mobile question by typing
    ``TYPED_MOBILE`` or with the contact button; the request's tracking code."""
    await person.send("/start")
    await person.expect("میز خدمت")
    await person.press("🗂 خدمات و ثبت درخواست")
    await person.expect("شهر یا روستای خود")
    while "شهرداری فلاورجان" not in buttons(person.last_message):
        await person.press(next(b for b in buttons(person.last_message) if b.startswith("بعدی")))
        await person.expect("شهر یا روستای خود")
    await person.press("شهرداری فلاورجان")
    await person.expect("گروه خدمت")
    await person.send("آزمون")
    await person.expect("پیدا شد")
    await person.press("آزمون همه پرسش‌ها")
    await person.expect("مدارک لازم")
    await person.press("📝 ثبت درخواست")
    answers = (NATIONAL_ID, "10380284790", TYPED_MOBILE, "8491753981", "1405/09/06", "120", "رضا")
    for number, answer in enumerate(answers, start=1):
        await person.expect(f"پرسش {PERSIAN[number]} از ۸")
        if number == 3 and share_contact:
            await person.share_contact()
        else:
            await person.send(answer)
    await person.expect("پرسش ۸ از ۸")
    await person.press("⏭ رد کردن")
    await person.expect("مدرک ۱ از ۲")
    await person.send_document(PDF, filename="scan.pdf", mime_type="application/pdf")
    await person.expect("مدرک ۲ از ۲")
    await person.press("⏭ رد کردن")
    await person.expect("بازبینی")
    await person.press("✅ ثبت نهایی")
    await person.expect("کد رهگیری")
    for message in reversed(await person.transcript()):
        text = message.get("text", "").strip()
        if message.get("outgoing") and text.isdigit():
            return str(text)
    raise AssertionError("no copyable tracking code in the chat")


async def latest_code(world: Any, phone: str) -> str:
    """The one-time code in the newest SMS the emulator's gateway received for ``phone``."""
    await world.client.expect_sms(phone, "کد تأیید")
    texts = [sms["text"] for sms in await world.client.sms_messages(phone) if "کد تأیید" in sms["text"]]
    match = re.search(r"\d{5}", normalize_identifier(texts[-1]))
    assert match is not None, texts[-1]
    return match.group(0)


async def citizen_row(world: Any, person: Any) -> Citizen:
    engine = create_engine(world.settings.database_url)
    try:
        async with session_factory(engine)() as session:
            stmt = select(Citizen).where(col(Citizen.user_id) == person.user_id)
            return (await session.scalars(stmt)).one()
    finally:
        await engine.dispose()


async def verifications(world: Any) -> int:
    engine = create_engine(world.settings.database_url)
    try:
        async with engine.connect() as conn:
            return len((await conn.execute(select(PhoneVerification.id))).all())
    finally:
        await engine.dispose()


def wrong(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


async def test_a_typed_mobile_is_proved_by_the_code_the_gateway_delivered(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await file_request(zahra)
    offer = await zahra.expect("با پیامک هم به شماره")
    assert to_persian_digits(TYPED_MOBILE) in offer["text"]
    assert await world.client.sms_messages(TYPED_MOBILE) == [], "nothing goes to a number nobody proved"

    await zahra.press("📩 بله، کد را بفرست")
    sent = await zahra.expect("پیامک شد")
    assert "۵ رقمی" in sent["text"]
    code = await latest_code(world, TYPED_MOBILE)

    await zahra.send(to_persian_digits(wrong(code)))
    await zahra.expect("۴ بار دیگر")
    assert not (await citizen_row(world, zahra)).phone_verified
    await zahra.send(" ".join(to_persian_digits(code)))  # Persian digits with spaces are fine
    done = await zahra.expect("شماره تأیید شد")
    assert to_persian_digits(TYPED_MOBILE) in done["text"]

    citizen = await citizen_row(world, zahra)
    assert (citizen.phone, citizen.phone_verified, citizen.sms_enabled) == (TYPED_MOBILE, True, True)


async def test_new_codes_are_throttled_and_cancel_leaves_the_number_unproved(
    world: Any, platform: Platform
) -> None:
    ali = await world.citizen(platform, name="علی")
    await file_request(ali)
    await ali.expect("با پیامک هم به شماره")
    await ali.press("📩 بله، کد را بفرست")
    await ali.expect("پیامک شد")
    for _ in range(PHONE_LIMIT - 1):
        await ali.press("🔁 کد تازه بفرست")
        await ali.expect("پیامک شد")
    await ali.press("🔁 کد تازه بفرست")
    throttled = await ali.expect("دقیقه دیگر")
    assert "کد" in throttled["text"]
    assert await verifications(world) == PHONE_LIMIT

    await ali.send("12")  # not a code: asked again, no try spent
    await ali.expect("کد ۵ رقمی")
    await ali.press("✖️ انصراف")
    await ali.expect("شماره تأیید نشد")
    assert not (await citizen_row(world, ali)).phone_verified


async def test_not_now_sends_nothing(world: Any, platform: Platform) -> None:
    sara = await world.citizen(platform, name="سارا")
    await file_request(sara)
    await sara.expect("با پیامک هم به شماره")
    await sara.press("فعلاً نه")
    await sara.expect("همین‌جا در پیام‌رسان")
    assert await verifications(world) == 0


async def test_ones_own_contact_needs_no_code(world: Any, platform: Platform) -> None:
    maryam = await world.citizen(platform, name="مریم")
    await file_request(maryam, share_contact=True)
    own = "0" + normalize_identifier(maryam.user["phone_number"])[-10:]

    citizen = await citizen_row(world, maryam)
    assert (citizen.phone, citizen.phone_verified, citizen.sms_enabled) == (own, True, True)
    await world.client.expect_sms(own)  # the request's first SMS goes to the number the messenger vouched for
    await asyncio.sleep(0.3)
    assert not any("با پیامک هم به شماره" in m.get("text", "") for m in await maryam.transcript())
    assert await verifications(world) == 0


async def test_a_stranger_tracks_with_the_code_and_the_last_four_digits(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    code = await file_request(zahra)

    stranger = await world.citizen(platform, name="ناشناس")
    await stranger.send("/start")
    await stranger.expect("میز خدمت")
    await stranger.send(f"{to_persian_digits(code)} {to_persian_digits(NATIONAL_ID[-4:])}")
    seen = await stranger.expect("وضعیت")
    assert "آزمون همه پرسش‌ها" in seen["text"]

    await stranger.send(code)  # the code alone: the bot asks for the national ID, and four digits do
    await stranger.expect("کد ملی ثبت‌شده")
    await stranger.send(NATIONAL_ID[-4:])
    await stranger.expect("وضعیت")


async def test_wrong_last_four_digits_are_refused_and_throttled(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    code = await file_request(zahra)

    guesser = await world.citizen(platform, name="حدس")
    await guesser.send("/start")
    await guesser.expect("میز خدمت")
    for guess in ("0000", "1111", "2222", "3333", "4444"):
        await guesser.send(f"{code} {guess}")
        refused = await guesser.expect("پیدا نشد")
        assert "آزمون همه پرسش‌ها" not in refused["text"]
    await guesser.send(f"{code} {NATIONAL_ID[-4:]}")  # even the right digits wait now
    await guesser.expect("دقیقه دیگر")
