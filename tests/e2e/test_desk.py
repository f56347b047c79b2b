"""Clerks work requests from their operator group; every action reaches the citizen (issue: the clerks' desk)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.platforms import Platform

from .conftest import PDF, png  # type: ignore[import-not-found]
from .test_request import buttons, copyable_code, fill_every_field, open_card  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow


async def file_request(world: Any, platform: Platform, name: str = "زهرا") -> tuple[Any, str]:
    """A citizen files the test service at Falavarjan (national ID 0499370899, mobile 09123456789)."""
    citizen = await world.citizen(platform, name=name)
    await open_card(citizen, "شهرداری فلاورجان", "آزمون", "آزمون همه پرسش‌ها")
    await citizen.press("📝 ثبت درخواست")
    await fill_every_field(citizen)
    await citizen.expect("مدرک ۱ از ۲")
    await citizen.send_document(PDF, filename="scan.pdf", mime_type="application/pdf")
    await citizen.expect("مدرک ۲ از ۲")
    await citizen.send_photo(png(), filename="place.png")
    await citizen.expect("بازبینی")
    await citizen.press("✅ ثبت نهایی")
    await citizen.expect("کد رهگیری")
    return citizen, await copyable_code(citizen)


async def card_of(clerk: Any, code: str) -> dict[str, Any]:
    """The newest card in the clerk's group for this code (Persian digits, grouped as 1234-5678-9012)."""
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    shown = f"{persian[:4]}-{persian[4:8]}-{persian[8:]}"
    for message in reversed(await clerk.transcript()):
        text = message.get("text", "")
        if message.get("outgoing") and shown in text and text.startswith("📥"):
            return message
    raise AssertionError(f"no card for {code} in the group")


async def test_a_new_request_reaches_its_group_as_a_card(world: Any, platform: Platform) -> None:
    clerk = await world.clerk(platform)
    _zahra, _code = await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    text = card["text"]
    assert "زهرا" in text
    assert "0499370899" not in text
    assert "۰۴۹۹۳۷۰۸۹۹" not in text, "the national ID is masked on the card"
    assert "09123456789" not in text
    assert "۰۹۱۲۳۴۵۶۷۸۹" not in text, "the mobile is masked on the card"
    assert "🙋 برمی‌دارم" in buttons(card)
    await clerk.expect("پویش سند")  # the documents follow the card
    await clerk.expect("عکس محل")


async def test_the_full_life_of_a_request(world: Any, platform: Platform) -> None:
    clerk = await world.clerk(platform)
    zahra, code = await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")

    await clerk.press("🙋 برمی‌دارم", message=card)
    started = await zahra.expect("بررسی درخواست شما را آغاز کرد")
    assert "شهرداری فلاورجان" in started["text"], "the organization is named, not its id"
    card = await clerk.expect("در حال بررسی")  # the card is redrawn in place
    assert "کارشناس نمونه" in card["text"]

    await clerk.press("❓ نقص مدارک/اطلاعات", message=card)
    await clerk.expect("چه مدرک یا اطلاعاتی کم است")
    await clerk.send("لطفاً صفحه دوم سند را هم بفرستید")
    asked = await zahra.expect("صفحه دوم سند")
    assert "کارشناس نمونه" not in asked["text"], "the organization speaks, not the clerk"

    await zahra.send("صفحه دوم را فرستادم")
    await zahra.expect("پاسخ شما برای کارشناس")
    await clerk.expect("صفحه دوم را فرستادم")
    card = await card_of(clerk, code)

    await clerk.reply_to(card, "سپاس، دریافت شد")
    await zahra.expect("سپاس، دریافت شد")

    await clerk.reply_to(card, "/note با واحد فنی هماهنگ شد")
    await clerk.expect("یادداشت داخلی ثبت شد")

    # She follows it by its code, typed in Persian digits and grouped as shown: the public history only.
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    await zahra.press("🔎 پیگیری درخواست")
    await zahra.expect("کد رهگیری درخواست")
    await zahra.send(f"{persian[:4]}-{persian[4:8]}-{persian[8:]}")
    tracked = await zahra.expect("وضعیت")
    for public in ("ثبت‌شده", "در حال بررسی", "نیازمند اطلاعات بیشتر"):
        assert public in tracked["text"], public
    assert "واحد فنی" not in tracked["text"], "internal notes are not part of the history"

    card = await card_of(clerk, code)
    await clerk.press("✅ انجام شد", message=card)
    await clerk.expect("نتیجه کار را")
    await clerk.send("گواهی شماره ۱۲۳ صادر شد")
    done = await zahra.expect("گواهی شماره ۱۲۳")
    assert "واحد فنی" not in done["text"], "internal notes never reach the citizen"
    poll = await zahra.expect("نمره")
    assert buttons(poll) == ["۱", "۲", "۳", "۴", "۵"]
    await zahra.press("۲", message=poll)
    offer = await zahra.expect("امتیاز ۲ از ۵")
    assert "📣 به نتیجه اعتراض دارم" in buttons(offer)
    await zahra.press("📣 به نتیجه اعتراض دارم", message=offer)
    await zahra.expect("به عنوان شکایت ثبت می‌شود")

    transcript = " ".join(m.get("text", "") for m in await zahra.transcript())
    assert "واحد فنی" not in transcript


