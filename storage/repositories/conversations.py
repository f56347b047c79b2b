"""The bot's conversation (FSM) states."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, select

from storage.columns import utcnow
from storage.models import ConversationState
from storage.repositories.base import Repository, core_insert

__all__ = ["ConversationStates"]


class ConversationStates(Repository):
    """The bot's conversation (FSM) state per key (``'<platform>:<chat id>:<user id>'``)."""

    async def get(self, key: str) -> ConversationState | None:
        """The stored state for ``key``, read afresh, or None."""
        stmt = (
            select(ConversationState)
            .where(col(ConversationState.key) == key)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).first()

    async def set(self, key: str, *, state: str | None, data: dict[str, Any]) -> None:
        """Store both the state name and its data for ``key``."""
        await self.set_many([(key, state, data)])

    async def set_many(self, rows: Sequence[tuple[str, str | None, dict[str, Any]]]) -> None:
        """Store ``(key, state, data)`` for every row in one statement (the bot's flush at the end of an update).

        A Core upsert run as an executemany, its statement built once per back-end: ``make bench`` measured
        the ORM path (a ``ConversationState`` built, dumped and turned into a fresh ``INSERT``) at about a
        tenth of the bot's CPU per update.
        """
        if not rows:
            return
        now = utcnow()
        connection = await self.session.connection()
        await connection.execute(
            _conversation_upsert(connection.dialect.name),
            [{"key": key, "state": state, "data": data, "updated_at": now} for key, state, data in rows],
        )

    async def set_state(self, key: str, state: str | None) -> None:
        """Store the state name for ``key``, keeping its data."""
        await self._upsert(key, state=state)

    async def set_data(self, key: str, data: dict[str, Any]) -> None:
        """Store the data for ``key``, keeping its state name."""
        await self._upsert(key, data=data)

    async def delete(self, key: str) -> None:
        """Forget ``key`` (the conversation is over)."""
        stmt = delete(ConversationState).where(col(ConversationState.key) == key)
        await self.session.execute(stmt.execution_options(synchronize_session="fetch"))

    async def _upsert(self, key: str, **values: Any) -> None:
        values["updated_at"] = utcnow()
        row = ConversationState(key=key, **values)
        insert = await self._insert(ConversationState)
        stmt = insert.values(**row.model_dump()).on_conflict_do_update(index_elements=["key"], set_=values)
        await self.session.execute(stmt)


@functools.cache
def _conversation_upsert(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` of a whole conversation row, for ``dialect``."""
    stmt = core_insert(dialect, ConversationState)
    changed = {name: stmt.excluded[name] for name in ("state", "data", "updated_at")}
    return stmt.on_conflict_do_update(index_elements=["key"], set_=changed)
