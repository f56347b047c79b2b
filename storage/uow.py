"""The unit of work: one transaction around one use case, committed on success, rolled back on error.

Repositories never commit; this is where commits happen, so a request, its events and the outbox rows
that announce it are stored together or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import SQLITE_BEGIN_OPTION, SQLITE_BUSY_TIMEOUT_MS

__all__ = ["unit_of_work"]


@asynccontextmanager
async def unit_of_work(
    factory: async_sessionmaker[AsyncSession], *, write: bool = False
) -> AsyncIterator[AsyncSession]:
    """``async with unit_of_work(factory) as session:`` commits when the block ends, rolls back if it raises.

    ``write=True`` declares that the block will write after reading (a submit, a claim): on SQLite the
    transaction then starts with ``BEGIN IMMEDIATE`` and waits its turn instead of failing mid-way when
    another writer got there first. On SQLite every unit of work is treated so, since a unit of work exists
    to write (reads use a plain session) and SQLite's own busy wait is kept short (see ``storage.db``).
    It changes nothing on PostgreSQL.
    """
    bind = factory.kw.get("bind")
    lock = _writer_lock(bind) if isinstance(bind, AsyncEngine) else None
    async with contextlib.AsyncExitStack() as stack:
        if lock is not None:
            await stack.enter_async_context(lock)
        session = await stack.enter_async_context(factory())
        if write or lock is not None:
            await _begin_for_writing(session)
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


async def _begin_for_writing(session: AsyncSession) -> None:
    """``BEGIN IMMEDIATE`` on SQLite; while another process holds the write lock, retry with asyncio sleeps.

    SQLite's own busy wait is kept short because it blocks the event loop (see ``storage.db``); here the
    wait yields to other chats between tries, up to ``SQLITE_BUSY_TIMEOUT_MS`` in all.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            await session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            return
        except OperationalError as error:
            if "locked" not in str(error.orig) or time.monotonic() + delay > deadline:
                raise
        await session.close()
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.2)


_WRITER_LOCKS: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()


def _writer_lock(engine: AsyncEngine) -> asyncio.Lock | None:
    """One lock per SQLite engine, so this process's writers queue in memory instead of in SQLite's busy handler.

    SQLite allows one writer at a time; a writer that finds the file locked sleeps in steps of up to 100 ms
    (measured by ``make bench``: ~96 ms lost per contended write). Queuing on an ``asyncio.Lock`` hands the
    file over the moment the previous writer commits. PostgreSQL needs no such lock (None).
    """
    if engine.dialect.name != "sqlite":
        return None
    lock = _WRITER_LOCKS.get(engine)
    if lock is None:
        lock = _WRITER_LOCKS[engine] = asyncio.Lock()
    return lock
