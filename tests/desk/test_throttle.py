"""The throttle: a citizen who keeps guessing is slowed down, one who mistypes once is not, and memory stays small.

The behaviour is checked on both implementations, in memory (``desk.throttle.Throttle``) and in Redis
(``storage.throttle.RedisThrottle``, against the test Redis); what only one of them does, on it alone.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from desk.errors import Throttled
from desk.throttle import TRACK_FAILURE_LIMIT, TRACK_WINDOW_SECONDS, Limiter, Throttle, tracking_throttle
from storage.throttle import KEY_PREFIX, RedisThrottle


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


MakeLimiter = Callable[[Throttle], Limiter]
"""Turns an in-memory throttle into the implementation under test, with the same limit, window and message."""


@pytest.fixture
def name() -> str:
    """A throttle name of this test's own, so tests sharing the Redis database never see each other's keys."""
    return f"test{uuid.uuid4().hex[:12]}"


async def _forget(redis: Redis, name: str) -> None:
    async for key in redis.scan_iter(match=f"{KEY_PREFIX}{name}:*"):
        await redis.delete(key)


@pytest.fixture
async def shared(redis: Redis, name: str) -> AsyncIterator[Redis]:
    """The test Redis, cleaned of this test's keys afterwards."""
    yield redis
    await _forget(redis, name)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make(request: pytest.FixtureRequest, name: str, clock: FakeClock) -> MakeLimiter:
    if request.param == "memory":
        return lambda throttle: throttle
    # A plain fixture: pytest-asyncio cannot set up an async fixture asked for from inside a running one.
    redis: Redis = request.getfixturevalue("shared")
    return lambda throttle: RedisThrottle.like(throttle, redis, name, clock)


# Both implementations.


async def test_the_limit_th_failure_blocks_the_key_and_only_that_key(
    clock: FakeClock, make: MakeLimiter
) -> None:
    throttle = make(Throttle(3, 60, clock))
    for _ in range(2):
        await throttle.fail("bale:1")
        await throttle.check("bale:1")  # still allowed
    await throttle.fail("bale:1")

    with pytest.raises(Throttled) as caught:
        await throttle.check("bale:1")
    assert caught.value.key == "desk.throttled"
    await throttle.check("telegram:1")  # someone else is not affected


async def test_the_window_slides_failures_age_out_one_by_one(clock: FakeClock, make: MakeLimiter) -> None:
    throttle = make(Throttle(3, 60, clock))
    await throttle.fail("k")  # t=0
    clock.advance(20)
    await throttle.fail("k")  # t=20
    clock.advance(20)
    await throttle.fail("k")  # t=40
    with pytest.raises(Throttled) as caught:
        await throttle.check("k")
    assert caught.value.params["seconds"] == 20  # until the t=0 failure is 60 s old

    clock.advance(20)  # t=60: the first failure left the window
    await throttle.check("k")
    assert await throttle.failures("k") == 2
    await throttle.fail("k")  # three within the window again
    with pytest.raises(Throttled):
        await throttle.check("k")


async def test_a_failure_just_inside_the_window_still_counts(clock: FakeClock, make: MakeLimiter) -> None:
    throttle = make(Throttle(1, 60, clock))
    await throttle.fail("k")
    clock.advance(59.5)
    with pytest.raises(Throttled) as caught:
        await throttle.check("k")
    assert caught.value.params == {"seconds": 1, "minutes": 1}


async def test_only_the_newest_limit_failures_count(clock: FakeClock, make: MakeLimiter) -> None:
    throttle = make(Throttle(2, 60, clock))
    for _ in range(5):
        await throttle.fail("k")
        clock.advance(10)
    # t=50: failures at 0..40 are all in the window, but the block ends when the second newest (t=30) ages out
    assert await throttle.failures("k") == 2
    with pytest.raises(Throttled) as caught:
        await throttle.check("k")
    assert caught.value.params == {"seconds": 40, "minutes": 1}


async def test_reset_lifts_a_block(clock: FakeClock, make: MakeLimiter) -> None:
    throttle = make(Throttle(1, 60, clock))
    await throttle.fail("k")
    await throttle.reset("k")
    await throttle.check("k")
    assert await throttle.failures("k") == 0


