"""A clerk's reply too long for one message is refused with its length, never "sent" and then lost on the way."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from bot.platforms import Platform
from storage.models import RequestEvent
from tests.e2e.test_desk import file_request
from tests.security.conftest import World
from tests.security.test_access import card_of_when_drawn


async def test_a_clerk_reply_longer_than_a_message_is_refused_and_the_shorter_retry_arrives(
    world: World, platform: Platform
) -> None:
    zahra, code = await file_request(world, platform)
    clerk = await world.clerk(platform)
    card = await card_of_when_drawn(clerk, code)
    await clerk.reply_to(card, "لطفاً " + "مدرک " * 790)  # with the header, more than one message holds
    refused = await clerk.expect("کوتاه‌تر")
    assert "۲٬۰۰۰" in refused["text"], "the clerk is told the limit"
    await asyncio.sleep(1)
    assert not [m for m in await zahra.transcript() if "مدرک مدرک" in m.get("text", "")]
    await clerk.reply_to(card, "لطفاً سند را بفرستید")
    await clerk.expect("فرستاده شد")
    await zahra.expect("سند را بفرستید")


async def test_a_right_to_left_override_in_a_clerk_reply_and_a_citizen_answer_is_gone_on_arrival(
    world: World, platform: Platform
) -> None:
    zahra, code = await file_request(world, platform)
    clerk = await world.clerk(platform)
    card = await card_of_when_drawn(clerk, code)
    await clerk.press("❓ نقص مدارک/اطلاعات", message=card)
    await clerk.expect("چه مدرک")
    await clerk.send("سند \u202eرا\u202c\u200b بفرستید")
    asked = await zahra.expect("بفرستید")
    assert "\u202e" not in asked["text"]
    assert "\u200b" not in asked["text"]
    await zahra.send("فرستادم\u202e ۱۲۳\u2060")
    relayed = await clerk.expect("فرستادم")
    assert "\u202e" not in relayed["text"]
    assert "\u2060" not in relayed["text"]
    async with world.miz.factory() as session:  # the history (/open, tracking) keeps them clean too
        texts = (await session.scalars(select(RequestEvent.text))).all()
    assert not [t for t in texts if t and ("\u202e" in t or "\u200b" in t or "\u2060" in t)], texts
