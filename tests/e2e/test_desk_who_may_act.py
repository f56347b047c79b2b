"""Only the group's clerks work its requests; anyone else gets the same answer wherever they knock (IsClerk)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.platforms import Platform
from bot.render import Renderer
from emulator.client import Person
from tests.e2e.test_desk import file_request
from tests.e2e.test_request import buttons

pytestmark = pytest.mark.slow

R = Renderer.get(Platform.TELEGRAM, "fa")
NOT_CLERK = R.plain("op.not_clerk")
SETTLE = 1.0
"""Seconds to let anything the bot might still send arrive before asserting that nothing did."""


async def said_after(person: Person, count: int) -> list[str]:
    """What the bot sent in ``person``'s chat after its first ``count`` messages, once it has settled."""
    await asyncio.sleep(SETTLE)
    sent = [m for m in await person.transcript() if m.get("outgoing")]
    return [str(m.get("text") or m.get("caption") or "") for m in sent[count:]]


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Errors logged while the bot was handling updates (silence must not be a handler that failed)."""
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


async def sent_so_far(person: Person) -> int:
    return len([m for m in await person.transcript() if m.get("outgoing")])


async def test_every_clerk_command_from_a_group_member_who_is_no_clerk_says_only_clerks_may(
    world: Any, platform: Platform
) -> None:
    stranger = await world.stranger_in_group(platform)
    await stranger.send("سلام")
    hello = (await stranger.transcript())[-1]
    commands = ["/clerks", "/open", "/open 123412341234", "/mine", "/overdue", "/find 0499370899", "/find"]
    for command in [*commands, "/addclerk", "/removeclerk"]:
        await stranger.send(command)
        await stranger.expect(NOT_CLERK[:20])
    await stranger.reply_to(hello, "/addclerk")  # a command in reply to someone is still a command
    await stranger.expect(NOT_CLERK[:20])
    await stranger.send("/help")
    await stranger.expect("/open")  # the group's help is for anyone in it


async def test_a_clerk_removed_while_asked_for_a_reason_is_not_heard_and_the_request_stays_as_it_was(
    world: Any, platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await world.clerk(platform)
    newcomer = await world.stranger_in_group(platform)
    await newcomer.send("سلام، من کارمند جدید هستم")
    hello = (await newcomer.transcript())[-1]
    await admin.reply_to(hello, "/addclerk")
    await admin.expect("اکنون کارشناس این سازمان است")
    zahra, _code = await file_request(world, platform)
    card = await newcomer.expect("آزمون همه پرسش‌ها")
    assert "⛔️ رد درخواست" in buttons(card)
    await newcomer.expect("عکس محل")  # the documents follow the card

    await newcomer.press("⛔️ رد درخواست", message=card)
    await newcomer.expect("دلیل رد درخواست را بنویسید")
    await admin.reply_to(hello, "/removeclerk")
    await admin.expect("دیگر کارشناس این سازمان نیست")
    before = await sent_so_far(newcomer)
    await newcomer.send("ملک خارج از محدوده است")
    assert await said_after(newcomer, before) == []
    assert failures(caplog) == []

    await admin.reply_to(hello, "/addclerk")  # back again: the question was dropped, not left open
    await admin.expect("اکنون کارشناس این سازمان است")
    before = await sent_so_far(newcomer)
    await newcomer.send("ملک خارج از محدوده است")
    assert await said_after(newcomer, before) == []
    assert not [m for m in await zahra.transcript() if "خارج از محدوده" in str(m.get("text"))]
    assert failures(caplog) == []


async def test_a_reply_to_a_card_from_someone_no_clerk_is_left_unanswered(
    world: Any, platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    clerk = await world.clerk(platform)
    stranger = await world.stranger_in_group(platform)
    zahra, _code = await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.expect("عکس محل")  # the documents follow the card
    before = await sent_so_far(stranger)
    await stranger.reply_to(card, "کد ملی خود را بفرستید")
    await stranger.reply_to(card, "/note یادداشت جعلی")
    assert await said_after(stranger, before) == []
    assert not [m for m in await zahra.transcript() if "کد ملی خود را" in str(m.get("text"))]
    assert failures(caplog) == []
