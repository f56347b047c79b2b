"""Conversation state (aiogram FSM) kept in the database, so a restart never loses a half-filled form.

Redis is used instead when ``MIZ_REDIS_URL`` is set (aiogram's own ``RedisStorage``); see :func:`make_fsm_storage`.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import DEFAULT_DESTINY, BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories import ConversationStates
from storage.uow import unit_of_work

__all__ = ["DatabaseStorage", "RedisKeys", "key_conversations_by_bot", "make_fsm_storage", "storage_key"]

logger = logging.getLogger(__name__)


def storage_key(key: StorageKey) -> str:
    """The row key: the bot (so the platform), the chat, the user, and any thread or business connection."""
    parts = [str(key.bot_id), str(key.chat_id), str(key.user_id)]
    if key.thread_id:
        parts.append(f"t{key.thread_id}")
    if key.business_connection_id:
        parts.append(f"b{key.business_connection_id}")
    if key.destiny != "default":
        parts.append(key.destiny)
    return ":".join(parts)


def _state_name(state: StateType) -> str | None:
    return state.state if isinstance(state, State) else state


class DatabaseStorage(BaseStorage):
    """aiogram FSM storage in the ``conversation_state`` table, with the process's copy in memory.

    Reads come from memory after the first one. Writes change the copy and mark the key; :meth:`flush`, called
    once at the end of every update (:class:`bot.middlewares.FlushConversations`), stores every marked key in
    one short transaction. So a restart loses nothing an answered update changed, and an update costs at most
    one write however many times its handler touches the state (``make bench``: 4.8 transactions per update
    with no cache, 1.6 with a write-through cache, 1 at most with the flush). The copy is right while this
    process is the only one serving these chats, as with long polling on SQLite; several workers share Redis
    instead (:func:`make_fsm_storage`). It is bounded: past ``max_cached`` keys it starts afresh from the
    database (after a flush, so nothing unsaved is dropped).
    """

    def __init__(self, factory: async_sessionmaker[AsyncSession], max_cached: int = 50_000) -> None:
        self._factory = factory
        self._cache: dict[str, tuple[str | None, dict[str, Any]]] = {}
        self._dirty: set[str] = set()
        self._max_cached = max_cached

    async def _load(self, key: str) -> tuple[str | None, dict[str, Any]]:
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        async with self._factory() as session:
            row = await ConversationStates(session).get(key)
        loaded = (row.state, dict(row.data or {})) if row else (None, {})
        self._remember(key, loaded)
        return loaded

    def _remember(self, key: str, value: tuple[str | None, dict[str, Any]]) -> None:
        if len(self._cache) >= self._max_cached and key not in self._cache:
            self._cache = {k: v for k, v in self._cache.items() if k in self._dirty}
        self._cache[key] = value

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        row_key = storage_key(key)
        name = _state_name(state)
        current, data = await self._load(row_key)
        if current == name:
            return  # nothing changes (e.g. /start clearing a state that is already empty): no write
        self._remember(row_key, (name, data))
        self._dirty.add(row_key)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._load(storage_key(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        row_key = storage_key(key)
        state, current = await self._load(row_key)
        if current == data:
            return
        self._remember(row_key, (state, copy.deepcopy(dict(data))))
        self._dirty.add(row_key)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return copy.deepcopy((await self._load(storage_key(key)))[1])

    async def flush(self) -> None:
        """Store every changed conversation in one transaction; on failure they stay marked for the next try."""
        if not self._dirty:
            return
        keys, self._dirty = self._dirty, set()
        # The values as they are now: the cache may change while this waits for the database.
        rows = [(key, self._cache[key][0], copy.deepcopy(self._cache[key][1])) for key in sorted(keys)]
        try:
            async with unit_of_work(self._factory, write=True) as session:
                await ConversationStates(session).set_many(rows)
        except BaseException:
            self._dirty |= keys
            raise

    async def close(self) -> None:
        await self.flush()
        # An update still being handled may have changed a conversation during the flush: keep it for the next.
        self._cache = {key: value for key, value in self._cache.items() if key in self._dirty}


class RedisKeys(DefaultKeyBuilder):
    """The conversations' Redis keys: aiogram's, with the bot's id (``fsm:<bot>:<chat>:<user>:<part>``), so a
    Telegram user and a Bale user who happen to have the same numeric id never share a conversation, and a second
    destiny's (a form set aside, ``bot.dialogs.form``) with the destiny added after the user.

    Keys stored before the bot's id was in them are moved by :func:`key_conversations_by_bot` when Miz starts."""

    def __init__(self, prefix: str = "fsm") -> None:
        super().__init__(prefix=prefix, with_bot_id=True)
        self._with_destiny = DefaultKeyBuilder(prefix=prefix, with_bot_id=True, with_destiny=True)

    def build(self, key: StorageKey, part: Literal["data", "state", "lock"] | None = None) -> str:
        if key.destiny != DEFAULT_DESTINY:
            return self._with_destiny.build(key, part)
        return super().build(key, part)


_MOVE_TO_BOTS = """
for i = 2, #KEYS do
    redis.call('COPY', KEYS[1], KEYS[i])
end
redis.call('DEL', KEYS[1])
"""
"""Copy a conversation key without a bot to each bot's key (never over a newer one), then drop it."""


async def key_conversations_by_bot(redis: Redis, bot_ids: Sequence[int], prefix: str = "fsm") -> int:
    """Move the conversations stored in Redis without the bot's id in their keys (``fsm:<chat>:<user>:<part>``,
    before :class:`RedisKeys`) to the keys of ``bot_ids``; how many keys moved.

    Such a key cannot tell which bot's user it was, so it goes to each bot: the user finds their conversation on
    their messenger, and nobody else uses a private chat of the same id on the other. Several workers starting at
    once move each key once, and none overwrites a conversation already stored under the new keys."""
    moved = 0
    async for raw in redis.scan_iter(match=f"{prefix}:*", count=1000):
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        if key.count(":") != 3:
            continue  # fsm:<bot>:<chat>:<user>:<part> (or longer) is keyed by its bot already
        rest = key.removeprefix(f"{prefix}:")
        targets = [f"{prefix}:{bot_id}:{rest}" for bot_id in bot_ids]
        await redis.eval(_MOVE_TO_BOTS, 1 + len(targets), key, *targets)
        moved += 1
    if moved:
        logger.info("conversations: %d keys in Redis moved under their bots' ids", moved)
    return moved


def make_fsm_storage(redis_url: str | None, factory: async_sessionmaker[AsyncSession]) -> BaseStorage:
    """Redis when configured (several workers share it), otherwise the database."""
    if redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(redis_url, key_builder=RedisKeys())
    return DatabaseStorage(factory)
