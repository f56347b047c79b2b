"""Migrations: ``miz db upgrade`` on a fresh database, and the migrated schema equals the models."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect, select, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from bot.cli import main as miz
from desk.handling import withdraw
from storage.db import create_engine, session_factory
from storage.migrate import alembic_config, head_revision, upgrade, upgrade_async, upgrade_command
from storage.models import ServiceRequest
from storage.repositories import Inquiries
from storage.uow import unit_of_work
from tests.desk.test_handling import GROUPS
from tests.desk.test_inquiries import GAS, REGISTRY, send, working

TABLES = {
    "alembic_version",
    "certificate",
    "citizen",
    "conversation_state",
    "document",
    "due",
    "dues_import",
    "group_message",
    "inquiry",
    "outbox_message",
    "payment",
    "phone_verification",
    "registered_clerk",
    "request_event",
    "request_identifier",
    "service_request",
    "service_version",
    "settlement",
    "settlement_import",
    "survey_answer",
    "webhook_update",
}


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_the_migrated_schema_is_exactly_the_models(database) -> None:
    engine = database.engine()
    try:
        result = await upgrade_async(engine)
        assert (result.before, result.after) == (None, head_revision())
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        assert tables == TABLES
        again = await upgrade_async(engine)
        assert not again.changed
    finally:
        await engine.dispose()


async def test_a_sqlite_start_with_nothing_to_migrate_skips_the_foreign_key_check(tmp_path: Path) -> None:
    """The check reads every table (seconds on a county's database): only a migration can need it."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'miz.sqlite3'}")
    sent: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    try:
        assert (await upgrade_async(engine)).changed
        assert any("foreign_key_check" in statement for statement in sent)
        sent.clear()
        assert not (await upgrade_async(engine)).changed
    finally:
        await engine.dispose()
    assert sent
    assert not any("foreign_key_check" in statement for statement in sent)


def test_miz_db_upgrade_creates_a_fresh_sqlite_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIZ_LOCALE", "en")
    path = tmp_path / "var" / "miz.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"

    assert miz(["db", "upgrade", "--url", url]) == 0
    out = capsys.readouterr().out
    assert "upgraded" in out
    assert str(head_revision()) in out
    with sqlite3.connect(path) as connection:
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert names == TABLES

    assert miz(["db", "upgrade", "--url", url]) == 0
    assert "already up to date" in capsys.readouterr().out


def test_the_default_url_comes_from_the_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "configured.sqlite3"
    monkeypatch.setenv("MIZ_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("MIZ_LOCALE", "fa")
    assert upgrade_command(None) == 0
    assert "به‌روز شد" in capsys.readouterr().out
    assert path.exists()


def test_an_unreachable_database_gets_one_clean_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIZ_LOCALE", "en")
    assert upgrade_command("postgresql+asyncpg://miz:s3cret@127.0.0.1:1/miz") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Cannot reach the database" in captured.err
    assert "Traceback" not in captured.err
    assert "s3cret" not in captured.err


def test_a_malformed_url_gets_an_example(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIZ_LOCALE", "en")
    assert upgrade_command("sqlite:///no-async-driver.sqlite3") == 1
    err = capsys.readouterr().err
    assert "not valid" in err
    assert "sqlite+aiosqlite" in err


def test_downgrade_to_nothing_and_back(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'round.sqlite3'}"
    upgrade(url)
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", url)
    command.downgrade(config, "base")
    with sqlite3.connect(tmp_path / "round.sqlite3") as connection:
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert names == {"alembic_version"}
    assert upgrade(url).after == head_revision()


def test_a_payment_names_its_request_or_its_due_and_citizen(tmp_path: Path) -> None:
    """0007: a due paid in the Bale wallet has a payment with no request (issue #7)."""
    path = tmp_path / "payments.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as connection:
        not_null = {row[1]: row[3] for row in connection.execute("PRAGMA table_info(payment)")}
        keys = {(row[3], row[2], row[6]) for row in connection.execute("PRAGMA foreign_key_list(payment)")}
        indexes = {row[1] for row in connection.execute("PRAGMA index_list(payment)")}
    assert (not_null["request_id"], not_null["due_id"], not_null["citizen_id"]) == (0, 0, 0)
    assert keys >= {
        ("request_id", "service_request", "CASCADE"),
        ("due_id", "due", "SET NULL"),
        ("citizen_id", "citizen", "SET NULL"),
    }
    assert {"ix_payment_request_id", "ix_payment_due_id", "ix_payment_citizen_id"} <= indexes


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_requests_filed_before_0011_are_found_by_the_national_ids_they_answered(database) -> None:
    """Migration 0011 writes each older request's national ID answers into the index ``/find`` reads."""
    form = [
        {"id": "owner", "type": "national_id"},
        {"id": "agent", "type": "national_id"},
        {"id": "note", "type": "text"},
    ]
    answered = [
        {"owner": "0499370899", "agent": "0499370899", "note": "1234567890"},
        {"owner": "0499370899", "agent": "0013542419", "note": ""},
        {"note": "0499370899"},  # a national ID typed in a text answer is not one
        {"owner": "04993708", "agent": 499370899},  # malformed answers are left out
    ]
    engine = database.engine()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, "0010")
            await connection.execute(
                text(
                    "INSERT INTO citizen (id, platform, user_id, chat_id, locale, phone_verified, sms_enabled,"
                    " created_at) VALUES (1, 'bale', 5, 5, 'fa', false, false, CURRENT_TIMESTAMP)"
                )
            )
            for n, answers in enumerate(answered, start=1):
                await connection.execute(
                    text(
                        "INSERT INTO service_request (id, tracking_code, citizen_id, organization_id, service_id,"
                        " service_version, service_snapshot, answers, status, created_at, updated_at)"
                        " VALUES (:id, :code, 1, 'falavarjan', 's', '1', :snapshot, :answers, 'submitted',"
                        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {
                        "id": n,
                        "code": str(n),
                        "snapshot": json.dumps({"form": form}),
                        "answers": json.dumps(answers),
                    },
                )
        await upgrade_async(engine)
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT request_id, kind, value FROM request_identifier ORDER BY request_id, value")
            )
            found = [tuple(row) for row in rows]
    finally:
        await engine.dispose()
    assert found == [
        (1, "national_id", "0499370899"),
        (2, "national_id", "0013542419"),
        (2, "national_id", "0499370899"),
    ]


async def test_0018_stores_each_distinct_service_definition_once_and_keeps_every_request_whole(
    database,
) -> None:
    """Requests filed under the same definition share one ``service_version`` row; each reads back the definition it
    was filed under; their events and documents survive the move (no table is rebuilt under foreign keys)."""
    permit = {
        "id": "permit",
        "title": {"fa": "پروانه ساختمانی", "en": "Building permit"},
        "duration_days": 10,
    }
    # The same definition serialized with its keys in another order is the same definition.
    reordered = json.dumps(dict(reversed(list(permit.items()))), ensure_ascii=False)
    fee = {"id": "renovation_fee", "title": {"fa": "عوارض نوسازی"}, "duration_days": 3}
    snapshots = [json.dumps(permit, ensure_ascii=False), reordered, json.dumps(fee, ensure_ascii=False)]
    engine = database.engine()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, "0017")
            await connection.execute(
                text(
                    "INSERT INTO citizen (id, platform, user_id, chat_id, locale, phone_verified, sms_enabled,"
                    " created_at) VALUES (1, 'bale', 5, 5, 'fa', false, false, CURRENT_TIMESTAMP)"
                )
            )
            for n, snapshot in enumerate(snapshots, start=1):
                await connection.execute(
                    text(
                        "INSERT INTO service_request (id, tracking_code, citizen_id, organization_id, service_id,"
                        " service_version, service_snapshot, answers, status, created_at, updated_at)"
                        " VALUES (:id, :code, 1, 'falavarjan', :service, '1405.1', :snapshot, '{}', 'submitted',"
                        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": n, "code": str(n), "service": json.loads(snapshot)["id"], "snapshot": snapshot},
                )
                await connection.execute(
                    text(
                        "INSERT INTO request_event (request_id, at, actor_kind, to_status, public)"
                        " VALUES (:id, CURRENT_TIMESTAMP, 'citizen', 'submitted', true)"
                    ),
                    {"id": n},
                )
        await upgrade_async(engine)
        async with engine.connect() as connection:
            versions = (
                await connection.execute(text("SELECT id, service_id FROM service_version ORDER BY id"))
            ).all()
            links = (
                await connection.execute(
                    text("SELECT id, service_version_id FROM service_request ORDER BY id")
                )
            ).all()
            events = (await connection.execute(text("SELECT count(*) FROM request_event"))).scalar_one()
        async with session_factory(engine)() as session:
            requests = (await session.scalars(select(ServiceRequest).order_by(ServiceRequest.id))).all()  # type: ignore[arg-type]
    finally:
        await engine.dispose()
    assert [service for _, service in versions] == ["permit", "renovation_fee"]
    assert [version for _, version in links] == [versions[0][0], versions[0][0], versions[1][0]]
    assert events == 3, "every request keeps its history"
    assert [r.service_snapshot for r in requests] == [permit, permit, fee]


async def test_0022_cancels_the_open_inquiries_of_requests_finished_before_it(database) -> None:
    """Before 0022 a finished request kept its inquiries open, reminded and escalated for ever: 0022 closes them,
    and leaves those of a request still waiting alone."""
    engine = database.engine()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, "0021")
        factory = session_factory(engine)
        finished, waiting = await working(factory), await working(factory)
        [left] = await send(factory, finished, REGISTRY)
        [kept] = await send(factory, waiting, GAS)
        async with unit_of_work(factory, write=True) as session:
            await withdraw(session, finished, "telegram", 1001, groups=GROUPS)
        async with engine.begin() as connection:
            # As the code before 0022 left it: the withdrawn request's inquiry still open.
            await connection.execute(
                text("UPDATE inquiry SET state = 'need_more' WHERE id = :id"), {"id": left.id}
            )
        await upgrade_async(engine)
        async with factory() as session:
            states = {item.id: item.state for item in await Inquiries(session).of_request(finished)}
            still = {item.id: item.state for item in await Inquiries(session).of_request(waiting)}
    finally:
        await engine.dispose()
    assert states == {left.id: "cancelled"}
    assert still == {kept.id: "open"}
