"""The async engine and session factory, for SQLite (the default) and PostgreSQL (scale-out).

SQLite gets WAL journal mode (readers never block the writer), foreign keys (off by default in SQLite)
and a busy timeout (a second writer waits instead of failing at once). pysqlite's own transaction
handling is switched off and replaced by an explicit ``BEGIN``, as SQLAlchemy's documentation advises,
so that reads are inside the transaction and SAVEPOINTs work (the idempotent submit relies on them).

A transaction that will write after reading can ask for ``BEGIN IMMEDIATE`` with the execution option
``SQLITE_BEGIN_OPTION`` (``storage.uow.unit_of_work(factory, write=True)`` does): it then waits for the
other writer up front instead of failing with "database is locked" when its snapshot went stale.
PostgreSQL ignores the option.

SQLite runs on the event loop's own thread. aiosqlite hands every call (cursor, execute, fetch, close,
commit) to a worker thread and back, about ten loop wake-ups per statement; measured with ``make bench`` and
a micro-benchmark, that hand-over cost more CPU than SQLite itself (a read 1.85 ms, a write 2.5 ms, against
1.07 and 1.75 ms in the loop). A statement on a local WAL file takes microseconds, so running it inline
blocks nothing. The one thing that could block is another *process* holding the write lock (a command-line
import): the busy timeout is therefore short (:data:`SQLITE_INLINE_BUSY_TIMEOUT_MS`) and
``unit_of_work`` retries ``BEGIN IMMEDIATE`` with asyncio sleeps in between, up to
:data:`SQLITE_BUSY_TIMEOUT_MS`, so the loop goes on serving other chats while it waits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

__all__ = [
    "SQLITE_BEGIN_OPTION",
    "SQLITE_BUSY_TIMEOUT_MS",
    "SQLITE_INLINE_BUSY_TIMEOUT_MS",
    "create_engine",
    "display_url",
    "session_factory",
]

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long an SQLite writer waits for another one before giving up."""

SQLITE_INLINE_BUSY_TIMEOUT_MS = 50
"""How long one SQLite call may block the event loop waiting for another process's lock."""

SQLITE_BEGIN_OPTION = "miz_sqlite_begin"
"""Execution option naming the SQLite ``BEGIN`` mode: ``"IMMEDIATE"`` takes the write lock at once."""

_SQLITE_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE", "EXCLUSIVE"})
_PG_CONNECT_TIMEOUT_S = 10
_SUPPORTED = frozenset({("sqlite", "aiosqlite"), ("postgresql", "asyncpg")})


def display_url(url: str | URL) -> str:
    """``url`` with its password hidden, safe to print or log."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy, not pysqlite, decide where transactions begin (see the module docstring).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_INLINE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class _RunNow:
    """Stands in for aiosqlite's queue to its worker thread: runs each call at once and settles its future."""

    def put_nowait(self, item: tuple[Any, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # handed to the awaiting coroutine, as aiosqlite's thread does
            if future is not None and not future.done():
                future.set_exception(error)
            return
        if future is not None and not future.done():
            future.set_result(result)


class _InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the caller's thread (see the module docstring).

    aiosqlite (0.20 to 0.22) sends every call through ``self._tx`` and starts its thread in ``__await__``;
    SQLAlchemy's adapter also puts its isolation-level change on ``_tx``. Replacing the queue and not
    starting the thread keeps aiosqlite's whole API, cursors included, with no thread behind it.
    """

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Any:
        return self._connect().__await__()


def _inline_creator(url: URL) -> Callable[[], Any]:
    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(url)
    kwargs["check_same_thread"] = False  # the pool may close a connection from a garbage collector's thread

    def connect() -> _InlineConnection:
        return _InlineConnection(lambda: sqlite3.connect(*args, **kwargs))  # type: ignore[call-overload]

    return connect


def _check_begin_mode(mode: str) -> str:
    mode = mode.upper()
    if mode not in _SQLITE_BEGIN_MODES:
        raise ValueError(f"the SQLite BEGIN mode must be one of {sorted(_SQLITE_BEGIN_MODES)}, not {mode!r}")
    return mode


def _sqlite_begin_listener(default_mode: str) -> Callable[[Connection], None]:
    def on_begin(connection: Connection) -> None:
        mode = _check_begin_mode(
            str(connection.get_execution_options().get(SQLITE_BEGIN_OPTION, default_mode))
        )
        connection.exec_driver_sql(f"BEGIN {mode}")

    return on_begin


def create_engine(url: str | URL, *, sqlite_begin: str = "DEFERRED", **kwargs: Any) -> AsyncEngine:
    """An async engine for ``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://...``.

    For a SQLite file the parent folder is created, so a fresh checkout runs without set-up.
    ``sqlite_begin="IMMEDIATE"`` makes every SQLite transaction take the write lock when it starts
    (simplest when nearly every transaction writes; see the module docstring); PostgreSQL ignores it.
    Extra keyword arguments go to SQLAlchemy's ``create_async_engine`` (for instance ``connect_args``).
    """
    parsed = make_url(url)
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if (backend, driver) not in _SUPPORTED:
        raise ValueError(
            f"unsupported database URL {display_url(parsed)}: use sqlite+aiosqlite:///... or postgresql+asyncpg://..."
        )
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, async_creator=_inline_creator(parsed), **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_listener(_check_begin_mode(sqlite_begin)))
        return engine
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("timeout", _PG_CONNECT_TIMEOUT_S)
    return create_async_engine(parsed, connect_args=connect_args, pool_pre_ping=True, **kwargs)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions bound to ``engine``; objects stay readable after commit (``expire_on_commit=False``)."""
    return async_sessionmaker(engine, expire_on_commit=False)
