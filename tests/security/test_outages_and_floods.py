"""Faults and floods leave nobody in silence and stop nobody else: a platform down at start, one account's flood,
a Bot API that answers 429 or 502 once, the database or Redis down while people write."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.platforms import Platform
from bot.render import Renderer
from config.settings import Settings
from emulator.client import Person
from storage.db import create_engine
from tests.e2e.conftest import TOKENS, start_miz
from tests.e2e.test_desk import file_request
from tests.security.conftest import World

pytestmark = pytest.mark.slow

FLOOD = 500
WELCOME = Renderer.get(Platform.TELEGRAM, "fa").plain("bot.start.welcome", name="NAME").split("NAME")[1][:25]
SLOW_DOWN = Renderer.get(Platform.TELEGRAM, "fa").plain("bot.flood.slow_down", minutes="۱")[:20]
BUSY = Renderer.get(Platform.TELEGRAM, "fa").plain("bot.error.busy")


async def bot_messages(person: Person) -> list[dict[str, Any]]:
    return [m for m in await person.transcript() if m.get("outgoing")]


async def settled(person: Person, quiet: float = 3.0, limit: float = 60.0) -> list[dict[str, Any]]:
    """The bot's messages to ``person`` once none has come for ``quiet`` seconds."""
    deadline = time.monotonic() + limit
    seen = await bot_messages(person)
    calm_since = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - calm_since < quiet:
        await asyncio.sleep(0.5)
        now = await bot_messages(person)
        if len(now) != len(seen):
            seen, calm_since = now, time.monotonic()
    return seen


async def test_one_bot_api_down_at_start_stops_only_its_own_platform(
    world: World, platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    down, up = platform, next(p for p in Platform if p is not platform)
    await world.stop()
    await world.client.inject_fault(TOKENS[down], "drop", count=1_000_000)  # every call: unreachable
    world.miz, world.task = await start_miz(world.settings, world.emu)

    served = await world.citizen(up)
    await served.send("/start")
    await served.expect(WELCOME)
    assert not world.task.done(), "Miz keeps running while one platform is down"
    assert any(f"{down.value}: cannot reach the Bot API" in r.getMessage() for r in caplog.records)

    await world.client.clear_faults(TOKENS[down])
    waiting = await world.citizen(down)
    await waiting.send("/start")
    await waiting.expect(WELCOME, timeout=20)


async def test_five_hundred_messages_from_one_account_get_one_slow_down(
    world: World, platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    await world.stop()
    burst = Settings.model_fields["flood_burst"].default  # as in production (the e2e world lifts it)
    world.settings = world.settings.model_copy(update={"flood_burst": burst})
    world.miz, world.task = await start_miz(world.settings, world.emu)
    if platform is Platform.TELEGRAM:
        await world.client.configure_bot(TOKENS[platform], rate_limits=True)  # Telegram's limits on
    flooder = await world.citizen(platform, name="سیل")
    other = await world.citizen(platform, name="مریم")
    caplog.set_level(logging.INFO)

    for n in range(FLOOD):
        await flooder.send(f"سلام {n}")
        if n == FLOOD // 2:
            await other.send("/start")
    await other.expect(WELCOME)  # another citizen, writing mid-flood, is served

    answers = await settled(flooder)
    slow_downs = [m for m in answers if SLOW_DOWN in m.get("text", "")]
    floods = [r for r in caplog.records if "flood" in r.getMessage()]
    lines = len(caplog.text.splitlines())
    # aiogram logs one line per update it is given ("Update id=N is handled"), flood or not; Miz's own are these:
    ours = [r for r in caplog.records if r.name != "aiogram.event"]
    print(
        f"\n{platform.value}: {len(answers)} answers to {FLOOD} messages, {lines} log lines, {len(ours)} of Miz"
    )
    assert len(slow_downs) == 1, "told once that they are going too fast"
    assert len(answers) <= burst + 1, "then dropped quietly"
    assert len(floods) == 1, "the flood is logged once, not per update"
    assert len(ours) < 10, [r.getMessage() for r in ours]


@pytest.mark.parametrize("kind", ["429", "502"])
async def test_a_direct_answer_that_gets_429_or_502_once_is_still_delivered(
    world: World, platform: Platform, kind: str
) -> None:
    citizen = await world.citizen(platform)
    await world.client.inject_fault(TOKENS[platform], kind, method="sendMessage", retry_after=1)
    await citizen.send("/start")
    await citizen.expect(WELCOME)


@contextmanager
def database_down(world: World, broken: AsyncEngine) -> Iterator[None]:
    """Every session of the running Miz (conversations, languages, clerks, requests) goes to ``broken``."""
    world.miz.factory.configure(bind=broken)
    try:
        yield
    finally:
        world.miz.factory.configure(bind=world.miz.engine)


async def a_new_citizen_and_a_clerks_claim_are_told_it_is_busy(
    world: World, platform: Platform, broken: AsyncEngine
) -> None:
    clerk = await world.clerk(platform)
    await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    with database_down(world, broken):
        newcomer = await world.citizen(platform, name="تازه")
        await newcomer.send("/start")
        await newcomer.expect(BUSY)
        await clerk.press("🙋 برمی‌دارم", message=card, wait_answer=10)
        assert clerk.last_answer is not None, "the button press is answered"
        assert clerk.last_answer["text"] == BUSY
    await broken.dispose()


async def test_sqlite_unreachable_a_new_citizen_and_a_clerks_claim_hear_it_is_busy(
    world: World, platform: Platform, tmp_path: Path
) -> None:
    # A folder cannot be opened as a database file: every connection fails, as with a lost disk.
    await a_new_citizen_and_a_clerks_claim_are_told_it_is_busy(
        world, platform, create_engine(f"sqlite+aiosqlite:///{tmp_path}")
    )


async def test_postgresql_unreachable_a_new_citizen_and_a_clerks_claim_hear_it_is_busy(
    pg_world: World, platform: Platform
) -> None:
    # Nothing listens on port 1: connections are refused, as when the server is down.
    await a_new_citizen_and_a_clerks_claim_are_told_it_is_busy(
        pg_world, platform, create_engine("postgresql+asyncpg://miz@127.0.0.1:1/miz")
    )


async def test_redis_unreachable_a_new_citizen_hears_it_is_busy(world: World, platform: Platform) -> None:
    await world.stop()
    world.settings = world.settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/15"})
    world.miz, world.task = await start_miz(world.settings, world.emu)
    citizen = await world.citizen(platform)
    await citizen.send("/start")
    await citizen.expect(BUSY, timeout=15)
