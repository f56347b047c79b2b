"""Alembic's environment for Miz: async engines, SQLModel's metadata, batch mode for SQLite.

Two ways in:
- ``storage.migrate`` (``miz db upgrade``, the bot at start-up) opens the connection itself and hands it
  over in ``config.attributes["connection"]``, so the upgrade runs inside its transaction;
- the ``alembic`` command line (``alembic revision --autogenerate -m ...``, ``alembic upgrade head``)
  reads the URL from ``-x url=...``, else ``sqlalchemy.url`` in ``alembic.ini``, else ``MIZ_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.columns import UTCDateTime
from storage.db import create_engine

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from config.settings import Settings

    return Settings().database_url


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write new revisions with SQLAlchemy's generic types, so they never import Miz's or SQLModel's code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )


def run_with_connection(connection: Connection) -> None:
    """Run the migrations on an open (sync-facing) connection, inside its transaction if it has one."""
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_new_engine() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_with_connection)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (``alembic upgrade head --sql``)."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    shared = config.attributes.get("connection")
    if shared is not None:
        run_with_connection(shared)
    else:
        if config.config_file_name is not None:
            fileConfig(config.config_file_name, disable_existing_loggers=False)
        asyncio.run(_run_with_new_engine())
