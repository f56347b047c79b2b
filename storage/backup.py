"""Backups of an installation (``miz backup OUT/``) and their restoration (``miz restore ARCHIVE``).

An archive is one uncompressed tar file, ``miz-backup-<UTC time>.tar`` (the photos and PDFs inside are
compressed already, and ``pg_dump``'s custom format compresses itself), holding:

* ``database.sqlite3``: a SQLite database copied with SQLite's online backup API, which reads one consistent
  snapshot while the bot goes on writing; or ``database.pgdump``: ``pg_dump --format=custom``, which reads
  the whole database in one transaction;
* ``files/``: the document store, copied *after* the database. Stored files are named by their content and
  never change, and a file is written before the row that names it, so every document of the snapshot has
  its file in the archive (a file of a request filed during the backup may come along too, unreferenced);
* ``manifest.json``: when, what versions (Miz, Python, the database server, ``pg_dump``), the migration
  revision, the rows of every table (counted as the backup starts: a busy bot may add a few while it runs),
  the files and their bytes;
* ``SHA256SUMS``: the SHA-256 of every other member, in ``sha256sum``'s format.

A restore checks every checksum, in a scratch folder beside the files directory, before it touches anything,
and goes only into an *empty* installation (a database without tables, a files directory without files):
it never merges two histories, and it never overwrites a database someone forgot to name.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from desk.errors import MizError
from storage.db import create_engine, display_url

__all__ = [
    "ARCHIVE_FORMAT",
    "BackupError",
    "BackupResult",
    "RestoreResult",
    "read_manifest",
    "restore_backup",
    "write_backup",
]

ARCHIVE_FORMAT = 1
"""The archive layout's version, written in the manifest; a restore refuses one it does not know."""

MANIFEST = "manifest.json"
CHECKSUMS = "SHA256SUMS"
FILES = "files"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
_CHUNK = 1024 * 1024
_STORE_TEMPORARIES = (".incoming-",)  # DocumentStore's half-written files: never part of a backup


class BackupError(MizError):
    """A backup or restore that cannot go on; ``key`` names the message in ``locales/`` (``ops.po``)."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    """The archive written and its manifest."""

    path: Path
    manifest: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What a restore put back (the archive's manifest) and the code's newest migration, to compare."""

    manifest: dict[str, Any]
    files: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stored_files(root: Path) -> Iterator[Path]:
    """The document store's files, in a stable order, without half-written temporaries."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith(_STORE_TEMPORARIES):
            yield path


def _miz_version() -> str:
    try:
        return metadata.version("miz")
    except metadata.PackageNotFoundError:
        return "unknown"


def _libpq(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments of ``pg_dump``/``pg_restore`` for ``url``; the password goes in the environment,
    never on the command line (where ``ps`` shows it)."""
    args = ["--dbname", url.database or "postgres"]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run_tool(command: list[str], env: Mapping[str, str]) -> str:
    tool = command[0]
    if shutil.which(tool) is None:
        raise BackupError("ops.backup.tool_missing", tool=tool)
    result = subprocess.run(command, env=dict(env), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError("ops.backup.tool_failed", tool=tool, error=lines[-1] if lines else "?")
    return result.stdout


def _table_counts(connection: Connection) -> dict[str, int]:
    names = sorted(inspect(connection).get_table_names())
    return {
        name: int(connection.execute(select(func.count()).select_from(table(name))).scalar_one())
        for name in names
    }


def _revision(connection: Connection) -> str | None:
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def _describe(engine: AsyncEngine) -> tuple[dict[str, int], str | None, str]:
    """Rows per table, the migration revision, and the server's version."""
    async with engine.connect() as connection:
        counts = await connection.run_sync(_table_counts)
        revision = await connection.run_sync(_revision)
        if engine.dialect.name == "sqlite":
            server = f"SQLite {sqlite3.sqlite_version}"
        else:
            server = "PostgreSQL " + str(
                (await connection.exec_driver_sql("SHOW server_version")).scalar_one()
            )
    return counts, revision, server


def _sqlite_path(url: URL) -> Path:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError("ops.backup.sqlite_file_only", url=display_url(url))
    return Path(database).expanduser()


def _copy_sqlite(source: Path, target: Path) -> None:
    """SQLite's online backup: one consistent copy, even while another process writes."""
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def _dump_database(url: URL, scratch: Path) -> tuple[Path, str | None]:
    """The database as a file in ``scratch``, and the dump tool's version (None for SQLite)."""
    if url.get_backend_name() == "sqlite":
        source = _sqlite_path(url)
        if not source.is_file():
            raise BackupError("ops.backup.no_database", url=display_url(url))
        target = scratch / SQLITE_MEMBER
        _copy_sqlite(source, target)
        return target, None
    args, env = _libpq(url)
    target = scratch / PG_MEMBER
    _run_tool(
        ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(target), *args], env
    )
    version = _run_tool(["pg_dump", "--version"], env).strip()
    return target, version


