"""The unit of work: one transaction around one use case, committed on success, rolled back on error.

Repositories never commit; this is where commits happen, so a request, its events and the outbox rows
that announce it are stored together or not at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import SQLITE_BEGIN_OPTION

__all__ = ["unit_of_work"]


@asynccontextmanager
async def unit_of_work(
    factory: async_sessionmaker[AsyncSession], *, write: bool = False
) -> AsyncIterator[AsyncSession]:
    """``async with unit_of_work(factory) as session:`` commits when the block ends, rolls back if it raises.

    ``write=True`` declares that the block will write after reading (a submit, a claim): on SQLite the
    transaction then starts with ``BEGIN IMMEDIATE`` and waits its turn instead of failing mid-way when
    another writer got there first. It changes nothing on PostgreSQL.
    """
    async with factory() as session:
        if write:
            await session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
