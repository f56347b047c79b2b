"""The send limits shared through Redis (issue 19, item 9): two workers together stay under one bot's limits, and a
429 one of them gets pauses the other too. Against the real Redis, on the real clock."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiogram import Bot
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from bot.app import make_send_limiters
from bot.ratelimit import Limits, SendLimiter
from bot.shared_limits import SharedSendLimiter
from config.settings import Settings
from tests.bot.test_ratelimit import GROUP_BEHIND_A_BACKLOG, group_behind_a_backlog, most_over_the_bucket
from tests.conftest import REDIS_URL

# Scaled down from Telegram's (28/s for the bot, 1/s a chat) so that a test takes seconds.
BOT_LIMITS = Limits(
    bot_rate=10.0,
    bot_burst=1,
    chat_rate=1.0,
    chat_burst=1,
    group_rate=None,
    group_burst=1,
    pause_bot_on_429=False,
)


def most_in_window(times: list[float], window: float = 1.0) -> int:
    """The most sends in any half-open window (t - window, t], as the messenger counts them."""
    return max(sum(1 for other in times if t - window < other <= t) for t in times)


async def worker(limiter: SendLimiter, chats: range, sent: list[float]) -> None:
    """A worker sending one message to each of ``chats``, as many at once as the limiter lets through."""
    loop = asyncio.get_running_loop()

    async def send(chat: int) -> None:
        await limiter.acquire(chat)
        sent.append(loop.time())

    await asyncio.gather(*(send(chat) for chat in chats))


async def test_two_workers_together_stay_under_the_bots_limit(redis: Redis) -> None:
    bot = f"telegram:test-{uuid.uuid4().hex}"
    first, second = SharedSendLimiter(BOT_LIMITS, redis, bot), SharedSendLimiter(BOT_LIMITS, redis, bot)
    sent: list[float] = []
    await asyncio.gather(worker(first, range(1, 21), sent), worker(second, range(101, 121), sent))
    assert len(sent) == 40
    # One burst plus ten a second, as for one process: 11 in any second (one more for the clocks' jitter).
    assert most_in_window(sent) <= 12
    assert max(sent) - min(sent) >= 3.5  # 40 sends at 10 a second, whichever worker sent them


async def test_a_group_held_up_by_the_bots_backlog_still_leaves_at_the_groups_pace(redis: Redis) -> None:
    """As with one process's limits (tests/bot/test_ratelimit.py): the group's token is taken with the bot's."""
    limiter = SharedSendLimiter(GROUP_BEHIND_A_BACKLOG, redis, f"telegram:test-{uuid.uuid4().hex}")
    left = await group_behind_a_backlog(limiter)
    assert most_over_the_bucket(left, 2.0) <= 3.05, [round(t - left[0], 3) for t in left]


async def test_unshared_limits_let_two_workers_send_twice_the_rate() -> None:
    """What the shared limits fix: each process's own bucket lets it send the bot's whole rate."""
    sent: list[float] = []
    await asyncio.gather(
        worker(SendLimiter(BOT_LIMITS), range(1, 21), sent),
        worker(SendLimiter(BOT_LIMITS), range(101, 121), sent),
    )
    assert most_in_window(sent) > 12


async def test_a_429_in_one_worker_pauses_that_chat_in_the_other(redis: Redis) -> None:
    bot = f"telegram:test-{uuid.uuid4().hex}"
    first, second = SharedSendLimiter(BOT_LIMITS, redis, bot), SharedSendLimiter(BOT_LIMITS, redis, bot)
    loop = asyncio.get_running_loop()
    first.penalize(7, retry_after=1.5)
    await asyncio.gather(*first._pausing)  # the pause reached Redis
    started = loop.time()
    await second.acquire(8)
    assert loop.time() - started < 0.5, "another chat goes on"
    await second.acquire(7)
    assert loop.time() - started >= 1.2, "the chat that got the 429 waits in every worker"


async def test_a_bale_429_pauses_the_whole_bot_in_every_worker(redis: Redis) -> None:
    bale = Limits(None, 1, None, 1, None, 1, pause_bot_on_429=True)
    bot = f"bale:test-{uuid.uuid4().hex}"
    first, second = SharedSendLimiter(bale, redis, bot), SharedSendLimiter(bale, redis, bot)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await second.acquire(8)
    assert loop.time() - started < 0.5, "no limit until a 429"
    first.penalize(7, retry_after=1.0)
    await asyncio.gather(*first._pausing)
    await second.acquire(8)
    assert loop.time() - started >= 0.9, "every chat of the bot waits"


async def test_with_redis_unreachable_a_worker_paces_by_its_own_limits() -> None:
    away = Redis.from_url("redis://127.0.0.1:1/15", socket_connect_timeout=0.2)
    limiter = SharedSendLimiter(BOT_LIMITS, away, "telegram:test-away")
    sent: list[float] = []
    try:
        await worker(limiter, range(1, 16), sent)
    finally:
        await away.aclose()
    assert len(sent) == 15, "still delivering"
    assert most_in_window(sent) <= 12, "within the bot's limits"


async def test_miz_shares_the_limits_only_with_redis(redis: Redis) -> None:
    bots = {"telegram": Bot("1100000001:FAKE"), "bale": Bot("2200000002:FAKE")}
    with_redis = make_send_limiters(
        Settings(_env_file=None, redis_url="redis://127.0.0.1:6379/15"), RedisStorage(redis), bots
    )
    assert with_redis is not None
    assert {name: type(limiter) for name, limiter in with_redis.items()} == {
        "telegram": SharedSendLimiter,
        "bale": SharedSendLimiter,
    }
    assert make_send_limiters(Settings(_env_file=None, redis_url=None), MemoryStorage(), bots) is None
    for bot in bots.values():
        await bot.session.close()


async def test_many_chats_at_once_do_not_run_the_redis_pool_dry(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """A full claim's lanes ask at once; the limiter never falls back to its own limits for want of connections."""
    fast = Limits(100.0, 1, 1.0, 1, None, 1, pause_bot_on_429=False)
    bot = f"telegram:test-{uuid.uuid4().hex}"
    client = Redis.from_url(REDIS_URL, max_connections=20)
    sent: list[float] = []
    try:
        await asyncio.gather(
            worker(SharedSendLimiter(fast, client, bot), range(1, 151), sent),
            worker(SharedSendLimiter(fast, client, bot), range(1001, 1151), sent),
        )
    finally:
        await client.aclose()
    assert len(sent) == 300
    assert not [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert most_in_window(sent) <= 102