def _add(archive: tarfile.TarFile, path: Path, name: str, sums: list[str]) -> None:
    sums.append(f"{_sha256(path)}  {name}")
    archive.add(path, arcname=name, recursive=False)


async def write_backup(
    url: str, files_dir: Path, out_dir: Path, *, now: datetime | None = None
) -> BackupResult:
    """Write ``out_dir/miz-backup-<UTC time>.tar`` of the database at ``url`` and the store ``files_dir``.

    The archive appears under its name only once complete (it is written as a ``.part`` and renamed), so a
    backup that fails half-way never leaves something that looks like a backup.
    """
    parsed = make_url(url)
    now = now or datetime.now(UTC)
    engine = create_engine(parsed, poolclass=NullPool)
    try:
        counts, revision, server = await _describe(engine)
    finally:
        await engine.dispose()
    if not counts:
        raise BackupError("ops.backup.empty_database", url=display_url(parsed))
    described = {"server": server, "migration": revision, "rows": counts}
    return await asyncio.to_thread(_write_archive, parsed, files_dir, out_dir, now, described)


def _write_archive(
    url: URL, files_dir: Path, out_dir: Path, now: datetime, described: dict[str, Any]
) -> BackupResult:
    """The archive's blocking part (dump, copy, hash), in a worker thread."""
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"miz-backup-{now:%Y%m%dT%H%M%SZ}.tar"
    target = out_dir / name
    partial = out_dir / f".{name}.part"
    with tempfile.TemporaryDirectory(prefix=".miz-backup-", dir=out_dir) as scratch_name:
        scratch = Path(scratch_name)
        dump, dump_version = _dump_database(url, scratch)
        sums: list[str] = []
        files = total = 0
        try:
            with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as archive:
                _add(archive, dump, dump.name, sums)
                for path in _stored_files(files_dir):
                    relative = path.relative_to(files_dir).as_posix()
                    _add(archive, path, f"{FILES}/{relative}", sums)
                    files += 1
                    total += path.stat().st_size
                manifest: dict[str, Any] = {
                    "format": ARCHIVE_FORMAT,
                    "created_at": now.isoformat(timespec="seconds"),
                    "versions": {
                        "miz": _miz_version(),
                        "python": platform.python_version(),
                        "database": described["server"],
                        "dump_tool": dump_version,
                    },
                    "database": {
                        "dialect": url.get_backend_name(),
                        "url": display_url(url),
                        "member": dump.name,
                        "migration": described["migration"],
                        "rows": described["rows"],
                    },
                    "files": {"count": files, "bytes": total},
                }
                manifest_path = scratch / MANIFEST
                manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
                _add(archive, manifest_path, MANIFEST, sums)
                sums_path = scratch / CHECKSUMS
                sums_path.write_text("\n".join(sums) + "\n", "utf-8")
                archive.add(sums_path, arcname=CHECKSUMS, recursive=False)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return BackupResult(path=target, manifest=manifest)


