"""Each update handled once, however many times it is delivered and however many workers receive it, and none lost
when a worker dies while handling it.

A messenger delivers a webhook update again when it got no 2xx answer in time (a slow proxy, a worker restarting
mid-request), and behind one web server the second delivery may reach another ``miz serve`` worker. The first
worker to see an update id writes it down, atomically, where every worker looks; the others answer 200 and drop
it. With ``MIZ_REDIS_URL`` that place is Redis (one Lua script: ``SET key NX EX``, the key kept for a day, as long
as a messenger keeps an update); without it, the process's own memory, which serves one worker only (several
workers need Redis anyway, for the conversations and the send limits).

A worker answers 200 before it has handled the update, so the messenger will not deliver it again: with Redis, the
same script also files the update, whole, under the worker's name (``miz:serve:inflight:<worker>``) until it is
handled (:meth:`RedisLedger.done`). A worker whose heartbeat stopped (``bot.serve.WorkerRoll``: killed hard, its
machine lost, its event loop stuck for minutes; not one merely slow) leaves its in-flight updates behind; another worker adopts them, atomically, so one adopter handles
each (:meth:`RedisLedger.adopt_orphans`). An update it had half handled may then be answered twice; none is lost.
Without Redis, :class:`DatabaseLedger` keeps that copy in the database (``webhook_update``), written before the
answer and deleted once handled, and a worker that starts replays what a dead process left there.

A ledger that cannot be read (Redis down) lets the update through: a rare double answer is better than a citizen's
message lost, and handling needs Redis too, so the citizen is then told the service is busy.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.worker import dead_owners, lease_owner
from storage.repositories import WebhookUpdates
from storage.uow import unit_of_work

__all__ = ["KEEP_SECONDS", "DatabaseLedger", "MemoryLedger", "Orphan", "RedisLedger", "UpdateLedger"]

logger = logging.getLogger(__name__)

KEEP_SECONDS = 24 * 3600
"""How long an update id is remembered: Telegram keeps an undelivered update for 24 hours."""

Orphan = tuple[str, dict[str, Any]]
"""An adopted update: its platform and the update as the messenger delivered it."""


class UpdateLedger(Protocol):
    """Where the workers of one deployment note which updates they have taken and not yet handled."""

    async def take(self, platform: str, bot_id: int, update_id: int, raw: bytes) -> bool:
        """True for the first delivery of this bot's update ``update_id`` (now filed as this worker's until
        :meth:`done`), False for every later one."""
        ...

    async def done(self, platform: str, bot_id: int, update_id: int) -> None:
        """The update taken has been handled."""
        ...

    async def adopt_orphans(self, workers_key: str, stale_before: float) -> list[Orphan]:
        """Take over the in-flight updates of workers whose last heartbeat (in the sorted set ``workers_key``)
        is older than ``stale_before`` (a Unix time)."""
        ...


class MemoryLedger:
    """The update ids this process has seen, the newest ``size`` of them (one worker only; nothing to adopt)."""

    def __init__(self, size: int = 100_000) -> None:
        self._seen: OrderedDict[tuple[str, int, int], None] = OrderedDict()
        self._size = size

    async def take(self, platform: str, bot_id: int, update_id: int, raw: bytes) -> bool:
        key = (platform, bot_id, update_id)
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True

    async def done(self, platform: str, bot_id: int, update_id: int) -> None:
        return None

    async def adopt_orphans(self, workers_key: str, stale_before: float) -> list[Orphan]:
        return []


class DatabaseLedger:
    """One worker without Redis: the update ids it has seen in its memory (:class:`MemoryLedger`), and each update
    in flight in the database (``webhook_update``), written before the webhook is answered and deleted once the
    update is handled, so a process killed in between (SIGKILL, power loss) loses nothing.

    :meth:`adopt_orphans` takes over the rows of processes that are not running: those of this machine whose pid
    is gone, and every other machine's (a container restarted is another machine to :func:`bot.worker.lease_owner`;
    without Redis only one worker runs). It is called when the worker starts and at every heartbeat.

    Answering only once the update is handled would keep the messenger's copy instead, but it holds the delivery
    connection for the whole handling: an album's first part waits for the next parts (``AlbumCollector``), which
    Telegram sends on the connections still free and Bale, one at a time, only after it; and a handler slower than
    the proxy's or the messenger's timeout would have its update delivered again.
    """

    def __init__(
        self, factory: async_sessionmaker[AsyncSession], *, owner: str | None = None, size: int = 100_000
    ) -> None:
        self._factory = factory
        self.owner = owner or lease_owner()
        self._seen = MemoryLedger(size)

    async def take(self, platform: str, bot_id: int, update_id: int, raw: bytes) -> bool:
        if not await self._seen.take(platform, bot_id, update_id, raw):
            return False
        try:
            async with unit_of_work(self._factory, write=True) as session:
                return await WebhookUpdates(session).take(
                    platform, bot_id, update_id, raw.decode("utf-8", "replace"), self.owner
                )
        except Exception as error:  # the database is down: handling needs it too, and will say so
            logger.warning(
                "update %s of %s: not kept in the database (%s); handling it",
                update_id,
                platform,
                type(error).__name__,
            )
            return True

    async def done(self, platform: str, bot_id: int, update_id: int) -> None:
        try:
            async with unit_of_work(self._factory, write=True) as session:
                await WebhookUpdates(session).done(platform, bot_id, update_id)
        except Exception as error:
            logger.warning(
                "update %s of %s: not struck off in the database (%s)",
                update_id,
                platform,
                type(error).__name__,
            )

    async def adopt_orphans(self, workers_key: str, stale_before: float) -> list[Orphan]:
        try:
            async with unit_of_work(self._factory, write=True) as session:
                updates = WebhookUpdates(session)
                moved = await updates.adopt(_not_running(await updates.owners(), self.owner), self.owner)
        except Exception as error:
            logger.warning("updates left in flight by a dead process: not read (%s)", type(error).__name__)
            return []
        adopted: list[Orphan] = []
        for platform, body in moved:
            try:
                raw = json.loads(body)
            except ValueError:
                logger.error("an update of %s left in flight could not be read; dropped", platform)
                continue
            adopted.append((platform, raw))
        if moved:
            logger.warning("replaying %d updates a dead process had taken and not handled", len(moved))
        return adopted


def _not_running(owners: Sequence[str], me: str) -> list[str]:
    """The owners among ``owners`` that are not a running process of this machine (nor ``me``)."""
    machine = me.split(":", 1)[0]
    dead = set(dead_owners(owners))
    return [owner for owner in owners if owner != me and (owner in dead or owner.split(":", 1)[0] != machine)]


_TAKE = """
if redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[1]) then
    redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
    return 1
