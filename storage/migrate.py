"""Bring a database to the newest schema: ``miz db upgrade``, or the bot at start-up.

The Alembic scripts ship inside the package (``storage/migrations``), so this works from an installed
wheel without ``alembic.ini``. The upgrade runs in one transaction on an engine made by
``storage.db.create_engine``. On SQLite, foreign keys are switched off while it runs, because batch
migrations rebuild tables and a rebuilt parent table must not cascade-delete its children; the
foreign keys are checked before the transaction commits, when a migration ran (a start with nothing to apply
reads no table).
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, pool
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry

from storage.db import create_engine, display_url

__all__ = [
    "MIGRATIONS_DIR",
    "UpgradeResult",
    "alembic_config",
    "current_revision",
    "head_revision",
    "upgrade",
    "upgrade_async",
    "upgrade_command",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""The Alembic script folder inside the package."""


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    """What an upgrade did: the revision before (None for an empty database) and after."""

    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        """Whether any migration ran."""
        return self.before != self.after


def alembic_config() -> Config:
    """An Alembic ``Config`` pointing at the packaged migrations (no ``alembic.ini`` needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision ``engine``'s database is at (None: never migrated); compare with :func:`head_revision`."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


def _upgrade_on(connection: Connection) -> UpgradeResult:
    before = _current(connection)
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    after = _current(connection)
    if after != before and connection.dialect.name == "sqlite":
        # Only a migration can leave dangling keys; the check reads every table (seconds on a big database).
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left rows with dangling foreign keys: {broken[:5]}")
    return UpgradeResult(before=before, after=after)


def _sqlite_foreign_keys_off(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=OFF")
    finally:
        cursor.close()


async def _upgrade_engine(engine: AsyncEngine) -> UpgradeResult:
    async with engine.begin() as connection:
        return await connection.run_sync(_upgrade_on)


async def upgrade_async(target: str | AsyncEngine) -> UpgradeResult:
    """Apply every pending migration to ``target`` (a database URL or an engine); safe to call every start.

    Usable from a running event loop (the bot's start-up). Given a URL, a short-lived engine is made and
    disposed of; given an engine, the caller keeps it.
    """
    if isinstance(target, AsyncEngine):
        return await _upgrade_engine(target)
    engine = create_engine(target, poolclass=pool.NullPool)
    if engine.dialect.name == "sqlite":
        # Registered after create_engine's own listener, so it runs last and wins.
        event.listen(engine.sync_engine, "connect", _sqlite_foreign_keys_off)
    try:
        return await _upgrade_engine(engine)
    finally:
        await engine.dispose()


def upgrade(url: str) -> UpgradeResult:
    """``upgrade_async`` for code without an event loop (scripts, the command line)."""
    return asyncio.run(upgrade_async(url))


def upgrade_command(url: str | None) -> int:
    """``miz db upgrade [--url URL]``: upgrade, say what happened, return the exit status.

    The URL defaults to the configured ``MIZ_DATABASE_URL``. An unreachable database or a bad URL is
    reported in one line on stderr, without a traceback, and gives exit status 1.
    """
    from config.settings import Settings
    from desk.i18n import translator

    settings = Settings()
    t = translator(settings.locale)
    url = url or settings.database_url
    try:
        shown = display_url(url)
        result = upgrade(url)
    except (ArgumentError, ValueError) as exc:
        print(t("storage.db.bad_url", url=url, error=_one_line(exc)), file=sys.stderr)
        return 1
    except (DBAPIError, OSError, TimeoutError) as exc:
        print(t("storage.db.unreachable", url=shown, error=_one_line(exc)), file=sys.stderr)
        return 1
    if result.changed:
        print(t("storage.db.upgraded", url=shown, before=result.before or "-", after=result.after or "-"))
    else:
        print(t("storage.db.up_to_date", url=shown, revision=result.after or "-"))
    return 0


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
