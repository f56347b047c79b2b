"""Which guessing limits the bot gets: in memory for one process, in Redis when several workers share Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from bot.app import make_throttles
from config.settings import Settings
from desk.errors import Throttled
from desk.throttle import Throttle
from storage.throttle import KEY_PREFIX, RedisThrottle


def settings(redis_url: str | None) -> Settings:
    return Settings(_env_file=None, redis_url=redis_url)


@pytest.fixture
def user() -> str:
    """A user id of this test's own, so reruns never find the keys of an earlier run."""
    return f"test{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def shared(redis: Redis, user: str) -> AsyncIterator[Redis]:
    yield redis
    async for key in redis.scan_iter(match=f"{KEY_PREFIX}*:telegram:{user}"):
        await redis.delete(key)


def test_without_redis_every_throttle_is_in_this_process() -> None:
    throttles = make_throttles(settings(None), MemoryStorage())

    for throttle in (throttles.track, throttles.track_code, throttles.dues, throttles.certificate):
        assert isinstance(throttle, Throttle)


@pytest.mark.redis
async def test_with_redis_every_throttle_is_shared_under_its_own_name(shared: Redis, user: str) -> None:
    configured = settings("redis://127.0.0.1:6379/15")
    worker, other_worker = (make_throttles(configured, RedisStorage(shared)) for _ in range(2))

    assert isinstance(worker.track, RedisThrottle)
    assert isinstance(worker.dues, RedisThrottle)
    assert isinstance(worker.certificate, RedisThrottle)
    assert isinstance(worker.track_code, RedisThrottle)
    names = (worker.track.name, worker.dues.name, worker.certificate.name, worker.track_code.name)
    assert names == ("track", "dues", "certificate", "track-code")
    assert (worker.track_code.limit, worker.track_code.window) == (10, 86_400.0)
    assert (worker.dues.limit, worker.dues.window, worker.dues.message_key) == (5, 600.0, "dues.throttled")
    key = f"telegram:{user}"
    for throttles in (worker, other_worker, worker, other_worker, worker):  # five wrong tries, either worker
        await throttles.track.attempt(key)
    with pytest.raises(Throttled) as caught:
        await other_worker.track.check(key)
    assert caught.value.key == "desk.track.throttled"
    await other_worker.dues.check(key)  # the dues count is another
    await worker.certificate.check(key)
    await worker.track_code.check(key)


def test_redis_throttles_need_the_conversations_in_redis() -> None:
    with pytest.raises(ValueError, match="not in Redis"):
        make_throttles(settings("redis://127.0.0.1:6379/15"), MemoryStorage())
