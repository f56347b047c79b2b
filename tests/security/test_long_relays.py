"""A clerk's reply too long for one message is refused with its length, never "sent" and then lost on the way."""

from __future__ import annotations

import asyncio

from bot.platforms import Platform
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
    await zahra.expect("سند را بفرستید", timeout=10)
