"""Inquiries between organizations, end to end in both dialects (issue #16): a clerk asks the land registry
office with a document of the request and a new file of their own, and the office answers with a text and two
files in its own group; an agency without a group is answered by hand."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pytest

from bot.platforms import Platform
from bot.scheduler import DigestScheduler
from desk.handling import withdraw
from storage.repositories import Citizens, Inquiries, Requests
from storage.uow import unit_of_work

from .conftest import PDF, png  # type: ignore[import-not-found]
from .test_desk import file_request  # type: ignore[import-not-found]
from .test_request import buttons  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

INQUIRE = "🏢 استعلام"
REGISTRY = "اداره ثبت اسناد و املاک فلاورجان"
WATER = "امور آب و فاضلاب شهرستان فلاورجان"


async def claimed(world: Any, platform: Platform) -> tuple[Any, Any, dict[str, Any], str]:
    """A filed request, claimed by Falavarjan's clerk: (the clerk, the citizen, the card, the tracking code)."""
    clerk = await world.clerk(platform, "falavarjan")
    zahra, code = await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.press("🙋 برمی‌دارم", message=card)
    card = await clerk.expect("در حال بررسی")
    await zahra.expect("بررسی درخواست شما را آغاز کرد")
    return clerk, zahra, card, code


async def _photo_in(
    person: Any,
    caption: str,
    timeout: float = 30,  # noqa: ASYNC109
    kind: str = "photo",
) -> dict[str, Any]:
    """The bot's photo (or other ``kind`` of file) with ``caption`` in the person's chat, waiting for the outbox
    (a group's pace is rationed)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for message in await person.transcript():
            if message.get("outgoing") and kind in message and caption in (message.get("caption") or ""):
                return dict(message)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no {kind} captioned {caption!r}")
        await asyncio.sleep(0.2)


async def test_the_registry_answers_in_its_group_and_the_request_returns_to_the_queue(
    world: Any, platform: Platform
) -> None:
    clerk, zahra, card, code = await claimed(world, platform)
    registry = await world.clerk(platform, "registry")

    await clerk.press(INQUIRE, message=card)
    picker = await clerk.expect("از کدام دستگاه‌ها")
    assert buttons(picker)[0] == REGISTRY, "the agencies come first, the most asked first"
    await clerk.press(REGISTRY, message=picker)
    picker = await clerk.expect("از کدام دستگاه‌ها")  # the same message, its buttons redrawn
    assert "✅ " + REGISTRY in buttons(picker)
    await clerk.press("ادامه ⬅️", message=picker)
    await clerk.expect("متن استعلام را بنویسید")
    await clerk.send("آیا پلاک ۱۲۳ فرعی ۴۵ در بازداشت است؟")
    documents = await clerk.expect("کدام مدارک درخواست پیوست شود")
    await clerk.press("مدرک ۱: پویش سند", message=documents)
    documents = await clerk.expect("کدام مدارک درخواست پیوست شود")
    assert "✅ مدرک ۱: پویش سند" in buttons(documents)
    await clerk.send_sticker()
    await clerk.expect("استیکر، متن و پیام‌های دیگر پیوست نمی‌شوند")
    await clerk.send_document(PDF, filename="map.pdf", mime_type="application/pdf")
    kept = await clerk.expect("پیوست دریافت شد (تا اینجا ۱ فایل تازه)")
    await clerk.press("ادامه ⬅️", message=kept)
    await clerk.expect("شمارهٔ نامهٔ صادره")
    await clerk.send("۱۲۳۴/ش ۱۴۰۵/۰۹/۱۴")
    sent = await clerk.expect("استعلام فرستاده شد")
    assert REGISTRY in sent["text"]
    waiting = await zahra.expect("استعلام کرده است")
    assert REGISTRY in waiting["text"]

    asked = await registry.expect("استعلام شمارهٔ")
    assert "پلاک ۱۲۳ فرعی ۴۵" in asked["text"]
    assert "۱۲۳۴/ش" in asked["text"], "the outgoing letter's number"
    assert "شهرداری فلاورجان" in asked["text"], "who asks"
    assert "زهرا" not in asked["text"], "never the citizen's name"
    assert "۰۴۹۹۳۷۰۸۹۹" not in asked["text"]
    assert buttons(asked) == ["✅ پاسخ", "❓ اطلاعات بیشتر", "↩️ مربوط به ما نیست"]
    assert "مدارک پیوست: ۲" in asked["text"], (
        "two files attached: the request's document and the clerk's new one"
    )
    await registry.expect("پویش سند · استعلام شمارهٔ")  # the one document attached, under the card
    new_file = await _photo_in(registry, "پیوست ۱ · استعلام شمارهٔ", kind="document")
    assert new_file.get("reply_to_message_id") == asked["message_id"], "the clerk's new file, under the card"

    await registry.press("✅ پاسخ", message=asked)
    await registry.expect("پاسخ استعلام شمارهٔ")
    await registry.send_sticker()
    await registry.expect("پاسخ خالی است")
    store = world.miz.dispatcher["documents"]
    store.max_bytes = 1024 * 1024  # a file of one and a half megabytes is too large here
    await registry.send_document(PDF + b"0" * 1_500_000, filename="big.pdf", mime_type="application/pdf")
    await registry.expect("حداکثر ۱ مگابایت")
    await registry.send("پلاک در بازداشت نیست.")
    await registry.expect("۱ متن و ۰ فایل")
    await registry.send_photo(png(), caption="نقشهٔ پلاک")
    await registry.expect("۲ متن و ۱ فایل")
    await registry.send_document(PDF, filename="answer.pdf", caption="نامهٔ پاسخ", mime_type="application/pdf")
    received = await registry.expect("۳ متن و ۲ فایل")
    await registry.press("✅ پایان پاسخ", message=received)
    await registry.expect("شمارهٔ نامهٔ پاسخ")
    await registry.send("۹۸۷/ث ۱۴۰۵/۰۹/۱۶")
    await registry.expect("پاسخ فرستاده شد")

    # A group's messages are rationed (20 a minute on Telegram): the answer and its scan may take a while.
    answered = await clerk.expect("پلاک در بازداشت نیست", timeout=30)
    assert REGISTRY in answered["text"]
    assert answered.get("reply_to_message_id") == card["message_id"], "under the request's card"
    assert "درخواست به کارتابل برگشت" in answered["text"], "the last answer: the request is back"
    assert "۹۸۷/ث" in answered["text"], "with the answer letter's number"
    told = await zahra.expect("پاسخ استعلام‌های درخواست شما رسید")
    assert "در حال بررسی" in told["text"]
    scan = await _photo_in(clerk, "نقشهٔ پلاک")
    letter = await _photo_in(clerk, "نامهٔ پاسخ", kind="document")
    assert answered["message_id"] < scan["message_id"] < letter["message_id"], "both files follow the answer"
    # The asking municipality's group on the other messenger gets both files from the document store.
    other = await world.clerk(
        Platform.BALE if platform is Platform.TELEGRAM else Platform.TELEGRAM, "falavarjan"
    )
    await _photo_in(other, "پیوست ۱ · استعلام شمارهٔ")
    await _photo_in(other, "پیوست ۲ · استعلام شمارهٔ", kind="document")

    await zahra.press("🔎 پیگیری درخواست")
    await zahra.expect("کد رهگیری درخواست")
    await zahra.send(code)
    tracked = await zahra.expect("وضعیت")
    assert f"پاسخ استعلام {REGISTRY} رسید" in tracked["text"], "the public history: answered"
    assert "بازداشت" not in tracked["text"], "but not what was asked or answered"
    transcript = [m for m in await zahra.transcript() if "پاسخ استعلام‌های" in m.get("text", "")]
    assert len(transcript) == 1, "the citizen is told once"


async def test_an_agency_without_a_group_is_answered_by_hand(world: Any, platform: Platform) -> None:
    clerk, zahra, card, _code = await claimed(world, platform)
    await clerk.press(INQUIRE, message=card)
    picker = await clerk.expect("از کدام دستگاه‌ها")
    await clerk.press(WATER, message=picker)
    await clerk.press("ادامه ⬅️", message=picker)
    await clerk.expect("متن استعلام را بنویسید")
    await clerk.send("آیا انشعاب آب از ملک می‌گذرد؟")
    documents = await clerk.expect("کدام مدارک درخواست پیوست شود")
    await clerk.press("ادامه ⬅️", message=documents)
    await clerk.expect("شمارهٔ نامهٔ صادره")
    await clerk.press("📤 ارسال بدون شمارهٔ نامه")
    sent = await clerk.expect("استعلام فرستاده شد")
    assert "پاسخ نامه را از کارت ثبت کنید" in sent["text"]
    card = await clerk.expect("در انتظار")

    await clerk.press("📥 ثبت پاسخ استعلام", message=card)
    pick = await clerk.expect("پاسخ کدام استعلام رسیده است")
    await clerk.press(buttons(pick)[0], message=pick)
    await clerk.expect("متن پاسخ استعلام شمارهٔ")
    await clerk.send("انشعابی از ملک نمی‌گذرد.")
    received = await clerk.expect("۱ متن و ۰ فایل")
    await clerk.press("✅ پایان پاسخ", message=received)
    await clerk.expect("شمارهٔ نامهٔ پاسخ")
    await clerk.send("۵۵/آ ۱۴۰۵/۰۹/۱۵")
    await clerk.expect("پاسخ استعلام ثبت شد")
    await zahra.expect("پاسخ استعلام‌های درخواست شما رسید")


async def test_an_overdue_inquiry_reaches_both_groups_in_the_morning_and_then_the_governorate(
    world: Any, platform: Platform
) -> None:
    clerk, _zahra, card, _code = await claimed(world, platform)
    registry = await world.clerk(platform, "registry")
    inspector = await world.clerk(platform, "governorate")
    await clerk.press(INQUIRE, message=card)
    picker = await clerk.expect("از کدام دستگاه‌ها")
    await clerk.press(REGISTRY, message=picker)
    await clerk.press("ادامه ⬅️", message=picker)
    await clerk.expect("متن استعلام را بنویسید")
    await clerk.send("وضعیت ثبتی پلاک ۷۷؟")
    documents = await clerk.expect("کدام مدارک درخواست پیوست شود")
    await clerk.press("ادامه ⬅️", message=documents)
    await clerk.expect("شمارهٔ نامهٔ صادره")
    await clerk.press("📤 ارسال بدون شمارهٔ نامه")
    await clerk.expect("استعلام فرستاده شد")
    await registry.expect("وضعیت ثبتی پلاک ۷۷")

    catalog = world.miz.catalogs.catalog
    async with world.miz.factory() as session:
        [inquiry] = await Inquiries(session).overdue(date(2100, 1, 1))
    # Ten calendar days after the due date, on a day every office works (and not a month's first working day).
    day = inquiry.due_date + timedelta(days=10)
    while not all(
        catalog.calendar_for(o).is_working_day(day) for o in ("falavarjan", "registry", "governorate")
    ):
        day += timedelta(days=1)
    planner = DigestScheduler(world.miz.factory, world.miz.catalogs, world.miz.outbox, weekly_reports=False)
    await planner.run_once(day)

    asked = await clerk.expect("استعلام‌های دیرکرده", timeout=30)
    assert f"به {REGISTRY}" in asked["text"]
    received = await registry.expect("استعلام‌های دیرکرده", timeout=30)
    assert "از شهرداری فلاورجان" in received["text"]
    assert "لطفاً پاسخ دهید" in received["text"]
    escalated = await inspector.expect("پاسخشان بسیار دیر شده است", timeout=30)
    assert f"از شهرداری فلاورجان به {REGISTRY}" in escalated["text"]

    await registry.send("/inquiries")
    listed = await registry.expect("استعلام‌های باز")
    assert "رسیده از شهرداری فلاورجان" in listed["text"]


async def test_the_agency_asks_for_more_and_the_clerk_replies_under_it(
    world: Any, platform: Platform
) -> None:
    clerk, _zahra, card, _code = await claimed(world, platform)
    registry = await world.clerk(platform, "registry")
    await clerk.press(INQUIRE, message=card)
    picker = await clerk.expect("از کدام دستگاه‌ها")
    await clerk.press(REGISTRY, message=picker)
    await clerk.press("ادامه ⬅️", message=picker)
    await clerk.expect("متن استعلام را بنویسید")
    await clerk.send("مالکیت پلاک ۹؟")
    documents = await clerk.expect("کدام مدارک درخواست پیوست شود")
    await clerk.press("ادامه ⬅️", message=documents)
    await clerk.expect("شمارهٔ نامهٔ صادره")
    await clerk.press("📤 ارسال بدون شمارهٔ نامه")
    asked = await registry.expect("مالکیت پلاک ۹")

    await registry.press("❓ اطلاعات بیشتر", message=asked)
    await registry.expect("چه اطلاعاتی")
    await registry.send("شمارهٔ پلاک فرعی را بفرستید.")
    await registry.expect("پرسش شما برای سازمان درخواست‌کننده فرستاده شد")
    question = await clerk.expect("شمارهٔ پلاک فرعی را بفرستید", timeout=30)
    assert question.get("reply_to_message_id") == card["message_id"], "under the request's card"

    await clerk.press("✍️ پاسخ به دستگاه", message=question)
    await clerk.expect("پاسخ پرسش دستگاه")
    await clerk.send("فرعی ۱۲")
    await clerk.expect("پاسخ شما برای دستگاه فرستاده شد")
    back = await registry.expect("فرعی ۱۲", timeout=30)
    assert back.get("reply_to_message_id") == asked["message_id"], "under the inquiry's card"
    assert "✅ پاسخ" in buttons(back), "and the agency can answer from there"


def picker_request(picker: dict[str, Any]) -> int:
    """The request id the picker's buttons carry (``inqto:<id>:<org>``)."""
    for row in picker.get("buttons", []):
        for button in row:
            data = str(button.get("callback_data") or "")
            if data.startswith("inqto:"):
                return int(data.split(":")[1])
    raise AssertionError("no organization's button")