async def test_a_stranger_cannot_act_and_a_rejection_needs_a_reason(world: Any, platform: Platform) -> None:
    clerk = await world.clerk(platform)
    stranger = await world.stranger_in_group(platform)
    zahra, _code = await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await stranger.press("🙋 برمی‌دارم", message=card, wait_answer=20)
    assert stranger.last_answer is not None
    assert "فقط کارشناسان" in stranger.last_answer["text"]

    await clerk.press("⛔️ رد درخواست", message=card)
    await clerk.expect("دلیل رد درخواست")
    await clerk.send("/cancel")
    await clerk.expect("لغو شد")
    await clerk.press("⛔️ رد درخواست", message=card)
    await clerk.expect("دلیل رد درخواست")
    await clerk.send("ملک خارج از محدوده شهر است")
    rejected = await zahra.expect("خارج از محدوده")
    assert "نتوانست درخواست شما را بپذیرد" in rejected["text"]
    poll = await zahra.expect("نمره")
    await zahra.press("۴", message=poll)
    offer = await zahra.expect("امتیاز ۴ از ۵")
    assert "📣 به نتیجه اعتراض دارم" in buttons(offer), "a rejection can always be objected to"


async def test_two_clerks_racing_for_one_card(world: Any, platform: Platform) -> None:
    first = await world.clerk(platform, index=0)
    second = await world.clerk(platform, index=1)
    zahra, _code = await file_request(world, platform)
    card = await first.expect("آزمون همه پرسش‌ها")
    await asyncio.gather(
        first.press("🙋 برمی‌دارم", message=card, wait_answer=20),
        second.press("🙋 برمی‌دارم", message=card, wait_answer=20),
    )
    answers = [first.last_answer, second.last_answer]
    assert all(a is not None for a in answers)
    won = [a for a in answers if a and "به نام شما" in a["text"]]
    assert len(won) == 1, answers
    await zahra.expect("بررسی درخواست شما را آغاز کرد")
    await asyncio.sleep(1)
    started = [m for m in await zahra.transcript() if "آغاز کرد" in m.get("text", "")]
    assert len(started) == 1, "the citizen hears about the claim once"


async def test_files_relayed_both_ways(world: Any, platform: Platform) -> None:
    clerk = await world.clerk(platform)
    zahra, code = await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.press("🙋 برمی‌دارم", message=card)
    card = await clerk.expect("در حال بررسی")
    await clerk.press("❓ نقص مدارک/اطلاعات", message=card)
    await clerk.expect("چه مدرک")
    await clerk.send("عکس پلاک را بفرستید")
    await zahra.expect("عکس پلاک")
    await zahra.send_photo(png(12, 9), caption="این پلاک است")
    await zahra.expect("پاسخ شما برای کارشناس")
    relayed = await clerk.expect("این پلاک است")
    assert relayed.get("photo") or relayed.get("text")
    async with world.miz.factory() as session:
        from storage.repositories import Requests

        request = await Requests(session).by_tracking_code(code)
        assert request is not None
        slots = [d.slot for d in await Requests(session).documents(request.id)]
    assert "additional" in slots, "the answer's photo is kept with the request, like the form's documents"
    card = await card_of(clerk, code)
    await clerk.send_photo(png(20, 10), caption="نقشه محل", reply_to=card)
    header = await zahra.expect("نقشه محل")
    assert "کارشناس نمونه" not in header.get("text", header.get("caption", ""))
    await world.delivered(zahra)  # the copy goes through the outbox
    photos = [m for m in await zahra.transcript() if m.get("outgoing") and m.get("photo")]
    assert photos, "the clerk's photo reaches the citizen as a photo from the bot"


