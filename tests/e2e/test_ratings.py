"""The satisfaction a clerk earned reaches their group: the score and comment on the card, a low one at once."""

from __future__ import annotations

from typing import Any

import pytest

from bot.platforms import Platform

from .test_desk import card_of, file_request  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow


async def test_a_low_rating_and_its_comment_reach_the_group_and_the_card(
    world: Any, platform: Platform
) -> None:
    clerk = await world.clerk(platform)
    zahra, code = await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.press("🙋 برمی‌دارم", message=card)
    card = await clerk.expect("در حال بررسی")
    await clerk.press("✅ انجام شد", message=card)
    await clerk.expect("نتیجه کار را")
    await clerk.send("انجام شد")
    poll = await zahra.expect("نمره")

    await zahra.press("۲", message=poll)
    low = await clerk.expect("رضایت پایین")
    assert "۲ از ۵" in low["text"]
    await clerk.expect("⭐ رضایت شهروند: ۲ از ۵")  # the card, redrawn

    await zahra.send("دو بار مراجعه کردم")
    said = await clerk.expect("نظر شهروند دربارهٔ درخواست")
    assert "دو بار مراجعه کردم" in said["text"]
    await clerk.expect("💬 نظر شهروند: دو بار مراجعه کردم")
    card = await card_of(clerk, code)
    assert "⭐ رضایت شهروند: ۲ از ۵" in card["text"]
    assert "زهرا" not in low["text"] + said["text"], "the notice names the request, not the citizen"
