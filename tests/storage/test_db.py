"""The engine: SQLite settings, timezone-aware timestamps, the unit of work."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import create_engine, display_url, session_factory
from storage.models import Citizen, OutboxMessage, RequestEvent
from storage.repositories import Outbox, Requests
from storage.uow import unit_of_work


async def test_sqlite_file_gets_its_folder_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folder" / "miz.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert path.exists()
    finally:
        await engine.dispose()


async def test_a_writer_waits_for_another_process_without_stalling_the_bot(tmp_path: Path) -> None:
    """Another process (a command-line import, say) holds the write lock for 0.6 s: the bot's writer gets
    its turn when the lock is released, and meanwhile the event loop keeps serving other chats."""
    path = tmp_path / "miz.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")
        release = asyncio.get_running_loop().call_later(0.6, other.execute, "COMMIT")

        gaps: list[float] = []

        async def other_chats() -> None:
            last = time.perf_counter()
            while not writer.done():
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        async def write() -> float:
            started = time.perf_counter()
            async with unit_of_work(session_factory(engine), write=True) as session:
                await session.execute(text("INSERT INTO t VALUES (2)"))
            return time.perf_counter() - started

        writer = asyncio.create_task(write())
        await asyncio.gather(writer, other_chats())
        release.cancel()
        other.close()

        assert writer.result() >= 0.5, "the writer went ahead while the other process held the lock"
        assert max(gaps) < 0.25, f"the event loop was blocked for {max(gaps):.3f} s"
        async with engine.connect() as connection:
            rows = (await connection.exec_driver_sql("SELECT x FROM t ORDER BY x")).scalars().all()
        assert rows == [1, 2]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("url", ["sqlite:///x.db", "mysql+aiomysql://u@h/db", "postgresql://u@h/db"])
def test_urls_without_a_supported_async_driver_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        create_engine(url)


def test_display_url_hides_the_password() -> None:
    shown = display_url("postgresql+asyncpg://miz:s3cret@db.example/miz")
    assert "s3cret" not in shown
    assert "db.example" in shown


async def test_foreign_keys_are_enforced(factory: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(IntegrityError):
        async with unit_of_work(factory) as session:
            session.add(RequestEvent(request_id=999_999, actor_kind="system", to_status="submitted"))


async def test_timestamps_come_back_timezone_aware_in_utc(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen
) -> None:
    tehran = timezone(timedelta(hours=3, minutes=30))
    at = datetime(2026, 3, 20, 12, 0, tzinfo=tehran)  # noon in Tehran is 08:30 UTC
    async with unit_of_work(factory) as session:
        session.add(
            OutboxMessage(channel="chat", organization_id="falavarjan", dedupe_key="tz", next_attempt_at=at)
        )
    async with factory() as session:
        row = await Outbox(session).claim_due(1, now=at)
        assert row[0].next_attempt_at == at
        assert row[0].next_attempt_at.tzinfo == UTC
        assert row[0].next_attempt_at.hour == 8
        stored_citizen = await session.get(Citizen, citizen.id)
        assert stored_citizen is not None
        assert stored_citizen.created_at.tzinfo is not None
        assert abs(datetime.now(UTC) - stored_citizen.created_at) < timedelta(minutes=5)


async def test_a_naive_datetime_is_refused(factory: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        async with unit_of_work(factory) as session:
            session.add(
                OutboxMessage(
                    channel="chat",
                    organization_id="falavarjan",
                    dedupe_key="naive",
                    next_attempt_at=datetime(2026, 1, 1, 12, 0),
                )
            )


async def test_unit_of_work_commits_on_success_and_rolls_back_on_error(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    async with unit_of_work(factory) as session:
        kept, _ = await Requests(session).add(make_request(citizen.id, tracking_code="111"))

    async def failing_handler() -> None:
        async with unit_of_work(factory, write=True) as session:
            await Requests(session).add(make_request(citizen.id, tracking_code="222"))
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError, match="handler failed"):
        await failing_handler()

    async with factory() as session:
        assert await Requests(session).by_tracking_code("111") is not None
        assert await Requests(session).by_tracking_code("222") is None
        count = (await session.execute(text("SELECT count(*) FROM service_request"))).scalar_one()
        assert count == 1
    assert kept.id is not None


def test_session_factory_keeps_objects_readable_after_commit(tmp_path: Path) -> None:
    factory = session_factory(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}"))
    assert factory.kw["expire_on_commit"] is False


async def test_an_immediate_sqlite_engine_serializes_racing_first_contacts(tmp_path: Path) -> None:
    from sqlmodel import SQLModel

    from storage.repositories import Citizens

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'immediate.sqlite3'}", sqlite_begin="IMMEDIATE")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.create_all)
        factory = session_factory(engine)

        async def first_contact() -> int | None:
            async with unit_of_work(factory) as session:  # no write=True: the engine's default applies
                citizen = await Citizens(session).get_or_create("telegram", 77, chat_id=77)
                await asyncio.sleep(0.02)
                return citizen.id

        ids = await asyncio.gather(*(first_contact() for _ in range(4)))
        assert len(set(ids)) == 1
    finally:
        await engine.dispose()


def test_an_unknown_sqlite_begin_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="BEGIN mode"):
        create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}", sqlite_begin="LATER")
