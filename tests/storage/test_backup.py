"""``miz backup`` and ``miz restore``: a database with requests and documents goes out and comes back whole,
and a restore never lands on a damaged archive or an installation already in use."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from PIL import Image
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bot.cli import main as miz
from storage.db import create_engine, session_factory
from storage.files import DocumentStore
from storage.migrate import head_revision, upgrade_async
from storage.models import Citizen, Document, RequestEvent, ServiceRequest
from storage.repositories import ServiceVersions
from storage.uow import unit_of_work
from tests.conftest import PG_URL, postgres_unreachable, skip_or_fail


@dataclass
class Installation:
    """Where one Miz keeps its data: the database URL and the files directory."""

    url: str
    files: Path

    def use(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("MIZ_DATABASE_URL", self.url)
        monkeypatch.setenv("MIZ_FILES_DIR", str(self.files))


def photo() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((40, 30), 50).convert("RGB").save(out, "JPEG")
    return out.getvalue()


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


async def fill(place: Installation) -> dict[str, bytes]:
    """A migrated database with a citizen, two requests, their documents and events; the files by path."""
    await upgrade_async(place.url)
    store = DocumentStore(place.files, max_bytes=1024 * 1024)
    stored = [store.store(photo()), store.store(PDF)]
    engine = create_engine(place.url, poolclass=NullPool)
    try:
        async with unit_of_work(session_factory(engine), write=True) as session:
            citizen = Citizen(platform="bale", user_id=7001, chat_id=7001, first_name="مریم")
            session.add(citizen)
            await session.flush()
            for number, file in enumerate(stored):
                request = ServiceRequest(
                    tracking_code=f"10000000{number}",
                    citizen_id=citizen.id,
                    organization_id="falavarjan",
                    service_id="renovation_fee",
                    service_version="1405.1",
                    definition=await ServiceVersions(session).get_or_create(
                        "renovation_fee", "1405.1", {"title": {"fa": "عوارض نوسازی"}}
                    ),
                    answers={"national_id": "0499370899"},
                    status="submitted",
                )
                session.add(request)
                await session.flush()
                session.add(RequestEvent(request_id=request.id, actor_kind="citizen", to_status="submitted"))
                session.add(
                    Document(
                        request_id=request.id,
                        slot="deed",
                        platform="bale",
                        platform_file_id=f"file-{number}",
                        file_unique_id=f"unique-{number}",
                        **{f: getattr(file, f) for f in ("stored_path", "sha256", "size", "mime", "kind")},
                    )
                )
    finally:
        await engine.dispose()
    return {file.stored_path: store.read(file.stored_path) for file in stored}


async def dump(url: str) -> list[tuple[object, ...]]:
    """What a person would notice of a database: its requests, their documents and events."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            sql = (
                "SELECT r.tracking_code, r.status, r.answers, d.stored_path, d.sha256, e.to_status "
                "FROM service_request r JOIN document d ON d.request_id = r.id "
                "JOIN request_event e ON e.request_id = r.id ORDER BY r.tracking_code"
            )
            return [tuple(row) for row in (await connection.execute(text(sql))).all()]
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def pair(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Installation, Installation]]:
    """Two installations on one engine: ``source`` (to fill) and an empty ``target``."""
    if request.param == "sqlite":
        yield (
            Installation(f"sqlite+aiosqlite:///{tmp_path / 'a' / 'miz.sqlite3'}", tmp_path / "a" / "files"),
            Installation(f"sqlite+aiosqlite:///{tmp_path / 'b' / 'miz.sqlite3'}", tmp_path / "b" / "files"),
        )
        return
    reason = await postgres_unreachable()
    if reason:
        skip_or_fail(reason)
    base = make_url(PG_URL)
    names = [f"miz_backup_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = await asyncpg.connect(
        host=base.host,
        port=base.port or 5432,
        user=base.username,
        password=base.password,
        database=base.database,
    )
    try:
        for name in names:
            await admin.execute(f'CREATE DATABASE "{name}"')
        yield tuple(  # type: ignore[misc]
            Installation(
                base.set(database=name).render_as_string(hide_password=False), tmp_path / name / "files"
            )
            for name in names
        )
    finally:
        for name in names:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def archive_in(folder: Path) -> Path:
    (archive,) = folder.glob("miz-backup-*.tar")
    return archive


