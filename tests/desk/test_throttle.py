"""The throttle: a citizen who keeps guessing is slowed down, even all at once; one who mistypes once is not; memory
stays small.

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
from desk.throttle import (
    TRACK_FAILURE_LIMIT,
    TRACK_WINDOW_SECONDS,
    Attempt,
    Limiter,
    Throttle,
    tracking_throttle,
)
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


async def test_the_limit_th_attempt_blocks_the_key_and_only_that_key(
    clock: FakeClock, make: MakeLimiter
) -> None:
    throttle = make(Throttle(3, 60, clock))
    for _ in range(2):
        await throttle.attempt("bale:1")
        await throttle.check("bale:1")  # still allowed
    await throttle.attempt("bale:1")

    with pytest.raises(Throttled) as caught:
        await throttle.check("bale:1")
    assert caught.value.key == "desk.throttled"
    with pytest.raises(Throttled):
        await throttle.attempt("bale:1")
    assert await throttle.failures("bale:1") == 3  # a refused attempt is not counted
    await throttle.attempt("telegram:1")  # someone else is not affected


async def test_the_window_slides_attempts_age_out_one_by_one(clock: FakeClock, make: MakeLimiter) -> None:
    throttle = make(Throttle(3, 60, clock))
    await throttle.attempt("k")  # t=0
    clock.advance(20)
    await throttle.attempt("k")  # t=20
    clock.advance(20)
    await throttle.attempt("k")  # t=40
    with pytest.raises(Throttled) as caught:
        await throttle.attempt("k")
    assert caught.value.params["seconds"] == 20  # until the t=0 attempt is 60 s old

    clock.advance(20)  # t=60: the first attempt left the window
    await throttle.check("k")
    assert await throttle.failures("k") == 2
    await throttle.attempt("k")  # three within the window again
    with pytest.raises(Throttled):
        await throttle.attempt("k")


async def test_an_attempt_just_inside_the_window_still_counts(clock: FakeClock, make: MakeLimiter) -> None:
    throttle = make(Throttle(1, 60, clock))
    await throttle.attempt("k")
    clock.advance(59.5)
    with pytest.raises(Throttled) as caught:
        await throttle.attempt("k")
    assert caught.value.params == {"seconds": 1, "minutes": 1, "hours": 1}


async def test_the_wait_ends_when_the_oldest_counted_attempt_ages_out(
    clock: FakeClock, make: MakeLimiter
) -> None:
    throttle = make(Throttle(2, 60, clock))
    for _ in range(2):
        await throttle.attempt("k")  # t=0, t=10
        clock.advance(10)
    for _ in range(3):  # t=20..40: refused, and not counted, so they do not prolong the block
        with pytest.raises(Throttled):
            await throttle.attempt("k")
        clock.advance(10)
    # t=50: the block ends when the t=0 attempt ages out
    assert await throttle.failures("k") == 2
    with pytest.raises(Throttled) as caught:
        await throttle.check("k")
    assert caught.value.params == {"seconds": 10, "minutes": 1, "hours": 1}


async def test_concurrent_guesses_let_exactly_the_limit_through_regression_check_then_fail_race(
    clock: FakeClock, make: MakeLimiter
) -> None:
    throttle = make(Throttle(5, 600, clock))

    results = await asyncio.gather(
        *(throttle.attempt("telegram:7") for _ in range(20)), return_exceptions=True
    )

    assert sum(isinstance(result, Attempt) for result in results) == 5
    assert sum(isinstance(result, Throttled) for result in results) == 15
    assert await throttle.failures("telegram:7") == 5


async def test_a_right_guess_given_back_is_not_counted(clock: FakeClock, make: MakeLimiter) -> None:
    throttle = make(Throttle(2, 60, clock))
    wrong = await throttle.attempt("bale:1")
    right = await throttle.attempt("bale:1")
    await throttle.give_back(right)
    assert await throttle.failures("bale:1") == 1

    for _ in range(3):  # a citizen's own right answers never add up to a block
        await throttle.give_back(await throttle.attempt("bale:1"))
    await throttle.give_back(right)  # twice is harmless: it takes back nothing else
    assert await throttle.failures("bale:1") == 1
    await throttle.attempt("bale:1")
    with pytest.raises(Throttled):
        await throttle.attempt("bale:1")
    assert wrong.key == "bale:1"


async def test_giving_back_an_attempt_that_aged_out_changes_nothing(
    clock: FakeClock, make: MakeLimiter
) -> None:
    throttle = make(Throttle(1, 60, clock))
    old = await throttle.attempt("k")
    clock.advance(60)
    new = await throttle.attempt("k")
    await throttle.give_back(old)
    assert await throttle.failures("k") == 1
    await throttle.give_back(new)
    assert await throttle.failures("k") == 0


async def test_reset_lifts_a_block(clock: FakeClock, make: MakeLimiter) -> None:
    throttle = make(Throttle(1, 60, clock))
    await throttle.attempt("k")
    await throttle.reset("k")
    await throttle.check("k")
    assert await throttle.failures("k") == 0
    await throttle.attempt("k")


async def test_the_tracking_throttle_allows_five_wrong_tries_per_ten_minutes(
    clock: FakeClock, make: MakeLimiter
) -> None:
    throttle = make(tracking_throttle(clock))
    assert (TRACK_FAILURE_LIMIT, TRACK_WINDOW_SECONDS) == (5, 600)
    for _ in range(5):
        await throttle.attempt("telegram:7")
    with pytest.raises(Throttled) as caught:
        await throttle.attempt("telegram:7")

    assert caught.value.key == "desk.track.throttled"
    assert caught.value.params == {"seconds": 600, "minutes": 10, "hours": 1}
    assert "۱۰ دقیقه" in caught.value.render("fa")
    assert "10 minutes" in caught.value.render("en")
    clock.advance(600)
    await throttle.attempt("telegram:7")


# In memory only.


async def test_keys_whose_attempts_left_the_window_are_forgotten(clock: FakeClock) -> None:
    throttle = Throttle(2, 60, clock)
    for user in range(1_000):
        await throttle.attempt(f"bale:{user}")
    assert len(throttle) == 1_000
    clock.advance(61)
    await throttle.attempt("bale:late")
    assert len(throttle) == 1


async def test_a_key_whose_only_attempt_was_given_back_is_forgotten(clock: FakeClock) -> None:
    throttle = Throttle(2, 60, clock)
    await throttle.give_back(await throttle.attempt("bale:1"))
    assert len(throttle) == 0


async def test_memory_is_capped_by_forgetting_the_key_that_attempted_longest_ago(clock: FakeClock) -> None:
    throttle = Throttle(1, 600, clock, max_keys=3)
    for key in ["a", "b", "c", "d"]:
        await throttle.attempt(key)
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
    await first.attempt("bale:1")
    await second.attempt("bale:1")
    await first.check("bale:1")
    await second.attempt("bale:1")  # the third, on the other worker

    for worker in (first, second):
        with pytest.raises(Throttled):
            await worker.attempt("bale:1")
    other = RedisThrottle(shared, f"{name}x", 3, 60, clock)  # another throttle's counters are its own
    await other.attempt("bale:1")


@pytest.mark.redis
async def test_concurrent_guesses_on_several_workers_let_only_the_limit_through(
    clock: FakeClock, shared: Redis, name: str
) -> None:
    workers = [RedisThrottle(shared, name, 5, 600, clock) for _ in range(2)]

    results = await asyncio.gather(
        *(worker.attempt("telegram:9") for _ in range(10) for worker in workers), return_exceptions=True
    )

    assert sum(isinstance(result, Attempt) for result in results) == 5
    assert sum(isinstance(result, Throttled) for result in results) == 15
    assert await shared.zcard(workers[0].redis_key("telegram:9")) == 5


@pytest.mark.redis
async def test_attempts_at_the_same_instant_on_two_workers_both_count(
    clock: FakeClock, shared: Redis, name: str
) -> None:
    workers = [RedisThrottle(shared, name, 10, 60, clock) for _ in range(4)]
    attempts = await asyncio.gather(*(worker.attempt("telegram:9") for worker in workers for _ in range(2)))
    assert await workers[0].failures("telegram:9") == 8
    await workers[1].give_back(attempts[0])  # one worker gives back another's attempt: only that one
    assert await workers[0].failures("telegram:9") == 7


@pytest.mark.redis
async def test_a_key_expires_one_window_after_its_last_attempt(
    clock: FakeClock, shared: Redis, name: str
) -> None:
    throttle = RedisThrottle(shared, name, 3, 600, clock)
    await throttle.attempt("bale:5")
    key = throttle.redis_key("bale:5")
    assert key == f"miz:throttle:{name}:bale:5"
    assert 599_000 < await shared.pttl(key) <= 600_000
    assert await shared.zcard(key) == 1


@pytest.mark.redis
async def test_redis_forgets_a_key_by_itself(shared: Redis, name: str) -> None:
    throttle = RedisThrottle(shared, name, 1, 0.2)  # the real clock
    await throttle.attempt("bale:6")
    with pytest.raises(Throttled) as caught:
        await throttle.attempt("bale:6")
    assert caught.value.params == {"seconds": 1, "minutes": 1, "hours": 1}  # never less than a second
    await asyncio.sleep(0.3)
    await throttle.check("bale:6")
    assert await shared.exists(throttle.redis_key("bale:6")) == 0


@pytest.mark.redis
async def test_a_restart_keeps_the_count(clock: FakeClock, shared: Redis, name: str) -> None:
    await RedisThrottle(shared, name, 1, 60, clock).attempt("telegram:3")
    clock.advance(30)
    with pytest.raises(Throttled) as caught:
        await RedisThrottle(shared, name, 1, 60, clock).attempt("telegram:3")
    assert caught.value.params == {"seconds": 30, "minutes": 1, "hours": 1}


@pytest.mark.parametrize(
    ("name", "limit", "window"), [("", 1, 60), ("a:b", 1, 60), ("t", 0, 60), ("t", 1, 0)]
)
def test_a_redis_throttle_that_could_never_work_is_refused(name: str, limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        RedisThrottle(Redis(), name, limit, window)