async def file_complaint(citizen: Any, *, anonymous: bool) -> None:
    """A complaint about Falavarjan's staff, from the main menu."""
    await citizen.send("/start")
    await citizen.expect("میز خدمت")
    await citizen.press("📣 ثبت شکایت")
    await citizen.expect("از کدام شهرداری یا دهیاری")
    await citizen.press("شهرداری فلاورجان")
    await citizen.expect("مدارک لازم")
    await citizen.press("📝 ثبت درخواست")
    await citizen.expect("یکی از گزینه‌ها")
    await citizen.press("رفتار کارکنان")
    for _ in range(3):  # the related code, the official and the date are optional
        await citizen.expect("اختیاری")
        await citizen.press("⏭ رد کردن")
    await citizen.expect("شرح شکایت")
    await citizen.send("کارمند باجه به پرسش‌هایم پاسخ نداد")
    await citizen.expect("پنهان بماند")
    await citizen.press("بله" if anonymous else "خیر")
    await citizen.expect("مدرک ۱ از ۱")
    await citizen.press("⏭ رد کردن")
    await citizen.expect("بازبینی")
    await citizen.press("✅ ثبت نهایی")
    await citizen.expect("کد رهگیری")


async def test_an_anonymous_complaint_reaches_the_governorate_only(world: Any, platform: Platform) -> None:
    staff = await world.clerk(platform, "falavarjan")
    inspector = await world.clerk(platform, "governorate")
    maryam = await world.citizen(platform, name="مریم")
    await file_complaint(maryam, anonymous=True)
    card = await inspector.expect("شکایت از خدمت")
    assert "مریم" in card["text"], "the governorate's inspector sees who complained"
    await asyncio.sleep(1)
    assert not [m for m in await staff.transcript() if "مریم" in m.get("text", "")]
    await inspector.press("🙋 برمی‌دارم", message=card)
    await maryam.expect("بررسی درخواست شما را آغاز کرد")


async def test_a_named_complaint_goes_to_the_organization(world: Any, platform: Platform) -> None:
    staff = await world.clerk(platform, "falavarjan")
    maryam = await world.citizen(platform, name="مریم")
    await file_complaint(maryam, anonymous=False)
    card = await staff.expect("شکایت از خدمت")
    assert "مریم" in card["text"]


async def test_group_commands_list_and_find_requests(world: Any, platform: Platform) -> None:
    clerk = await world.clerk(platform)
    _zahra, code = await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.send("/help")
    await clerk.expect("راهنمای کارشناسان")
    await clerk.send("/open")
    opened = await clerk.expect("درخواست‌های باز")
    assert "آزمون همه پرسش‌ها" in opened["text"]
    await clerk.send("/mine")
    await clerk.expect("درخواستی به نام شما باز نیست")
    await clerk.press("🙋 برمی‌دارم", message=card)
    await clerk.expect("در حال بررسی")
    await clerk.send("/mine")
    mine = await clerk.expect("درخواست‌های شما")
    assert "آزمون همه پرسش‌ها" in mine["text"]
    await clerk.send("/overdue")
    await clerk.expect("هیچ درخواستی از موعدش نگذشته")
    await clerk.send(f"/find {code}")
    found = await clerk.expect("نتیجه جست‌وجو")
    assert "آزمون همه پرسش‌ها" in found["text"]
    await clerk.send("/find 0499370899")
    await clerk.expect("نتیجه جست‌وجو (۱)")
    await clerk.send("/find سلام")
    await clerk.expect("کد رهگیری ۱۲ رقمی")
    stranger = await world.stranger_in_group(platform)
    await stranger.send("/open")
    await stranger.expect("فقط کارشناسان")


async def test_a_group_admin_adds_a_clerk_who_can_then_act(world: Any, platform: Platform) -> None:
    admin = await world.clerk(platform)  # the demo clerk created the group: its administrator
    newcomer = await world.stranger_in_group(platform)
    await newcomer.send("سلام، من کارمند جدید هستم")
    hello = (await newcomer.transcript())[-1]
    await admin.send("/addclerk")
    await admin.expect("پاسخ")  # usage: reply to the person
    await admin.reply_to(hello, "/addclerk")
    await admin.expect("اکنون کارشناس این سازمان است")
    await admin.send("/clerks")
    listed = await admin.expect("کارشناسان")
    assert "غریبه" in listed["text"]

    zahra, _code = await file_request(world, platform)
    card = await newcomer.expect("آزمون همه پرسش‌ها")
    await newcomer.press("🙋 برمی‌دارم", message=card)
    await zahra.expect("بررسی درخواست شما را آغاز کرد")
    redrawn = await newcomer.expect("در حال بررسی")
    assert "غریبه" in redrawn["text"], "the card names the new clerk as the assignee"

    await newcomer.send("/addclerk")
    await newcomer.expect("فقط سرپرست سازمان یا مدیر همین گروه")
    await admin.reply_to(hello, "/removeclerk")
    await admin.expect("دیگر کارشناس این سازمان نیست")
    await newcomer.send("/open")
    await newcomer.expect("فقط کارشناسان")