end
return 0
"""
"""Note the update id (if no one has) and file the update as this worker's, in one step."""

_ADOPT = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not score) or tonumber(score) >= tonumber(ARGV[2]) then
    return {}
end
redis.call('ZREM', KEYS[1], ARGV[1])
local orphans = redis.call('HGETALL', KEYS[2])
for i = 1, #orphans, 2 do
    redis.call('HSET', KEYS[3], orphans[i], orphans[i + 1])
end
redis.call('DEL', KEYS[2])
return orphans
"""
"""Move a dead worker's in-flight updates to this worker's, unless another adopter was first or it beat again."""


class RedisLedger:
    """The update ids every worker has taken, in Redis, each for :data:`KEEP_SECONDS`, and each worker's updates
    in flight under its ``worker`` name."""

    def __init__(self, redis: Redis, worker: str, prefix: str = "miz:update") -> None:
        self._redis = redis
        self._worker = worker
        self._prefix = prefix

    @staticmethod
    def inflight_key(worker: str) -> str:
        """Where ``worker``'s updates in flight are filed."""
        return f"miz:serve:inflight:{worker}"

    async def take(self, platform: str, bot_id: int, update_id: int, raw: bytes) -> bool:
        key = f"{self._prefix}:{platform}:{bot_id}:{update_id}"
        try:
            taken = await self._redis.eval(
                _TAKE,
                2,
                key,
                self.inflight_key(self._worker),
                KEEP_SECONDS,
                f"{platform}:{bot_id}:{update_id}",
                raw,
            )
        except (RedisError, OSError) as error:
            logger.warning(
                "update %s of %s: Redis cannot say whether another worker took it (%s); handling it",
                update_id,
                platform,
                type(error).__name__,
            )
            return True
        return bool(taken)

    async def done(self, platform: str, bot_id: int, update_id: int) -> None:
        try:
            await self._redis.hdel(self.inflight_key(self._worker), f"{platform}:{bot_id}:{update_id}")
        except (RedisError, OSError) as error:
            logger.warning(
                "update %s of %s: not struck off in Redis (%s)", update_id, platform, type(error).__name__
            )

    async def adopt_orphans(self, workers_key: str, stale_before: float) -> list[Orphan]:
        dead = await self._redis.zrangebyscore(workers_key, "-inf", f"({stale_before}")
        adopted: list[Orphan] = []
        for name in dead:
            worker = name.decode() if isinstance(name, bytes) else str(name)
            if worker == self._worker:
                continue
            found = await self._redis.eval(
                _ADOPT,
                3,
                workers_key,
                self.inflight_key(worker),
                self.inflight_key(self._worker),
                worker,
                stale_before,
            )
            pairs = list(found or [])
            for field, raw in zip(pairs[::2], pairs[1::2], strict=True):
                platform = (field.decode() if isinstance(field, bytes) else str(field)).split(":", 1)[0]
                try:
                    adopted.append((platform, json.loads(raw)))
                except ValueError:
                    logger.error("an orphaned update of %s could not be read; dropped", platform)
            if pairs:
                logger.warning(
                    "adopted %d updates in flight of worker %s (no heartbeat)", len(pairs) // 2, worker
                )
        return adopted
