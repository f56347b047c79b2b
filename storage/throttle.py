"""The guessing limits of ``desk.throttle`` kept in Redis, so that several workers share them.

With ``MIZ_REDIS_URL`` set, several workers may serve the same citizen; counters in each worker's memory would
let a guesser multiply the limit by the number of workers (and a restart would reset them).
``RedisThrottle`` behaves like ``desk.throttle.Throttle`` (a sliding window of ``window_seconds``, refused at
``limit`` failures, the same ``Throttled`` error with the same rounding) with its counters in Redis:

- one sorted set per key, ``miz:throttle:<name>:<platform>:<user id>``, of the key's failure times (the
  scores); each member also carries a random suffix, so two failures at the same instant on two workers both
  count;
- a failure is added in one ``MULTI``/``EXEC`` transaction that also drops the times out of the window, keeps
  only the newest ``limit`` (older ones never matter) and sets the key to expire one window after it, so Redis
  memory stays bounded with no sweeping;
- a check is one read of the newest ``limit`` times within the window.

Times come from the workers' wall clocks (``time.time``, not the monotonic clock, which means nothing to
another process): clocks kept by NTP differ by far less than a second, which shifts a ten-minute window by as
much. The key names a citizen only by platform and user id, never by phone or national ID.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from typing import Final, cast

from redis.asyncio import Redis

from desk.errors import Throttled
from desk.throttle import Throttle

__all__ = ["KEY_PREFIX", "RedisThrottle"]

KEY_PREFIX: Final = "miz:throttle:"
"""Every throttle's keys start with this, then the throttle's name and ``:``."""


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

    @classmethod
    def like(
        cls, throttle: Throttle, redis: Redis, name: str, clock: Callable[[], float] = time.time
    ) -> RedisThrottle:
        """The same limit, window and message as the in-memory ``throttle``, kept in Redis under ``name``."""
        return cls(redis, name, throttle.limit, throttle.window, clock, message_key=throttle.message_key)

    def redis_key(self, key: str) -> str:
        """The Redis key of ``key`` (``'<platform>:<user id>'``)."""
        return self._prefix + key

    async def check(self, key: str) -> None:
        """Raise ``Throttled`` if ``key`` has failed ``limit`` times within the window; else do nothing."""
        now = self._clock()
        newest = await self._newest(key, now)
        if len(newest) >= self.limit:
            oldest = newest[-1]  # the limit-th newest: one more try is allowed once it ages out
            seconds = max(1, math.ceil(oldest + self.window - now))
            raise Throttled(self.message_key, seconds=seconds, minutes=math.ceil(seconds / 60))

    async def fail(self, key: str) -> None:
        """Count one failure of ``key`` now, atomically with those other workers count at the same time."""
        now = self._clock()
        name = self.redis_key(key)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(name, "-inf", now - self.window)
            pipe.zadd(name, {f"{now!r}:{secrets.token_hex(4)}": now})
            pipe.zremrangebyrank(name, 0, -self.limit - 1)  # keep the newest ``limit``
            pipe.pexpire(name, self._ttl_ms)
            await pipe.execute()

    async def reset(self, key: str) -> None:
        """Forget the failures of ``key`` (an operator lifting a block)."""
        await self.redis.delete(self.redis_key(key))

    async def failures(self, key: str) -> int:
        """How many failures of ``key`` are within the window now (at most ``limit``)."""
        return len(await self._newest(key, self._clock()))

    async def _newest(self, key: str, now: float) -> list[float]:
        """The times of ``key``'s newest failures within the window, newest first, at most ``limit``."""
        # The window excludes its start, as in Throttle: a failure exactly ``window`` old has aged out.
        found = await self.redis.zrevrangebyscore(
            self.redis_key(key), "+inf", f"({now - self.window!r}", start=0, num=self.limit, withscores=True
        )
        return [float(score) for _, score in cast("list[tuple[bytes, float]]", found)]
