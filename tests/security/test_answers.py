"""A citizen answers only their own requests: a forged "✍️ پاسخ" button for someone else's leads nowhere."""

from __future__ import annotations

import asyncio

from bot.platforms import Platform
from tests.e2e.test_desk import file_request
from tests.security.conftest import World
from tests.security.test_access import card_of_when_drawn, stored


async def test_a_forged_answer_button_for_another_citizens_request_leads_nowhere(
    world: World, platform: Platform
) -> None:
    zahra, code = await file_request(world, platform)
    clerk = await world.clerk(platform)
    card = await card_of_when_drawn(clerk, code)
    await clerk.reply_to(card, "شماره پلاک ملک چند است؟")
    await zahra.expect("شماره پلاک")
    request = await stored(world, code=code)

    mallory = await world.citizen(platform, name="مهدی")
    await mallory.send("/start")
    await mallory.expect("میز خدمت")
    await mallory.press(data=f"reply:{request.id}", wait_answer=20, forged=True)
    assert mallory.last_answer is not None
    assert "پیدا نشد" in mallory.last_answer["text"], "the same answer as for a request that does not exist"
    await mallory.send("پلاک ۹۹ است")  # written as if the forged button had worked
    await mallory.expect("چه کاری برایتان انجام دهم")
    for bogus in ("reply:0", "reply:-1", f"reply:{request.id}:x", "reply:" + "9" * 40):
        await mallory.press(data=bogus, wait_answer=20, forged=True)
        assert mallory.last_answer is not None, bogus
    await asyncio.sleep(1)
    relayed = [m for m in await clerk.transcript() if m.get("outgoing") and "پلاک ۹۹" in m.get("text", "")]
    assert not relayed, "nothing she wrote reaches the clerks"
    transcript = " ".join(m.get("text", "") for m in await mallory.transcript())
    assert "آزمون" not in transcript, "not even the request's title is shown to her"