def test_a_backup_restores_requests_documents_and_files_into_an_empty_installation(
    pair: tuple[Installation, Installation],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, target = pair
    files = asyncio.run(fill(source))
    before = asyncio.run(dump(source.url))
    source.use(monkeypatch)
    assert miz(["backup", str(tmp_path / "backups")]) == 0
    out = capsys.readouterr().out
    archive = archive_in(tmp_path / "backups")
    assert f"backup written: {archive}" in out
    assert "documents: 2 files" in out
    assert "پشتیبان نوشته شد" in out
    assert "۲ پرونده" in out

    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        listed = tar.extractfile("SHA256SUMS").read().decode().splitlines()  # type: ignore[union-attr]
    assert manifest["database"]["migration"] == head_revision()
    assert manifest["database"]["rows"]["service_request"] == 2
    assert manifest["database"]["rows"]["document"] == 2
    assert manifest["files"]["count"] == 2
    assert manifest["versions"]["miz"]
    assert manifest["versions"]["database"]
    assert {line.split("  ")[1] for line in listed} >= {"manifest.json", *(f"files/{p}" for p in files)}

    target.use(monkeypatch)
    assert miz(["restore", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "2 files" in out
    assert "بازگردانده شد" in out
    assert asyncio.run(dump(target.url)) == before
    assert {p: DocumentStore(target.files, 1024 * 1024).read(p) for p in files} == files

    # Restoring again finds the installation in use: refused, and it stays as it was.
    assert miz(["restore", str(archive)]) == 1
    err = capsys.readouterr().err
    assert "a backup goes only into an empty database, so nothing was restored" in err
    assert "پشتیبان فقط در پایگاه دادهٔ خالی بازگردانده می‌شود" in err
    assert "Traceback" not in err
    assert asyncio.run(dump(target.url)) == before


@pytest.fixture
def sqlite_pair(tmp_path: Path) -> tuple[Installation, Installation]:
    return (
        Installation(f"sqlite+aiosqlite:///{tmp_path / 'a' / 'miz.sqlite3'}", tmp_path / "a" / "files"),
        Installation(f"sqlite+aiosqlite:///{tmp_path / 'b' / 'miz.sqlite3'}", tmp_path / "b" / "files"),
    )


def rewrite_member(archive: Path, name: str, data: bytes) -> None:
    """The same archive with member ``name`` replaced by ``data`` (someone or a disk changed it)."""
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers() if m.isfile()]  # type: ignore[union-attr]
    with tarfile.open(archive, "w") as tar:
        for member, content in members:
            if member.name == name:
                content = data
                member.size = len(data)
            tar.addfile(member, io.BytesIO(content))


def test_a_damaged_archive_is_refused_before_anything_is_restored(
    sqlite_pair: tuple[Installation, Installation],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, target = sqlite_pair
    files = asyncio.run(fill(source))
    source.use(monkeypatch)
    assert miz(["backup", str(tmp_path / "backups")]) == 0
    archive = archive_in(tmp_path / "backups")
    damaged = f"files/{sorted(files)[0]}"
    rewrite_member(archive, damaged, b"%PDF-1.7 not what was backed up")
    capsys.readouterr()

    target.use(monkeypatch)
    assert miz(["restore", str(archive)]) == 1
    err = capsys.readouterr().err
    assert f"the backup is damaged: {damaged} does not match its checksum" in err
    assert "پشتیبان آسیب دیده است" in err
    assert not any(p.is_file() for p in target.files.rglob("*"))
    assert asyncio.run(sqlite_tables(target.url)) == []


async def sqlite_tables(url: str) -> list[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


def test_a_backup_of_a_database_without_tables_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    Installation(f"sqlite+aiosqlite:///{tmp_path / 'none.sqlite3'}", tmp_path / "files").use(monkeypatch)
    assert miz(["backup", str(tmp_path / "backups")]) == 1
    err = capsys.readouterr().err
    assert "has no tables: nothing to back up" in err
    assert not list(tmp_path.glob("backups/*"))
