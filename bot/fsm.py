"""Conversation state (aiogram FSM) kept in the database, so a restart never loses a half-filled form.

Redis is used instead when ``MIZ_REDIS_URL`` is set (aiogram's own ``RedisStorage``); see :func:`make_fsm_storage`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories import ConversationStates
from storage.uow import unit_of_work

__all__ = ["DatabaseStorage", "make_fsm_storage", "storage_key"]


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
    """aiogram FSM storage in the ``conversation_state`` table, one short transaction per call."""

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = factory

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        async with unit_of_work(self._factory) as session:
            await ConversationStates(session).set_state(storage_key(key), _state_name(state))

    async def get_state(self, key: StorageKey) -> str | None:
        async with self._factory() as session:
            row = await ConversationStates(session).get(storage_key(key))
        return row.state if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with unit_of_work(self._factory) as session:
            await ConversationStates(session).set_data(storage_key(key), dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self._factory() as session:
            row = await ConversationStates(session).get(storage_key(key))
        return dict(row.data) if row and row.data else {}

    async def close(self) -> None:
        return None


def make_fsm_storage(redis_url: str | None, factory: async_sessionmaker[AsyncSession]) -> BaseStorage:
    """Redis when configured (several workers share it), otherwise the database."""
    if redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(redis_url)
    return DatabaseStorage(factory)
