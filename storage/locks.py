"""Locks a process holds for as long as it lives, kept where every worker of one deployment meets: its database.

Miz takes them for what only one process may do at a time: poll one bot token (``getUpdates`` from two processes
makes the messenger answer 409 Conflict), and send one platform's outbox when the send limits are not shared
through Redis. :func:`try_lock` answers at once, the lock or None when another process holds it.

- PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a connection kept open while the lock is held,
  outside any transaction. Its key is a hash of the lock's name and the schema, so two deployments (or two test
  schemas) in one database never meet. It ends with the session: a process that dies, even by SIGKILL, lets go
  as soon as the server sees the connection close.
- SQLite: every process of one database file runs on the machine that has the file, so the lock is an exclusive
  ``flock`` on a file next to it (``<database>.<hash of the name>.lock``). The kernel lets go when the process
  dies. An in-memory database belongs to one process: its locks are always granted.

A lock's name is free text (the caller hashes a token before naming a lock after it); only its hash is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["HeldLock", "try_lock"]

try:
    import fcntl
except ImportError:  # pragma: no cover (not POSIX: SQLite locks are always granted, one process must run)
    fcntl = None  # type: ignore[assignment]

_PG_KEY = "('x' || substr(md5(current_schema() || ':' || :name), 1, 16))::bit(64)::bigint"
"""The advisory lock's 64-bit key: the name hashed with the schema (PostgreSQL computes it, so it matches
whatever the connection's ``search_path`` is)."""


_ALIVE_SECONDS = 5.0
"""How long :meth:`HeldLock.held` waits for the lock's connection to answer."""


class HeldLock(Protocol):
    """A lock this process holds; :meth:`release` lets go (dying does too)."""

    name: str

    async def held(self) -> bool:
        """Whether this process still holds it: False once the database connection holding it is gone (the server
        then let go, and another process may have taken it)."""
        ...

    async def release(self) -> None: ...


async def try_lock(engine: AsyncEngine, name: str) -> HeldLock | None:
    """Take the lock ``name`` of ``engine``'s database if no other process holds it; None if one does."""
    if engine.dialect.name == "postgresql":
        return await _AdvisoryLock.take(engine, name)
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return _PrivateLock(name)
    return _FileLock.take(Path(database), name)


def _digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:16]


class _PrivateLock:
    """The lock of an in-memory database, which no other process can open."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def held(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class _FileLock:
    """An exclusive ``flock`` on a file next to the SQLite database."""

    def __init__(self, name: str, fd: int) -> None:
        self.name = name
        self._fd: int | None = fd

    @classmethod
    def take(cls, database: Path, name: str) -> _FileLock | None:
        if fcntl is None:  # pragma: no cover
            return cls(name, -1)
        path = database.with_name(f"{database.name}.{_digest(name)}.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return cls(name, fd)

    async def held(self) -> bool:
        return self._fd is not None  # the kernel keeps an flock for as long as the descriptor is open

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None and fd >= 0:
            os.close(fd)  # closing the only descriptor of the open file ends its flock


class _AdvisoryLock:
    """A PostgreSQL session advisory lock on a connection of its own, kept open while held."""

    def __init__(self, name: str, connection: AsyncConnection) -> None:
        self.name = name
        self._connection: AsyncConnection | None = connection

    @classmethod
    async def take(cls, engine: AsyncEngine, name: str) -> _AdvisoryLock | None:
        connection = await engine.connect()
        try:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            taken = await connection.scalar(text(f"SELECT pg_try_advisory_lock({_PG_KEY})"), {"name": name})
        except BaseException:
            await connection.close()
            raise
        if not taken:
            await connection.close()
            return None
        return cls(name, connection)

    async def held(self) -> bool:
        connection = self._connection
        if connection is None:
            return False
        try:
            async with asyncio.timeout(_ALIVE_SECONDS):
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False  # the session (and with it the lock) may be gone
        return True

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.execute(text(f"SELECT pg_advisory_unlock({_PG_KEY})"), {"name": self.name})
        except Exception:
            # Never hand the pool a connection that may still hold the lock: end its session instead.
            with contextlib.suppress(Exception):
                await connection.invalidate()
        await connection.close()
