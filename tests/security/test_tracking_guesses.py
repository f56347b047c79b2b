"""Guessing the last four digits of a national ID against one tracking code, from many accounts at once.

Each account has its own limit (``desk.throttle.tracking_throttle``), so twenty accounts once put 100 guesses
against one code. The code has a limit of its own now (``desk.throttle.tracking_code_throttle``), whoever guesses.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from bot.app import make_throttles
from bot.platforms import Platform
from config.settings import Settings
from desk.errors import Throttled
from desk.guessing import Guess
from desk.throttle import CODE_FAILURE_LIMIT, TRACK_FAILURE_LIMIT
from storage.throttle import KEY_PREFIX
from tests.e2e.test_desk import file_request
from tests.security.conftest import World

ACCOUNTS = 20
GUESSES = TRACK_FAILURE_LIMIT + 1
OWNERS_TAIL = "0899"  # file_request's national ID is 0499370899


def wrong_tails() -> list[str]:
    return [f"{n:04d}" for n in range(1000, 1000 + ACCOUNTS * GUESSES)]


@pytest.fixture
async def shared(redis: Redis) -> AsyncIterator[Redis]:
    """The test Redis, cleaned of this file's keys afterwards."""
    yield redis
    async for key in redis.scan_iter(match=f"{KEY_PREFIX}*sec-*"):
        await redis.delete(key)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def worker(request: pytest.FixtureRequest) -> tuple[Settings, BaseStorage]:
    """The settings and conversation storage of one worker: in memory, or sharing Redis."""
    if request.param == "memory":
        return Settings(_env_file=None, redis_url=None), MemoryStorage()
    # A plain fixture: pytest-asyncio cannot set up an async fixture asked for from inside a running one.
    redis: Redis = request.getfixturevalue("shared")
    return Settings(_env_file=None, redis_url="redis://127.0.0.1:6379/15"), RedisStorage(redis)


async def test_twenty_accounts_guessing_one_code_reach_the_lookup_at_most_the_codes_limit(
    worker: tuple[Settings, BaseStorage],
) -> None:
    throttles = make_throttles(*worker)
    run = uuid.uuid4().hex[:8]
    code = f"sec-{run}"  # the code's key (a real code in the bot; unique here so reruns start afresh)
    looked_up = 0

    async def guess(account: int) -> None:
        nonlocal looked_up
        for _ in range(GUESSES):
            guess = Guess()
            try:
                await guess.count(throttles.track, f"telegram:sec-{run}-{account}")
                await guess.count(throttles.track_code, code)
            except Throttled:
                continue
            looked_up += 1  # a wrong tail: the guess stays counted
            await asyncio.sleep(0)

    await asyncio.gather(*(guess(account) for account in range(ACCOUNTS)))

    assert looked_up == CODE_FAILURE_LIMIT


async def test_strangers_guessing_national_id_tails_against_one_code_are_stopped_politely(
    world: World, platform: Platform
) -> None:
    zahra, code = await file_request(world, platform)
    strangers = [await world.citizen(platform, name=f"ناشناس {n}") for n in range(ACCOUNTS)]
    tails = iter(wrong_tails())
    replies: list[str] = []

    async def guess(stranger: Any) -> None:
        for _ in range(GUESSES):
            await stranger.send(f"{code} {next(tails)}")
            replies.append((await stranger.expect())["text"])

    await asyncio.gather(*(guess(stranger) for stranger in strangers))

    looked_up = [text for text in replies if "پیدا نشد" in text]
    refused = [text for text in replies if "پیدا نشد" not in text]
    assert len(looked_up) == CODE_FAILURE_LIMIT
    assert len(refused) == ACCOUNTS * GUESSES - CODE_FAILURE_LIMIT
    locked = [text for text in refused if "برای این کد رهگیری" in text]
    assert locked, refused[:3]
    assert "لطفاً" in locked[0]
    assert "درخواست‌های من" in locked[0]

    # Now even the right tail is refused to a stranger, for a while; the owner still sees the request.
    relative = await world.citizen(platform, name="خواهر")
    await relative.send(f"{code} {OWNERS_TAIL}")
    assert "برای این کد رهگیری" in (await relative.expect())["text"]
    await zahra.send(f"{code} {OWNERS_TAIL}")
    await zahra.expect("وضعیت")
    await zahra.press("📂 درخواست‌های من")
    await zahra.expect("آزمون همه پرسش‌ها")
