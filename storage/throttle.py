"""The guessing limits of ``desk.throttle`` kept in Redis, so that several workers share them.

With ``MIZ_REDIS_URL`` set, several workers may serve the same citizen; counters in each worker's memory would
let a guesser multiply the limit by the number of workers (and a restart would reset them).
``RedisThrottle`` behaves like ``desk.throttle.Throttle`` (a sliding window of ``window_seconds``, refused at
``limit`` counted guesses, the same ``Throttled`` error with the same rounding) with its counters in Redis:

- one sorted set per key, ``miz:throttle:<name>:<platform>:<user id>`` (``miz:throttle:<name>:<code>`` for a
  per-code limit), of the key's attempt times (the scores); each member also carries a random suffix, so two
  attempts at the same instant on two workers both count, and ``give_back`` removes exactly its own;
- an attempt is one Lua script, which Redis runs atomically: drop the times out of the window, refuse if
  ``limit`` remain (answering the limit-th newest, for the wait), else add this one and set the key to expire
  one window after it, so Redis memory stays bounded with no sweeping. No other command runs between the
  count and the add, so however many workers attempt at once, at most ``limit`` get through;
- a check is one read of the newest ``limit`` times within the window.

Times come from the workers' wall clocks (``time.time``, not the monotonic clock, which means nothing to
another process): clocks kept by NTP differ by far less than a second, which shifts a ten-minute window by as
much. The key names a citizen only by platform and user id, never by phone or national ID; a per-code limit's
key holds the tracking code, which alone shows nothing to anyone but its owner.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from typing import Final, cast

from redis.asyncio import Redis

from desk.errors import Throttled
from desk.throttle import Attempt, Throttle, throttled

__all__ = ["KEY_PREFIX", "RedisThrottle"]

KEY_PREFIX: Final = "miz:throttle:"
"""Every throttle's keys start with this, then the throttle's name and ``:``."""

_ATTEMPT: Final = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local limit = tonumber(ARGV[3])
if redis.call('ZCARD', KEYS[1]) >= limit then
    return redis.call('ZREVRANGE', KEYS[1], limit - 1, limit - 1, 'WITHSCORES')[2]
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return false
"""
"""KEYS[1] the key; ARGV now, the window's start (out of it at or before), limit, member, time to live in ms.
Answers nothing if the attempt was counted, else the score of the limit-th newest (when one more may try)."""


class RedisThrottle:
    """A ``desk.throttle.Limiter`` with its counters in Redis, shared by every worker using the same name."""

    def __init__(
        self,
        redis: Redis,
        name: str,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.time,
        *,
        message_key: str = "desk.throttled",
    ) -> None:
        if not name or ":" in name:
            raise ValueError("name must be non-empty and without ':'")
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self.redis = redis
        self.name = name
        self.limit = limit
        self.window = float(window_seconds)
        self.message_key = message_key
        self._clock = clock
        self._prefix = f"{KEY_PREFIX}{name}:"
        self._ttl_ms = math.ceil(self.window * 1000)
        self._attempt = redis.register_script(_ATTEMPT)

    @classmethod
    def like(
        cls, throttle: Throttle, redis: Redis, name: str, clock: Callable[[], float] = time.time
    ) -> RedisThrottle:
        """The same limit, window and message as the in-memory ``throttle``, kept in Redis under ``name``."""
        return cls(redis, name, throttle.limit, throttle.window, clock, message_key=throttle.message_key)

    def redis_key(self, key: str) -> str:
        """The Redis key of ``key`` (``'<platform>:<user id>'``)."""
        return self._prefix + key

    async def attempt(self, key: str) -> Attempt:
        """Count one guess of ``key`` now, or raise ``Throttled`` if it has ``limit`` within the window; atomic
        with what other workers count at the same time."""
        now = self._clock()
        attempt = Attempt(key, now, secrets.token_hex(4))
        oldest = await self._attempt(
            keys=[self.redis_key(key)],
            args=[repr(now), repr(now - self.window), self.limit, _member(attempt), self._ttl_ms],
        )
        if oldest is not None:  # the limit-th newest: one more try is allowed once it ages out
            raise self._throttled(float(oldest), now)
        return attempt

    async def give_back(self, attempt: Attempt) -> None:
        """Uncount ``attempt`` (a right guess, or one refused before any look-up)."""
        await self.redis.zrem(self.redis_key(attempt.key), _member(attempt))

    async def check(self, key: str) -> None:
        """Raise ``Throttled`` if ``key`` has ``limit`` guesses within the window; count nothing."""
        now = self._clock()
        newest = await self._newest(key, now)
        if len(newest) >= self.limit:
            raise self._throttled(newest[-1], now)

    async def reset(self, key: str) -> None:
        """Forget the failures of ``key`` (an operator lifting a block)."""
        await self.redis.delete(self.redis_key(key))

    async def failures(self, key: str) -> int:
        """How many counted guesses of ``key`` are within the window now (at most ``limit``)."""
        return len(await self._newest(key, self._clock()))

    async def _newest(self, key: str, now: float) -> list[float]:
        """The times of ``key``'s newest attempts within the window, newest first, at most ``limit``."""
        # The window excludes its start, as in Throttle: an attempt exactly ``window`` old has aged out.
        found = await self.redis.zrevrangebyscore(
            self.redis_key(key), "+inf", f"({now - self.window!r}", start=0, num=self.limit, withscores=True
        )
        return [float(score) for _, score in cast("list[tuple[bytes, float]]", found)]

    def _throttled(self, oldest: float, now: float) -> Throttled:
        return throttled(self.message_key, oldest + self.window - now)


def _member(attempt: Attempt) -> str:
    """The sorted-set member of ``attempt``: its time, so it reads in ``redis-cli``, and its random token."""
    return f"{attempt.at!r}:{attempt.token}"
