"""A citizen and a clerk write as much as they may: the request's card must still fit one message and be redrawn.

A long name, the longest answers and the longest note together passed Telegram's 4,096 characters, so every later
redrawing of the card failed and the clerks' card froze for good. The card now cuts its longest parts with a marker
and points to ``/open CODE``, which gives the whole file in as many messages as it takes.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from bot.platforms import Platform
from tests.e2e.conftest import PDF
from tests.e2e.test_request import copyable_code, open_card
from tests.security.conftest import World

pytestmark = pytest.mark.slow

PERSIAN = "۰۱۲۳۴۵۶۷۸۹"
TEXT_LIMIT = 4096
"""Telegram's and Bale's longest message, in UTF-16 code units."""
LETTERS = "ابپتثجچحخدذرزسشصضطظعغفقکگلمنوهی"


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def words(count: int, ending: str) -> str:
    """``count`` distinct made-up Persian words (no digits, so nothing is rewritten), then ``ending``."""
    n = len(LETTERS)
    return " ".join(LETTERS[i % n] + LETTERS[(i // n) % n] + "ک" for i in range(count)) + f" {ending}"


LONG_NAME = "عبدالرضا محمدحسین‌زاده میرفخرایی اصفهانی فلاورجانی قهدریجانی"
NAME_ANSWER = words(45, "پایان‌نام")  # close to a short answer's 200 characters
DESCRIPTION = words(470, "پایان‌توضیح")  # close to a long answer's 2,000
NOTE = words(470, "پایان‌یادداشت")  # and to a note's 2,000


async def file_a_long_request(citizen: Any) -> str:
    await open_card(citizen, "شهرداری فلاورجان", "آزمون", "آزمون همه پرسش‌ها")
    await citizen.press("📝 ثبت درخواست")
    answers = ("0499370899", "10380284790", "09123456789", "8491753981", "1405/09/06", "120", NAME_ANSWER)
    for number, answer in enumerate((*answers, DESCRIPTION), start=1):
        await citizen.expect(f"پرسش {PERSIAN[number]} از ۸")
        await citizen.send(answer)
    await citizen.expect("مدرک ۱ از ۲")
    await citizen.send_document(PDF, filename="scan.pdf", mime_type="application/pdf")
    await citizen.expect("مدرک ۲ از ۲")
    await citizen.press("⏭ رد کردن")
    await citizen.expect("بازبینی")
    await citizen.press("✅ ثبت نهایی")
    await citizen.expect("کد رهگیری")
    return await copyable_code(citizen)


async def whole_file(clerk: Any, code: str) -> list[str]:
    """Every message ``/open CODE`` answers with, once all its parts have arrived."""
    asked = await clerk.send(f"/open {code}")
    first = await clerk.expect("بخش ۱ از")
    shown = re.search(r"بخش ۱ از (\S+)", first["text"])
    assert shown is not None
    total = int(shown.group(1).translate(str.maketrans(PERSIAN, "0123456789")))
    for _ in range(100):
        pages = [
            m["text"]
            for m in await clerk.transcript()
            if m.get("outgoing") and m["message_id"] > asked["message_id"] and "پروندهٔ درخواست" in m["text"]
        ]
        if len(pages) >= total:
            return pages
        await asyncio.sleep(0.1)
    raise AssertionError(f"{len(pages)} of {total} parts of the file arrived")


async def test_a_long_name_answers_and_note_cannot_push_the_card_past_the_message_limit(
    world: World, platform: Platform
) -> None:
    clerk = await world.clerk(platform)
    citizen = await world.citizen(platform, name=LONG_NAME)
    code = await file_a_long_request(citizen)
    card = await clerk.expect("آزمون همه پرسش‌ها")

    await clerk.reply_to(card, f"/note {NOTE}")
    await clerk.expect("یادداشت داخلی ثبت شد")
    card = await clerk.expect("✂️")  # redrawn in place, its longest parts cut
    assert f"/open {code}" in card["text"], "the card says where the whole text is"
    assert utf16(card["text"]) <= TEXT_LIMIT

    await clerk.press("🙋 برمی‌دارم", message=card)
    card = await clerk.expect("در حال بررسی")  # and redrawn again on the next change
    assert "✂️" in card["text"]
    assert "کارشناس نمونه" in card["text"]

    pages = await whole_file(clerk, code)
    assert len(pages) >= 2, "the file takes more than one message"
    assert all(utf16(page) <= TEXT_LIMIT for page in pages)
    body = " ".join(" ".join(page.split("\n")[1:]) for page in pages)  # each page without its heading line
    flat = " ".join(body.split())
    for whole in (NAME_ANSWER, DESCRIPTION, NOTE, LONG_NAME):
        assert whole in flat, f"{whole[-20:]!r} is not whole in the file"
    assert "یادداشت داخلی" in flat, "the note is marked as internal"
    assert "کارشناس نمونه" in flat, "with the clerk who wrote it"


async def test_a_stranger_code_or_another_organizations_request_gives_no_file(
    world: World, platform: Platform
) -> None:
    clerk = await world.clerk(platform)
    other = await world.clerk(platform, org_id="oshtorjan")
    citizen = await world.citizen(platform, name="زهرا")
    code = await file_a_long_request(citizen)
    await clerk.expect("آزمون همه پرسش‌ها")

    await other.send(f"/open {code}")
    answer = await other.expect("پیدا نشد")
    assert DESCRIPTION[:20] not in answer["text"]
    assert len(await other.transcript()) == 2, "one answer, and nothing of the request"
    await clerk.send("/open 123412341234")
    await clerk.expect("پیدا نشد")
