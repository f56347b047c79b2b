"""The send limits shared by every worker through Redis, so that the cluster as a whole stays under a messenger's limits.

:class:`bot.ratelimit.SendLimiter` keeps its token buckets in the process: two processes each pacing at 28
messages a second send 56, and Telegram answers 429. With ``MIZ_REDIS_URL`` set, :class:`SharedSendLimiter` keeps
them in Redis instead, under keys naming the bot (``miz:send:<platform>:<bot id>:...``, the bot's public id, never
its token):

- a bucket is a hash (``tokens``, ``at``) taken by one Lua script, which Redis runs atomically: refill for the time
  passed, take a token if one is whole, else answer how many milliseconds until one will be. The time is Redis's
  own (``TIME``), so the workers' clocks do not matter. A bucket expires once it would be full again, so Redis
  keeps only the recently active chats;
- the same script first looks at the pauses that apply (the chat's and the bot's, keys with a time to live set
  after a 429) and answers their time left instead;
- a waiter sleeps that long and asks again; in one process, one waiter per bucket asks at a time (the others queue
  behind it in arrival order), so the bot's bucket is not asked by every chat at once.

The order of :class:`SendLimiter` holds: the chat's bucket is waited for first, the bot's right before the send,
and the chat's token is taken with the bot's. While Redis cannot be reached, a worker paces by its own buckets
(and says so in the log) rather than stop delivering. Without Redis the limits cannot be shared, and only one
process sends each platform's outbox (``OutboxSender.locker``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Sequence
from typing import Final

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from bot.ratelimit import Limits, SendLimiter

__all__ = ["KEY_PREFIX", "SharedSendLimiter"]

logger = logging.getLogger(__name__)

KEY_PREFIX: Final = "miz:send:"

_CALLS: Final = 8  # Redis calls of one limiter at a time
_PRUNE_AT: Final = 1024  # forget the local queues of buckets nobody waits for when there are this many

_TAKE: Final = """
for i = 2, #KEYS do
    local paused = redis.call('PTTL', KEYS[i])
    if paused > 0 then
        return paused
    end
