"""Each update handled once, however many times it is delivered and however many workers receive it.

A messenger delivers a webhook update again when it got no 2xx answer in time (a slow proxy, a worker restarting
mid-request), and behind one web server the second delivery may reach another ``miz serve`` worker. The first
worker to see an update id writes it down, atomically, where every worker looks; the others answer 200 and drop
it. With ``MIZ_REDIS_URL`` that place is Redis (``SET key NX EX``: one round trip, the key kept for a day, as
long as a messenger keeps an update); without it, the process's own memory, which serves one worker only (several
workers need Redis anyway, for the conversations and the send limits).

A ledger that cannot be read (Redis down) lets the update through: a rare double answer is better than a citizen's
message lost, and handling needs Redis too, so the citizen is then told the service is busy.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

__all__ = ["KEEP_SECONDS", "MemoryLedger", "RedisLedger", "UpdateLedger"]

logger = logging.getLogger(__name__)

KEEP_SECONDS = 24 * 3600
"""How long an update id is remembered: Telegram keeps an undelivered update for 24 hours."""


class UpdateLedger(Protocol):
    """Where the workers of one deployment note which updates they have taken."""

    async def first_time(self, platform: str, bot_id: int, update_id: int) -> bool:
        """True for the first delivery of this bot's update ``update_id``, False for every later one."""
        ...


class MemoryLedger:
    """The update ids this process has seen, the newest ``size`` of them (one worker only)."""

    def __init__(self, size: int = 100_000) -> None:
        self._seen: OrderedDict[tuple[str, int, int], None] = OrderedDict()
        self._size = size

    async def first_time(self, platform: str, bot_id: int, update_id: int) -> bool:
        key = (platform, bot_id, update_id)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


class RedisLedger:
    """The update ids every worker has taken, in Redis, each for :data:`KEEP_SECONDS`."""

    def __init__(self, redis: Redis, prefix: str = "miz:update") -> None:
        self._redis = redis
        self._prefix = prefix

    async def first_time(self, platform: str, bot_id: int, update_id: int) -> bool:
        key = f"{self._prefix}:{platform}:{bot_id}:{update_id}"
        try:
            return bool(await self._redis.set(key, 1, nx=True, ex=KEEP_SECONDS))
        except (RedisError, OSError) as error:
            logger.warning(
                "update %s of %s: Redis cannot say whether another worker took it (%s); handling it",
                update_id,
                platform,
                type(error).__name__,
            )
            return True
