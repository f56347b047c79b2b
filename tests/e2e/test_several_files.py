"""A document of several files (issue #14): every page of the deed, one or two photos of the site.

Files are added, one by one or as an album, each acknowledged with a count, until "done" or the document's most;
all of them are filed with the request and reach the clerks.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.platforms import Platform
from storage.repositories import Requests

from .conftest import PDF, png  # type: ignore[import-not-found]
from .test_request import copyable_code, open_card  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

DONE = "✅ تمام شد"


async def to_the_building_permits_documents(person: Any) -> dict[str, Any]:
    """Answer the building permit's seven questions; answers the first document's prompt (the deed)."""
    await open_card(person, "شهرداری فلاورجان", "پروانه", "صدور پروانه ساختمانی")
    await person.press("📝 ثبت درخواست")
    await person.expect("پرسش ۱ از ۷")
    await person.send("۰۴۹۹۳۷۰۸۹۹")
    await person.expect("پرسش ۲ از ۷")
    await person.send("۲۵۰")
    await person.expect("یکی از گزینه‌ها")
    await person.press("مسکونی")
    await person.expect("پرسش ۴ از ۷")
    await person.send("2")
    await person.expect("پرسش ۵ از ۷")
    await person.press("📍 ارسال موقعیت")
    await person.expect("پرسش ۶ از ۷")
    await person.send("مریم رضایی")
    await person.expect("پرسش ۷ از ۷")
    await person.send("فلاورجان، خیابان امام، کوچه ۱۲، پلاک ۵")
    prompt: dict[str, Any] = await person.expect("مدرک ۱ از ۴")
    return prompt


def reply_buttons(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in (message.get("reply_keyboard") or {}).get("keyboard", []) for b in row]


async def test_every_page_of_the_deed_is_kept_until_done(world: Any, platform: Platform) -> None:
    clerk = await world.clerk(platform)
    zahra = await world.citizen(platform)
    prompt = await to_the_building_permits_documents(zahra)
    assert "تا ۱۰ فایل" in prompt["text"], "she is told the deed takes several files"

    await zahra.send_photo(png(10, 8), filename="page1.png")
    first = await zahra.expect("فایل ۱ از «سند مالکیت» دریافت شد")
    assert DONE in reply_buttons(first)
    await zahra.send_document(PDF, filename="page2.pdf", mime_type="application/pdf")
    await zahra.expect("فایل ۲ از «سند مالکیت» دریافت شد")
    await zahra.send_album([png(12, 8), png(14, 8)])  # two pages at once
    await zahra.expect("فایل ۴ از «سند مالکیت» دریافت شد")
    await zahra.press(DONE)
    second = await zahra.expect("مدرک ۲ از ۴")
    assert "سند مالکیت (۴ فایل)" in second["text"], "the checklist counts the deed's files"

    await zahra.send_document(PDF + b"%id", filename="id-card.pdf", mime_type="application/pdf")
    await zahra.expect("مدرک ۳ از ۴")
    await zahra.send_album([png(16, 12), png(18, 12), png(20, 12)])  # one more than "one or two photos"
    await zahra.expect("۲ فایل «عکس ملک از سمت گذر» دریافت شد")
    await zahra.expect("۱ فایل دیگر")
    await zahra.expect("مدرک ۴ از ۴")
    await zahra.press("⏭ رد کردن")
    review = await zahra.expect("بازبینی درخواست")
    assert "سند مالکیت (۴ فایل)" in review["text"]
    assert "عکس ملک از سمت گذر (۲ فایل)" in review["text"]

    await zahra.press("✅ ثبت نهایی")
    await zahra.expect("کد رهگیری")
    code = await copyable_code(zahra)
    async with world.miz.factory() as session:
        request = await Requests(session).by_tracking_code(code)
        assert request is not None
        assert request.id is not None
        kept = [(d.slot, d.kind) for d in await Requests(session).documents(request.id)]
    assert kept == [
        ("deed", "photo"),
        ("deed", "pdf"),
        ("deed", "photo"),
        ("deed", "photo"),
        ("id_card", "pdf"),
        ("site_photo", "photo"),
        ("site_photo", "photo"),
    ]
    card = await clerk.expect("صدور پروانه ساختمانی")
    await world.delivered(clerk)  # the files follow the card at the group's pace
    files = [
        m
        for m in await clerk.transcript()
        if m.get("outgoing")
        and (m.get("photo") or m.get("document"))
        and m["message_id"] > card["message_id"]
    ]
    assert len(files) == len(kept), "every file reaches the clerks under the card"
    captions = [m.get("caption") or "" for m in files]
    assert "سند مالکیت (۱ از ۴)" in captions[0]
    assert "سند مالکیت (۴ از ۴)" in captions[3]


async def test_changing_a_document_of_several_files_from_the_review_starts_it_afresh(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await to_the_building_permits_documents(zahra)
    await zahra.send_album([png(10, 8), png(12, 8), png(14, 8)])
    await zahra.expect("فایل ۳ از «سند مالکیت» دریافت شد")
    await zahra.press(DONE)
    await zahra.expect("مدرک ۲ از ۴")
    await zahra.send_document(PDF, filename="id-card.pdf", mime_type="application/pdf")
    await zahra.expect("مدرک ۳ از ۴")
    await zahra.send_photo(png(16, 12))
    await zahra.expect("فایل ۱ از «عکس ملک از سمت گذر»")
    await zahra.press(DONE)
    await zahra.expect("مدرک ۴ از ۴")
    await zahra.press("⏭ رد کردن")
    await zahra.expect("بازبینی درخواست")
    await zahra.press("✏️ اصلاح پاسخ یا مدرک")
    await zahra.expect("کدام مورد")
    await zahra.press("📎 سند مالکیت")
    await zahra.expect("مدرک ۱ از ۴")
    await zahra.send_photo(png(20, 8))
    await zahra.expect("فایل ۱ از «سند مالکیت» دریافت شد")  # a new set, not a fourth page
    await zahra.press(DONE)
    review = await zahra.expect("بازبینی درخواست")
    assert "سند مالکیت (۱ فایل)" in review["text"]
