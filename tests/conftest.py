"""Shared test configuration and the database fixtures every package's tests use.

`MIZ_TEST_REQUIRE_SERVICES=1` (set by `.ci/run`) turns the "PostgreSQL/Redis/Chromium not available" skips into
failures, so CI can never pass by silently skipping the tests that need the machine's services.

Database tests run on SQLite and on PostgreSQL (the ``database`` fixture is parametrized). PostgreSQL comes from
``MIZ_TEST_POSTGRES_URL`` (default: the local server CI starts). Each test gets a fresh schema there, dropped
afterwards, so reruns and parallel runs never see each other's rows. When the server cannot be reached the
PostgreSQL half is skipped with the reason (failed in CI), and SQLite still runs.

Redis tests take the ``redis`` fixture, a client of ``MIZ_TEST_REDIS_URL`` (default: database 15 of the local
server), skipped with the reason (failed in CI) when it cannot be reached.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

import bot  # noqa: F401  (imports aiogram as Miz does, types built on first use: bot/aiogram_import.py)
import storage.models  # noqa: F401  (registers the tables)
from storage.db import create_engine, session_factory

REQUIRE_SERVICES = os.environ.get("MIZ_TEST_REQUIRE_SERVICES") == "1"

PG_URL = os.environ.get("MIZ_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

REDIS_URL = os.environ.get("MIZ_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def skip_or_fail(reason: str) -> None:
    """Skip on a developer's machine without the service; fail in CI, where the service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (CI requires it: MIZ_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


_probed: dict[str, str | None] = {}


async def _admin_connection(connect_timeout: float = 10) -> asyncpg.Connection:
    url = make_url(PG_URL)
    return await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
        timeout=connect_timeout,
    )


async def postgres_unreachable() -> str | None:
    """None when PostgreSQL answers, else why the PostgreSQL tests cannot run (asked once per run)."""
    if PG_URL not in _probed:
        try:
            connection = await _admin_connection(connect_timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            shown = make_url(PG_URL).render_as_string(hide_password=True)
            _probed[PG_URL] = (
                f"PostgreSQL not reachable at {shown} ({exc}); CI runs it (set MIZ_TEST_POSTGRES_URL)"
            )
        else:
            await connection.close()
            _probed[PG_URL] = None
    return _probed[PG_URL]


async def redis_unreachable() -> str | None:
    """None when Redis answers, else why the Redis tests cannot run (asked once per run)."""
    if REDIS_URL not in _probed:
        client = Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        try:
            await client.ping()
        except (OSError, RedisError) as exc:
            shown = make_url(REDIS_URL).render_as_string(hide_password=True)
            _probed[REDIS_URL] = (
                f"Redis not reachable at {shown} ({exc}); CI runs it (set MIZ_TEST_REDIS_URL)"
            )
        else:
            _probed[REDIS_URL] = None
        finally:
            await client.aclose()
    return _probed[REDIS_URL]


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """A client of the test Redis (database 15 by default). Tests share it: give each test's keys their own
    prefix."""
    reason = await redis_unreachable()
    if reason:
        skip_or_fail(reason)
    client = Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        await client.aclose()


@dataclass
class Database:
    """Where one test's database lives: the URL plus the engine options that isolate it."""

    backend: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)

    def engine(self, **kwargs: Any) -> AsyncEngine:
        return create_engine(self.url, **self.options, **kwargs)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An empty database (no tables) on each back-end."""
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'db' / 'miz.sqlite3'}")
        return
    reason = await postgres_unreachable()
    if reason:
        skip_or_fail(reason)
    schema = f"miz_test_{uuid.uuid4().hex[:12]}"
    admin = await _admin_connection()
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        yield Database("postgresql", PG_URL, {"connect_args": {"server_settings": {"search_path": schema}}})
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    """An engine on a database holding every table."""
    engine = database.engine()
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all, checkfirst=False)
    yield engine
    await engine.dispose()


@pytest.fixture
def factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The session factory on that database, as the bot gets it."""
    return session_factory(engine)


@pytest.fixture
def statements(engine: AsyncEngine) -> list[str]:
    """Every SQL statement the test's database is sent from now on, in order (to show which queries run)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    return sent