end
local time = redis.call('TIME')
local now = tonumber(time[1]) + tonumber(time[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
if now > at then
    tokens = math.min(burst, tokens + (now - at) * rate)
    at = now
end
if tokens < 1 - 1e-9 then
    return math.max(1, math.ceil((1 - tokens) / rate * 1000))
end
if ARGV[3] == '0' then
    return 0
end
redis.call('HSET', KEYS[1], 'tokens', tostring(math.max(0, tokens - 1)), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return 0
"""
"""KEYS[1] the bucket, KEYS[2..] the pauses that apply; ARGV rate per second, burst, and 1 to take a token (0 only
to look). Answers 0 when a token was taken (or is there), else the milliseconds to wait before asking again (a
pause's time left, or until a token is whole)."""

_WAIT: Final = """
for i = 1, #KEYS do
    local paused = redis.call('PTTL', KEYS[i])
    if paused > 0 then
        return paused
    end
end
return 0
"""
"""KEYS the pauses that apply; answers the milliseconds left of one of them (0 when none)."""


class SharedSendLimiter(SendLimiter):
    """The send limits of one bot (``bot`` names it: ``"<platform>:<bot id>"``), kept in Redis for every worker."""

    def __init__(self, limits: Limits, redis: Redis, bot: str) -> None:
        super().__init__(limits)
        self.redis = redis
        self._prefix = f"{KEY_PREFIX}{bot}:"
        self._take = redis.register_script(_TAKE)
        self._wait = redis.register_script(_WAIT)
        self._queues: dict[str, asyncio.Lock] = {}
        self._pausing: set[asyncio.Task[None]] = set()
        self._warn_after = 0.0
        self._calls = asyncio.Semaphore(_CALLS)

    async def acquire_chat(self, chat_id: int) -> None:
        rate, burst = self._chat_limits(chat_id)
        if not rate:
            await self._wait_pause(chat_id)  # the shared pauses are asked right before the send
            return
        try:
            await self._acquire(f"chat:{chat_id}", rate, burst, chat_id, take=False)
        except (RedisError, OSError) as error:
            self._redis_away(error)
            await super().acquire_chat(chat_id)

    async def acquire_bot(self, chat_id: int) -> None:
        rate, burst = self._chat_limits(chat_id)
        try:
            if self.limits.bot_rate:
                await self._acquire("bot", self.limits.bot_rate, self.limits.bot_burst, chat_id)
            else:
                await self._sleep_while(self._wait, [], chat_id)
            if rate:
                await self._acquire(f"chat:{chat_id}", rate, burst, chat_id)
        except (RedisError, OSError) as error:
            self._redis_away(error)
            await super().acquire_bot(chat_id)

    def _redis_away(self, error: BaseException) -> None:
        """Redis cannot be reached: pace by this process's own limits meanwhile (said once a minute)."""
        now = time.monotonic()
        if now >= self._warn_after:
            self._warn_after = now + 60
            logger.warning(
                "outbox: Redis unreachable for the shared send limits (%s); pacing by this worker's own",
                type(error).__name__,
            )

    def penalize(self, chat_id: int, retry_after: float) -> None:
        """Pause here at once, and in every worker as soon as Redis has the pause."""
        super().penalize(chat_id, retry_after)
        key = self._prefix + ("pause" if self.limits.pause_bot_on_429 else f"pause:{chat_id}")
        ttl_ms = max(1, math.ceil(retry_after * 1000))
        task = asyncio.get_running_loop().create_task(self._pause(key, ttl_ms))
        self._pausing.add(task)
        task.add_done_callback(self._pausing.discard)

    async def _pause(self, key: str, ttl_ms: int) -> None:
        with contextlib.suppress(Exception):  # Redis away: this worker's own pause still holds
            # Keep the longer of two pauses: GT sets the expiry only if it is later than the one there.
            if not await self.redis.set(key, 1, px=ttl_ms, nx=True):
                await self.redis.pexpire(key, ttl_ms, gt=True)

    def _chat_limits(self, chat_id: int) -> tuple[float | None, int]:
        if chat_id < 0:
            return self.limits.group_rate, self.limits.group_burst
        return self.limits.chat_rate, self.limits.chat_burst

    def _pauses(self, chat_id: int) -> list[str]:
        return [self._prefix + "pause", f"{self._prefix}pause:{chat_id}"]

    async def _acquire(
        self, bucket: str, rate: float, burst: int, chat_id: int, *, take: bool = True
    ) -> None:
        """Wait for a token of ``bucket`` (and for the pauses of ``chat_id`` to end), one local waiter at a time, and
        take it (``take``) or leave it there."""
        if len(self._queues) >= _PRUNE_AT:  # keep the queues of the buckets being waited for
            self._queues = {name: lock for name, lock in self._queues.items() if lock.locked()}
        queue = self._queues.setdefault(bucket, asyncio.Lock())
        async with queue:
            await self._wait_pause(chat_id)
            await self._sleep_while(self._take, [self._prefix + bucket], chat_id, rate, burst, int(take))

    async def _sleep_while(self, script: AsyncScript, keys: list[str], chat_id: int, *args: float) -> None:
        """Run ``script`` until it answers 0, sleeping the milliseconds it answers in between."""
        while wait_ms := await self._ask(script, [*keys, *self._pauses(chat_id)], args):  # noqa: ASYNC110
            await asyncio.sleep(wait_ms / 1000)  # the other workers' sends are in Redis: no event to wait on

    async def _ask(self, script: AsyncScript, keys: list[str], args: Sequence[float]) -> int:
        """One run of ``script``, at most :data:`_CALLS` of ours at a time: the client's pool of connections is
        shared with the conversations, and a pool run dry raises instead of waiting."""
        async with self._calls:
            return int(await script(keys=keys, args=list(args)))
