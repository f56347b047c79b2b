"""The base of every repository: the caller's session, and the back-end's own INSERT for upserts."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["Repository", "core_insert", "dialect_insert"]


class Repository:
    """Queries of one concern over the caller's ``AsyncSession``; flushes when it needs ids, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _dialect(self) -> str:
        """The session's back-end: ``"postgresql"`` or ``"sqlite"``."""
        return (await self.session.connection()).dialect.name

    async def _insert(self, entity: Any) -> Any:
        """The back-end's own INSERT construct for ``entity``, in the session's dialect."""
        return dialect_insert(await self._dialect(), entity)


def dialect_insert(dialect: str, target: Any) -> Any:
    """The back-end's own INSERT into ``target`` (an ORM entity or a table), which knows ``ON CONFLICT``."""
    if dialect == "postgresql":
        return postgresql.insert(target)
    if dialect == "sqlite":
        return sqlite.insert(target)
    raise NotImplementedError(f"no upsert for the {dialect} back-end")  # storage.db accepts no other


def core_insert(dialect: str, entity: Any) -> Any:
    """A Core INSERT into ``entity``'s table (no ORM step at execution), which knows ``ON CONFLICT``.

    Hot paths build their statement once (``functools.cache``) and pass the values at execution: building an
    ORM ``insert(Entity).values(...)`` for every row cost more CPU than running it (``make bench``).
    """
    return dialect_insert(dialect, entity.__table__)
