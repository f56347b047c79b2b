"""The outbox sender with real aiogram Bots against the emulator over HTTP, in both dialects.

No Miz here: citizens start their chat with the bot, notifications are committed to the outbox as a use case
would, and an :class:`OutboxSender` delivers them while the emulator injects 429s, 5xx, timeouts and dropped
connections. What the citizens finally read (the emulator's transcript) is checked: every message once, in
order per chat.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from bot.app import BotSpec, make_bot
from bot.outbox import Backoff, OutboxSender
from bot.platforms import Platform
from desk.notifications import enqueue_chat, text_payload
from emulator.client import Citizen, EmulatorClient
from emulator.server import RunningEmulator, running_emulator
from storage.db import create_engine, session_factory
from storage.migrate import upgrade_async
from storage.models import OutboxMessage
from storage.repositories import Outbox
from storage.uow import unit_of_work

TOKENS = {
    Platform.TELEGRAM: "1100000011:OUTBOX-TELEGRAM-aaaaaaaaaaaaaaaaaaaaaaaa",
    Platform.BALE: "2200000022:OUTBOX-BALE-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
}


@dataclass
class Desk:
    """The emulator, a control client, the outbox database and one real Bot per platform."""

    emu: RunningEmulator
    client: EmulatorClient
    engine: AsyncEngine
    factory: async_sessionmaker[AsyncSession]
    bots: dict[str, Bot]

    def sender(self, **options: Any) -> OutboxSender:
        options.setdefault("poll_interval", 0.1)
        options.setdefault("backoff", Backoff(base=0.2, cap=1.0, max_attempts=5))
        return OutboxSender(self.factory, self.bots, **options)

    async def citizen(self, platform: Platform, name: str) -> Citizen:
        """A person who has started a private chat with the bot (so the bot may write to them)."""
        person = await self.client.citizen(TOKENS[platform], name=name)
        await person.send("/start")
        return person

    async def notify(self, platform: Platform, chat_id: int, amount: int, key: str) -> None:
        """Commit one notification, as a use case does in its transaction."""
        async with unit_of_work(self.factory) as session:
            await enqueue_chat(
                session,
                platform=platform.value,
                chat_id=chat_id,
                organization_id="falavarjan",
                payload=text_payload("bot.fee.fixed", "en", params={"amount": amount}),
                dedupe_key=key,
            )

    async def received(self, platform: Platform, chat_id: int) -> list[str]:
        """The texts the bot sent in this chat, oldest first."""
        messages = await self.client.transcript(TOKENS[platform], chat_id)
        return [str(m.get("text", "")) for m in messages if m.get("outgoing")]

    async def statuses(self) -> dict[str, str]:
        async with self.factory() as session:
            rows = (await session.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
        return {row.dedupe_key: row.status for row in rows}


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'miz.sqlite3'}"
    await upgrade_async(url)
    engine = create_engine(url)
    async with running_emulator() as emu:
        emu.add_bot(TOKENS[Platform.TELEGRAM], "telegram", username="miz_outbox_bot")
        emu.add_bot(TOKENS[Platform.BALE], "bale", username="miz_outbox_bale_bot")
        bots = {p.value: make_bot(BotSpec(p, token, emu.base_url)) for p, token in TOKENS.items()}
        async with EmulatorClient(emu.base_url) as client:
            try:
                yield Desk(emu, client, engine, session_factory(engine), bots)
            finally:
                for bot in bots.values():
                    await bot.session.close()
                await engine.dispose()


async def deliver_all(sender: OutboxSender, timeout: float = 30) -> None:  # noqa: ASYNC109
    task = asyncio.create_task(sender.run())
    try:
        await sender.drain(timeout)
    finally:
        await sender.stop()
        await task


def rials(*amounts: int) -> list[str]:
    return [f"{n} rials" for n in amounts]


async def test_each_citizen_reads_their_messages_once_and_in_order(desk: Desk, platform: Platform) -> None:
    people = [await desk.citizen(platform, name) for name in ("زهرا", "علی", "مریم")]
    for n in range(1, 5):
        for person in people:
            await desk.notify(platform, person.chat_id, n, f"{person.chat_id}:{n}")
    await deliver_all(desk.sender())
    for person in people:
        assert await desk.received(platform, person.chat_id) == rials(1, 2, 3, 4)


async def test_429_storms_5xx_timeouts_and_drops_still_deliver_everything_exactly_once(
    desk: Desk, platform: Platform
) -> None:
    people = [await desk.citizen(platform, f"شهروند {n}") for n in range(4)]
    token = TOKENS[platform]
    await desk.client.inject_fault(token, "429", method="sendMessage", count=6, retry_after=1)
    await desk.client.inject_fault(token, "500", method="sendMessage", count=3)
    await desk.client.inject_fault(token, "502", method="sendMessage", count=2)
    await desk.client.inject_fault(token, "drop", method="sendMessage", count=3)
    await desk.client.inject_fault(token, "timeout", method="sendMessage", count=1, delay=0.5)
    for n in range(1, 4):
        for person in people:
            await desk.notify(platform, person.chat_id, n, f"{person.chat_id}:{n}")
    sender = desk.sender()
    await deliver_all(sender, timeout=60)
    for person in people:
        assert await desk.received(platform, person.chat_id) == rials(1, 2, 3)
    assert set((await desk.statuses()).values()) == {"sent"}
    assert sender.stats.throttled == 6
    assert sender.stats.retried == 9


async def test_a_citizen_who_blocked_the_bot_does_not_hold_up_the_others(
    desk: Desk, platform: Platform
) -> None:
    zahra, ali, maryam = [await desk.citizen(platform, name) for name in ("زهرا", "علی", "مریم")]
    await ali.block()
    for person in (zahra, ali, maryam):
        await desk.notify(platform, person.chat_id, 7, f"done:{person.chat_id}")
    await deliver_all(desk.sender())
    assert await desk.received(platform, zahra.chat_id) == rials(7)
    assert await desk.received(platform, maryam.chat_id) == rials(7)
    assert await desk.received(platform, ali.chat_id) == []
    assert (await desk.statuses())[f"done:{ali.chat_id}"] == "failed"


async def test_a_change_that_rolled_back_sends_nothing(desk: Desk, platform: Platform) -> None:
    zahra = await desk.citizen(platform, "زهرا")

    async def change_that_fails() -> None:
        async with unit_of_work(desk.factory) as session:
            await enqueue_chat(
                session,
                platform=platform.value,
                chat_id=zahra.chat_id,
                organization_id="falavarjan",
                payload=text_payload("bot.fee.fixed", "en", params={"amount": 1}),
                dedupe_key="rolled-back",
            )
            raise RuntimeError("the status change was refused")

    with pytest.raises(RuntimeError):
        await change_that_fails()
    await desk.notify(platform, zahra.chat_id, 2, "committed")
    await deliver_all(desk.sender())
    assert await desk.received(platform, zahra.chat_id) == rials(2)


async def test_a_sender_cancelled_mid_batch_is_finished_by_the_next_one_without_loss_or_repeat(
    desk: Desk, platform: Platform
) -> None:
    people = [await desk.citizen(platform, f"شهروند {n}") for n in range(5)]
    for n in range(1, 7):
        for person in people:
            await desk.notify(platform, person.chat_id, n, f"{person.chat_id}:{n}")
    # Every send takes a while, so the cancel lands with sends in flight.
    await desk.client.inject_fault(TOKENS[platform], "delay", method="sendMessage", count=1000, delay=0.1)
    first = desk.sender()
    task = asyncio.create_task(first.run())
    async with asyncio.timeout(20):
        while first.stats.sent < 8:  # noqa: ASYNC110 (the counter has no event to wait on)
            await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert first.stats.sent < 30
    await deliver_all(desk.sender())
    for person in people:
        assert await desk.received(platform, person.chat_id) == rials(1, 2, 3, 4, 5, 6)


async def test_rows_left_by_a_crashed_sender_are_delivered_after_its_lease(
    desk: Desk, platform: Platform
) -> None:
    people = [await desk.citizen(platform, f"شهروند {n}") for n in range(3)]
    for person in people:
        await desk.notify(platform, person.chat_id, 5, f"orphan:{person.chat_id}")
    async with unit_of_work(desk.factory, write=True) as session:  # claimed, then the process was killed
        assert len(await Outbox(session).claim_due(10, lease=timedelta(seconds=1))) == 3
    await deliver_all(desk.sender())
    for person in people:
        assert await desk.received(platform, person.chat_id) == rials(5)


async def test_with_telegrams_flood_limits_enforced_the_sender_gets_no_429(desk: Desk) -> None:
    platform = Platform.TELEGRAM
    await desk.client.configure_bot(TOKENS[platform], rate_limits=True)
    chatty = [await desk.citizen(platform, f"پرحرف {n}") for n in range(2)]
    crowd = [await desk.citizen(platform, f"شهروند {n}") for n in range(60)]
    group = await desk.client.create_group(TOKENS[platform], "کارشناسان", admins=[crowd[0].user_id])
    for n in range(1, 6):
        for person in chatty:
            await desk.notify(platform, person.chat_id, n, f"{person.chat_id}:{n}")
    for person in crowd:
        await desk.notify(platform, person.chat_id, 1, f"crowd:{person.chat_id}")
    for n in range(1, 5):
        await desk.notify(platform, group["id"], n, f"group:{n}")
    sender = desk.sender()
    await deliver_all(sender, timeout=60)
    assert sender.stats.throttled == 0
    for person in chatty:
        assert await desk.received(platform, person.chat_id) == rials(1, 2, 3, 4, 5)
    assert await desk.received(platform, group["id"]) == rials(1, 2, 3, 4)
    assert set((await desk.statuses()).values()) == {"sent"}
