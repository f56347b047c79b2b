"""Replies find their way (issue #14): whatever a citizen sends back to the organization reaches the card's group.

A clerk may just reply to a card with a question; the citizen answers by the "✍️ پاسخ" button, by replying to
the message, or by simply writing, with text, photos, files or an album; while a request needs information a
text and the photo after it both arrive.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from bot.platforms import Platform
from storage.columns import utcnow
from storage.models import RequestEvent
from storage.repositories import Requests

from .conftest import PDF, png  # type: ignore[import-not-found]
from .test_desk import card_of, file_request  # type: ignore[import-not-found]
from .test_request import buttons  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

ANSWER = "✍️ پاسخ"
MENU = "چه کاری برایتان انجام دهم"


async def clerk_asks(world: Any, platform: Platform, question: str) -> tuple[Any, Any, str, dict[str, Any]]:
    """Zahra files a request; a clerk replies to its card with ``question`` (no button pressed); she receives it.

    Answers the clerk, Zahra, the tracking code and the question as Zahra sees it.
    """
    clerk = await world.clerk(platform)
    zahra, code = await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.reply_to(card, question)
    await clerk.expect("فرستاده شد")
    asked = await zahra.expect(question)
    return clerk, zahra, code, asked


async def extra_documents(world: Any, code: str) -> list[str]:
    """The kinds of the files kept with the request after filing (slot ``additional``), oldest first."""
    async with world.miz.factory() as session:
        request = await Requests(session).by_tracking_code(code)
        assert request is not None
        assert request.id is not None
        return [d.kind for d in await Requests(session).documents(request.id) if d.slot == "additional"]


async def relayed(world: Any, clerk: Any, text: str) -> dict[str, Any]:
    """The header the citizen's answer containing ``text`` came under in the clerks' group, once the outbox is done
    with the group (its pace is rationed): the newest text there saying it (the request's card may say it too)."""
    await world.delivered(clerk)
    said = [m for m in await clerk.transcript() if m.get("outgoing") and text in m.get("text", "")]
    assert said, f"no message in the group says {text!r}"
    return dict(said[-1])


async def bot_photos_after(
    world: Any, person: Any, message: dict[str, Any], count: int
) -> list[dict[str, Any]]:
    """The first ``count`` photos the bot posted in the chat after ``message``, once the outbox has sent them.

    In a Telegram group the outbox keeps to Telegram's 20 messages a minute, so an album's photos after the card's
    other messages may take many seconds to arrive (more on a busy machine): wait for the outbox to be done with
    the chat, then look.
    """
    await world.delivered(person)
    later = [
        m
        for m in await person.transcript()
        if m.get("outgoing") and m.get("photo") and m["message_id"] > message["message_id"]
    ]
    assert len(later) >= count, f"{len(later)} photos after message {message['message_id']}, not {count}"
    return later[:count]


async def test_every_message_from_the_organization_carries_an_answer_button(
    world: Any, platform: Platform
) -> None:
    _clerk, zahra, _code, asked = await clerk_asks(world, platform, "شماره پلاک ملک چند است؟")
    assert ANSWER in buttons(asked)
    notices = [m for m in await zahra.transcript() if m.get("outgoing") and "✉️" in m.get("text", "")]
    assert notices
    assert all(ANSWER in buttons(m) for m in notices)


async def test_a_citizen_answers_a_clerks_reply_with_the_answer_button(
    world: Any, platform: Platform
) -> None:
    clerk, zahra, code, asked = await clerk_asks(world, platform, "شماره پلاک ملک چند است؟")
    await zahra.press(ANSWER, message=asked)
    await zahra.expect("پاسخ خود درباره درخواست")
    await zahra.send("پلاک ۱۲ است")
    await zahra.expect("برای کارشناس فرستاده شد")
    relayed = await clerk.expect("پلاک ۱۲ است")
    assert relayed.get("reply_to_message_id") == (await card_of(clerk, code))["message_id"], "under the card"


async def test_a_citizen_answers_by_replying_with_a_photo(world: Any, platform: Platform) -> None:
    clerk, zahra, code, asked = await clerk_asks(world, platform, "عکس پلاک را بفرستید")
    await zahra.send_photo(png(10, 8), caption="این عکس پلاک است", reply_to=asked)
    await zahra.expect("برای کارشناس فرستاده شد")
    header = await relayed(world, clerk, "این عکس پلاک است")
    assert header.get("reply_to_message_id") == (await card_of(clerk, code))["message_id"]
    await bot_photos_after(world, clerk, header, 1)
    assert await extra_documents(world, code) == ["photo"], "the photo is kept with the request"


async def test_a_citizen_answers_by_just_writing_text_and_a_file(world: Any, platform: Platform) -> None:
    clerk, zahra, code, _asked = await clerk_asks(world, platform, "سند ملک را دارید؟")
    await zahra.send("بله، سند را می‌فرستم")
    await zahra.expect("برای کارشناس فرستاده شد")
    await clerk.expect("بله، سند را می‌فرستم")
    await zahra.send_document(PDF, filename="deed.pdf", mime_type="application/pdf")
    await zahra.expect("برای کارشناس فرستاده شد")
    assert await extra_documents(world, code) == ["pdf"]
    texts = [m.get("text", "") for m in await zahra.transcript() if m.get("outgoing")]
    assert not [t for t in texts if MENU in t], "nothing she wrote was taken for a stray message"


async def test_writing_long_after_the_organization_spoke_leads_to_the_menu(
    world: Any, platform: Platform
) -> None:
    clerk, zahra, _code, _asked = await clerk_asks(world, platform, "سند ملک را دارید؟")
    window = timedelta(hours=world.settings.answer_window_hours)
    async with world.miz.factory() as session, session.begin():
        await session.execute(
            update(RequestEvent)
            .values(at=utcnow() - window - timedelta(minutes=1))
            .where(col(RequestEvent.public))
        )
    await zahra.send("سلام")
    await zahra.expect(MENU)
    await asyncio.sleep(1)
    assert not [m for m in await clerk.transcript() if m.get("outgoing") and "سلام" in m.get("text", "")]


async def test_without_any_word_from_the_organization_writing_leads_to_the_menu(
    world: Any, platform: Platform
) -> None:
    clerk = await world.clerk(platform)
    zahra, _code = await file_request(world, platform)
    await clerk.expect("آزمون همه پرسش‌ها")
    await zahra.send("سلام")
    await zahra.expect(MENU)
    await asyncio.sleep(1)
    assert not [m for m in await clerk.transcript() if m.get("outgoing") and "سلام" in m.get("text", "")]


async def ask_for_information(world: Any, platform: Platform) -> tuple[Any, Any, str]:
    """Zahra's request needs information: the clerk pressed "❓" and asked for the deed."""
    clerk = await world.clerk(platform)
    zahra, code = await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.press("❓ نقص مدارک/اطلاعات", message=card)
    await clerk.expect("چه مدرک")
    await clerk.send("لطفاً سند را بفرستید")
    await zahra.expect("سند را بفرستید")
    return clerk, zahra, code


async def test_while_information_is_needed_a_text_and_the_photo_after_it_both_arrive(
    world: Any, platform: Platform
) -> None:
    clerk, zahra, code = await ask_for_information(world, platform)
    await zahra.send("این هم عکس سند")
    await zahra.expect("پاسخ شما برای کارشناس")
    await zahra.send_photo(png(16, 9))
    await zahra.expect("برای کارشناس فرستاده شد")
    text = await relayed(world, clerk, "این هم عکس سند")
    await bot_photos_after(world, clerk, text, 1)
    assert await extra_documents(world, code) == ["photo"], "the photo after the text is kept"


async def test_an_album_arrives_whole_and_in_order(world: Any, platform: Platform) -> None:
    clerk, zahra, code = await ask_for_information(world, platform)
    await zahra.send_album([png(10, 8), png(12, 8), png(14, 8)], caption="سه صفحه سند")
    await zahra.expect("پاسخ شما برای کارشناس")
    header = await relayed(world, clerk, "سه صفحه سند")
    photos = await bot_photos_after(world, clerk, header, 3)
    assert [p["photo"]["width"] for p in photos] == [10, 12, 14], "in the order she sent them"
    assert await extra_documents(world, code) == ["photo", "photo", "photo"]
    await asyncio.sleep(1)
    acks = [m for m in await zahra.transcript() if m.get("outgoing") and "فرستاده شد" in m.get("text", "")]
    assert len(acks) == 1, "one album, one acknowledgement"
