"""A modified client's withdraw buttons: another citizen's request, a finished one and a double tap are refused
politely and withdraw nothing more; only the request's own citizen withdraws it, once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.callbacks import MineWithdraw
from bot.platforms import Platform
from storage.models import RequestEvent
from tests.e2e.test_desk import file_request
from tests.security.conftest import World
from tests.security.test_access import card_of_when_drawn, drawn_in, stored

STALE = "دیگر کار نمی‌کند"


@pytest.fixture
def world(any_world: World) -> World:
    """These attacks must fail on PostgreSQL as on SQLite."""
    return any_world


async def withdrawals(world: World, request_id: int) -> int:
    async with world.miz.factory() as session:
        events = await session.scalars(
            select(RequestEvent).where(
                col(RequestEvent.request_id) == request_id, col(RequestEvent.to_status) == "withdrawn"
            )
        )
        return len(events.all())


async def test_forged_withdraw_buttons_are_refused_and_a_double_tap_withdraws_once(
    world: World, platform: Platform
) -> None:
    zahra, code = await file_request(world, platform)
    clerk = await world.clerk(platform, "falavarjan")
    await card_of_when_drawn(clerk, code)
    request = await stored(world, code=code)
    assert request.id is not None
    ask, yes = (MineWithdraw(req=request.id, act=act).pack() for act in ("ask", "yes"))

    # Ali, another citizen, presses Zahra's withdraw and confirm buttons: told the button is stale, nothing moves.
    ali = await world.citizen(platform, name="علی")
    await ali.send("/start")
    shown = await ali.expect("میز خدمت")
    for data in (ask, yes):
        await ali.press(data=data, message=shown["message_id"], wait_answer=20, forged=True)
        assert ali.last_answer is not None
        assert STALE in ali.last_answer["text"], data
    assert (await stored(world, code=code)).status == "submitted"
    assert not [m for m in await ali.transcript() if "انصراف" in m.get("text", "")]

    # Zahra taps "yes" twice at once: withdrawn once, and the second tap is told it is already closed.
    await zahra.send("/start")
    mine = await zahra.expect("میز خدمت")
    taps = await asyncio.gather(
        *(zahra.press(data=yes, message=mine["message_id"], wait_answer=20, forged=True) for _ in range(2))
    )
    answers = sorted(str((tap.get("answer") or {}).get("text") or "") for tap in taps)
    assert answers[0] == "", "one tap withdraws it"
    assert "لغوشده به درخواست متقاضی" in answers[1], answers
    assert (await stored(world, code=code)).status == "withdrawn"
    assert await withdrawals(world, request.id) == 1
    told = [t for t in await drawn_in(clerk) if "لغو کرد" in t]
    assert len(told) == 1, told

    # A finished request offers no withdrawal: neither its button nor a confirmation does anything.
    for data, refusal in ((ask, "دیگر باز نیست"), (yes, "لغوشده به درخواست متقاضی")):
        await zahra.press(data=data, message=mine["message_id"], wait_answer=20, forged=True)
        assert zahra.last_answer is not None
        assert refusal in zahra.last_answer["text"], data
    assert await withdrawals(world, request.id) == 1