def read_manifest(archive_path: Path) -> dict[str, Any]:
    """The manifest of an archive, read without extracting anything else."""
    try:
        with tarfile.open(archive_path, "r") as archive:
            member = archive.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest: dict[str, Any] = json.loads(member.read())
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(
            "ops.restore.not_an_archive", path=str(archive_path), error=type(exc).__name__
        ) from None
    return manifest


def _verify(folder: Path) -> None:
    """Every member listed in ``SHA256SUMS`` is there with its checksum, and nothing else is."""
    sums_path = folder / CHECKSUMS
    if not sums_path.is_file():
        raise BackupError("ops.restore.no_checksums")
    expected: dict[str, str] = {}
    for line in sums_path.read_text("utf-8").splitlines():
        digest, _, name = line.partition("  ")
        if line and (len(digest) != 64 or not name):
            raise BackupError("ops.restore.no_checksums")
        if line:
            expected[name] = digest
    present = {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and path != sums_path
    }
    for name in sorted(present ^ set(expected)):
        raise BackupError("ops.restore.bad_checksum", member=name)
    for name, digest in expected.items():
        if _sha256(folder / name) != digest:
            raise BackupError("ops.restore.bad_checksum", member=name)


def _database_tables(connection: Connection) -> list[str]:
    return inspect(connection).get_table_names()


async def _tables(url: URL) -> list[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_database_tables)
    finally:
        await engine.dispose()


def _load_database(url: URL, dump: Path) -> None:
    if url.get_backend_name() == "sqlite":
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_sqlite(dump, target)
        return
    args, env = _libpq(url)
    command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    _run_tool([*command, *args, str(dump)], env)


def _extract(archive_path: Path, folder: Path) -> None:
    try:
        with tarfile.open(archive_path, "r") as archive:
            archive.extractall(folder, filter="data")  # no links, devices, absolute paths or ``..``
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(
            "ops.restore.not_an_archive", path=str(archive_path), error=type(exc).__name__
        ) from None


def _move_files(source: Path, files_dir: Path) -> int:
    moved = 0
    for path in _stored_files(source):
        target = files_dir / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        moved += 1
    return moved


def _put_back(archive_path: Path, url: URL, files_dir: Path, member: str) -> int:
    """The restore's blocking part, in a worker thread: extract, verify every checksum, then load the database and
    move the files into place; the number of files."""
    files_dir.mkdir(parents=True, exist_ok=True)
    # The scratch folder sits beside the files directory, so the files are renamed into place, not copied.
    with tempfile.TemporaryDirectory(prefix=".miz-restore-", dir=files_dir.parent) as scratch_name:
        scratch = Path(scratch_name)
        _extract(archive_path, scratch)
        _verify(scratch)
        _load_database(url, scratch / member)
        return _move_files(scratch / FILES, files_dir)


async def restore_backup(archive_path: Path, url: str, files_dir: Path) -> RestoreResult:
    """Put ``archive_path`` back into the empty database at ``url`` and the empty ``files_dir``.

    Refuses, before changing anything, an archive whose checksums do not match, of another database
    engine or an unknown format, and an installation that already holds tables or files.
    """
    parsed = make_url(url)
    manifest = read_manifest(archive_path)
    if manifest.get("format") != ARCHIVE_FORMAT:
        raise BackupError("ops.restore.unknown_format", format=str(manifest.get("format")))
    dialect = manifest["database"]["dialect"]
    if dialect != parsed.get_backend_name():
        raise BackupError("ops.restore.other_engine", archive=dialect, target=parsed.get_backend_name())
    if tables := await _tables(parsed):
        raise BackupError("ops.restore.database_not_empty", url=display_url(parsed), tables=len(tables))
    if any(_stored_files(files_dir)):
        raise BackupError("ops.restore.files_not_empty", path=str(files_dir))
    files = await asyncio.to_thread(
        _put_back, archive_path, parsed, files_dir, manifest["database"]["member"]
    )
    return RestoreResult(manifest=manifest, files=files)
