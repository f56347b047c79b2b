"""The hostile client's harness: the end-to-end world (Miz polling the emulator), on SQLite and on PostgreSQL.

``world`` is the end-to-end fixture (SQLite). ``pg_world`` is the same Miz on a fresh PostgreSQL database of its
own (created here and dropped afterwards); ``any_world`` is each of the two in turn, for the attacks that must hold
on both back-ends. The PostgreSQL worlds skip with the reason when the server cannot be reached (fail in CI).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, _admin_connection, postgres_unreachable, skip_or_fail
from tests.e2e.conftest import World, catalog_dir, platform, running_world, world

__all__ = ["World", "any_world", "catalog_dir", "pg_world", "platform", "world"]


@contextlib.asynccontextmanager
async def postgres_world(tmp_path: Path, catalog_dir: Path) -> AsyncIterator[World]:
    reason = await postgres_unreachable()
    if reason:
        skip_or_fail(reason)
    name = f"miz_sec_{uuid.uuid4().hex[:12]}"
    admin = await _admin_connection()
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        async with running_world(tmp_path, catalog_dir, url) as world:
            yield world
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def pg_world(tmp_path: Path, catalog_dir: Path) -> AsyncIterator[World]:
    async with postgres_world(tmp_path, catalog_dir) as world:
        yield world


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def any_world(
    request: pytest.FixtureRequest, tmp_path: Path, catalog_dir: Path
) -> AsyncIterator[World]:
    """The world on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        async with running_world(tmp_path, catalog_dir) as world:
            yield world
    else:
        async with postgres_world(tmp_path, catalog_dir) as world:
            yield world