async def test_the_tracking_throttle_allows_five_wrong_tries_per_ten_minutes(
    clock: FakeClock, make: MakeLimiter
) -> None:
    throttle = make(tracking_throttle(clock))
    assert (TRACK_FAILURE_LIMIT, TRACK_WINDOW_SECONDS) == (5, 600)
    for _ in range(5):
        await throttle.check("telegram:7")
        await throttle.fail("telegram:7")
    with pytest.raises(Throttled) as caught:
        await throttle.check("telegram:7")

    assert caught.value.key == "desk.track.throttled"
    assert caught.value.params == {"seconds": 600, "minutes": 10}
    assert "۱۰ دقیقه" in caught.value.render("fa")
    assert "10 minutes" in caught.value.render("en")
    clock.advance(600)
    await throttle.check("telegram:7")


# In memory only.


async def test_keys_whose_failures_left_the_window_are_forgotten(clock: FakeClock) -> None:
    throttle = Throttle(2, 60, clock)
    for user in range(1_000):
        await throttle.fail(f"bale:{user}")
    assert len(throttle) == 1_000
    clock.advance(61)
    await throttle.fail("bale:late")
    assert len(throttle) == 1


async def test_memory_is_capped_by_forgetting_the_key_that_failed_longest_ago(clock: FakeClock) -> None:
    throttle = Throttle(1, 600, clock, max_keys=3)
    for key in ["a", "b", "c", "d"]:
        await throttle.fail(key)
        clock.advance(1)
    assert len(throttle) == 3
    await throttle.check("a")  # forgotten
    with pytest.raises(Throttled):
        await throttle.check("d")


@pytest.mark.parametrize(("limit", "window"), [(0, 60), (3, 0)])
def test_a_throttle_that_could_never_allow_or_never_forget_is_refused(limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        Throttle(limit, window)


# In Redis only: what several workers share.


@pytest.mark.redis
async def test_two_workers_share_one_limit(clock: FakeClock, shared: Redis, name: str) -> None:
    first, second = (RedisThrottle(shared, name, 3, 60, clock) for _ in range(2))
    await first.fail("bale:1")
    await second.fail("bale:1")
    await first.check("bale:1")
    await second.fail("bale:1")  # the third failure, on the other worker

    for worker in (first, second):
        with pytest.raises(Throttled):
            await worker.check("bale:1")
    other = RedisThrottle(shared, f"{name}x", 3, 60, clock)  # another throttle's counters are its own
    await other.check("bale:1")


@pytest.mark.redis
async def test_failures_at_the_same_instant_on_two_workers_both_count(
    clock: FakeClock, shared: Redis, name: str
) -> None:
    workers = [RedisThrottle(shared, name, 10, 60, clock) for _ in range(4)]
    await asyncio.gather(*(worker.fail("telegram:9") for worker in workers for _ in range(2)))
    assert await workers[0].failures("telegram:9") == 8


@pytest.mark.redis
async def test_a_key_expires_one_window_after_its_last_failure(
    clock: FakeClock, shared: Redis, name: str
) -> None:
    throttle = RedisThrottle(shared, name, 3, 600, clock)
    await throttle.fail("bale:5")
    key = throttle.redis_key("bale:5")
    assert key == f"miz:throttle:{name}:bale:5"
    assert 599_000 < await shared.pttl(key) <= 600_000
    assert await shared.zcard(key) == 1


@pytest.mark.redis
async def test_redis_forgets_a_key_by_itself(shared: Redis, name: str) -> None:
    throttle = RedisThrottle(shared, name, 1, 0.2)  # the real clock
    await throttle.fail("bale:6")
    with pytest.raises(Throttled) as caught:
        await throttle.check("bale:6")
    assert caught.value.params == {"seconds": 1, "minutes": 1}  # never less than a second
    await asyncio.sleep(0.3)
    await throttle.check("bale:6")
    assert await shared.exists(throttle.redis_key("bale:6")) == 0


@pytest.mark.redis
async def test_a_restart_keeps_the_count(clock: FakeClock, shared: Redis, name: str) -> None:
    await RedisThrottle(shared, name, 1, 60, clock).fail("telegram:3")
    clock.advance(30)
    with pytest.raises(Throttled) as caught:
        await RedisThrottle(shared, name, 1, 60, clock).check("telegram:3")
    assert caught.value.params == {"seconds": 30, "minutes": 1}


@pytest.mark.parametrize(
    ("name", "limit", "window"), [("", 1, 60), ("a:b", 1, 60), ("t", 0, 60), ("t", 1, 0)]
)
def test_a_redis_throttle_that_could_never_work_is_refused(name: str, limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        RedisThrottle(Redis(), name, limit, window)