async def test_the_picker_pages_on_to_the_governorate_which_gets_the_inquiry(
    world: Any, platform: Platform
) -> None:
    clerk, _zahra, card, _code = await claimed(world, platform)
    inspector = await world.clerk(platform, "governorate")
    await clerk.press(INQUIRE, message=card)
    picker = await clerk.expect("از کدام دستگاه‌ها")
    assert "فرمانداری فلاورجان" not in buttons(picker), "the agencies come first"
    assert "بعدی ‹" in buttons(picker)
    await clerk.press(REGISTRY, message=picker)
    picker = await clerk.expect("از کدام دستگاه‌ها")
    await clerk.press("بعدی ‹", message=picker)
    picker = await clerk.expect("از کدام دستگاه‌ها")  # the same message, its second page
    assert "✅ " + REGISTRY not in buttons(picker), "the first page's agencies are not on the second"
    # A modified client asking for a page far past the end is shown the last one, no error.
    await clerk.press(data=f"inqpg:{picker_request(picker)}:99", message=picker, wait_answer=20, forged=True)
    assert not (clerk.last_answer or {}).get("text")
    picker = await clerk.expect("از کدام دستگاه‌ها")
    assert "بعدی ‹" not in buttons(picker), "the governorate is on the last page"
    assert "› قبلی" in buttons(picker)
    await clerk.press("فرمانداری فلاورجان", message=picker)
    picker = await clerk.expect("از کدام دستگاه‌ها")
    assert "✅ فرمانداری فلاورجان" in buttons(picker), "ticked, and the page stays"
    await clerk.press("ادامه ⬅️", message=picker)
    await clerk.expect("متن استعلام را بنویسید")
    await clerk.send("آیا این ملک در طرح تعریض جاده است؟")
    documents = await clerk.expect("کدام مدارک درخواست پیوست شود")
    await clerk.press("ادامه ⬅️", message=documents)
    await clerk.expect("شمارهٔ نامهٔ صادره")
    await clerk.press("📤 ارسال بدون شمارهٔ نامه")
    sent = await clerk.expect("استعلام فرستاده شد")
    assert REGISTRY in sent["text"], "the agency ticked on the first page goes too"
    assert "فرمانداری فلاورجان" in sent["text"]
    asked = await inspector.expect("طرح تعریض جاده")
    assert "شهرداری فلاورجان" in asked["text"]


async def test_a_withdrawn_requests_inquiry_leaves_the_agencys_open_and_takes_no_answer(
    world: Any, platform: Platform
) -> None:
    clerk, _zahra, card, code = await claimed(world, platform)
    registry = await world.clerk(platform, "registry")
    await clerk.press(INQUIRE, message=card)
    picker = await clerk.expect("از کدام دستگاه‌ها")
    await clerk.press(REGISTRY, message=picker)
    await clerk.press("ادامه ⬅️", message=picker)
    await clerk.expect("متن استعلام را بنویسید")
    await clerk.send("مالکیت پلاک ۷؟")
    documents = await clerk.expect("کدام مدارک درخواست پیوست شود")
    await clerk.press("ادامه ⬅️", message=documents)
    await clerk.expect("شمارهٔ نامهٔ صادره")
    await clerk.press("📤 ارسال بدون شمارهٔ نامه")
    asked = await registry.expect("مالکیت پلاک ۷")
    await world.delivered(registry)
    await registry.send("/open")
    await registry.expect("استعلام‌های در انتظار پاسخ شما (۱)")

    # The citizen gives the request up while it waits for the registry (desk's use case, as the bot calls it).
    async with unit_of_work(world.miz.factory, write=True) as session:
        request = await Requests(session).by_tracking_code(code)
        assert request is not None
        assert request.id is not None
        citizen = await Citizens(session).get(request.citizen_id)
        assert citizen is not None
        groups = world.miz.catalogs.catalog.operator_groups("falavarjan")
        await withdraw(session, request.id, citizen.platform, citizen.user_id, groups=groups)
        [inquiry] = await Inquiries(session).of_request(request.id)
    world.miz.outbox.notify()

    notice = await registry.expect("از شهرداری فلاورجان بسته شد", timeout=30)
    assert "شهروند درخواست را پس گرفت. پاسخی لازم نیست." in notice["text"]
    assert notice.get("reply_to_message_id") == asked["message_id"], "under the inquiry's card"
    await world.delivered(registry)
    redrawn = next(m for m in await registry.transcript() if m["message_id"] == asked["message_id"])
    assert "دیگر پاسخی لازم نیست" in redrawn["text"]
    assert "شهروند درخواست را پس گرفت" in redrawn["text"], "the card says why"
    assert buttons(redrawn) == [], "and has no answer buttons any more"
    await registry.send("/open")
    await registry.expect("استعلامی در انتظار پاسخ شما نیست")

    # A client that kept the old card's button (or forges it) is told politely that no answer is needed.
    await registry.press(data=f"inq:{inquiry.id}:answer", message=asked, wait_answer=20, forged=True)
    assert "دیگر لازم نیست" in ((registry.last_answer or {}).get("text") or "")
