"""The county admin's upkeep commands: ``miz backup``, ``miz restore`` and ``miz retention``.

Like the other admin commands (``bot.admin_cli``) every message is printed in English, then in Persian (from
``locales/*/ops.po``), and a mistake (a database that cannot be reached, an archive that does not check out, an
installation that is not empty) is a line or two and exit status 1, never a traceback.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from desk.errors import MizError
from desk.i18n import translator
from desk.persian import format_jalali_date, format_number

__all__ = ["backup", "restore", "retention"]


def _shown(value: Any, lang: str) -> Any:
    if callable(value):
        return value(lang)
    if isinstance(value, int) and not isinstance(value, bool):
        return format_number(value, lang)
    return value


def say(stream: TextIO, key: str, /, **params: Any) -> None:
    """Print the message ``key`` in English, then in Persian; integers in each language's digits, callables
    asked for their text in each language."""
    for lang in ("en", "fa"):
        print(translator(lang)(key, **{name: _shown(v, lang) for name, v in params.items()}), file=stream)


def say_error(stream: TextIO, error: MizError) -> None:
    """Print a ``MizError`` in English, then in Persian."""
    print(error.render("en"), file=stream)
    print(error.render("fa"), file=stream)


def one_line(exc: BaseException) -> str:
    """The first line of what went wrong (a driver's error without its traceback)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def run_reporting(err: TextIO, work: Any) -> tuple[bool, Any]:
    """``(True, asyncio.run(work))``, or ``(False, None)`` after printing why it could not be done."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    try:
        return True, asyncio.run(work)
    except MizError as error:
        say_error(err, error)
    except (ArgumentError, ValueError, DBAPIError, OSError, TimeoutError) as exc:
        say(err, "ops.db_error", error=one_line(exc))
    return False, None


def backup(
    out_dir: Path, *, url: str | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """``miz backup OUT/``: write a dated archive of the database and the files; the exit status."""
    from config.settings import Settings
    from storage.backup import write_backup

    out = out or sys.stdout
    err = err or sys.stderr
    settings = Settings()
    done, result = run_reporting(err, write_backup(url or settings.database_url, settings.files_dir, out_dir))
    if not done:
        return 1
    manifest = result.manifest
    say(
        out,
        "ops.backup.written",
        path=str(result.path),
        rows=sum(manifest["database"]["rows"].values()),
        tables=len(manifest["database"]["rows"]),
        migration=manifest["database"]["migration"] or "-",
        files=manifest["files"]["count"],
        megabytes=-(-manifest["files"]["bytes"] // (1024 * 1024)),
    )
    return 0


def restore(
    archive: Path, *, url: str | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """``miz restore ARCHIVE``: put a backup back into an empty installation; the exit status."""
    from config.settings import Settings
    from storage.backup import restore_backup
    from storage.migrate import head_revision

    out = out or sys.stdout
    err = err or sys.stderr
    settings = Settings()
    done, result = run_reporting(
        err, restore_backup(archive, url or settings.database_url, settings.files_dir)
    )
    if not done:
        return 1
    manifest = result.manifest
    migration = manifest["database"]["migration"] or "-"
    say(
        out,
        "ops.restore.done",
        path=str(archive),
        created=manifest["created_at"],
        rows=sum(manifest["database"]["rows"].values()),
        files=result.files,
        migration=migration,
    )
    if migration != head_revision():
        say(out, "ops.restore.upgrade_needed", migration=migration, head=head_revision() or "-")
    return 0


def _megabytes(size: int) -> int:
    return -(-size // (1024 * 1024))


async def _retention(url: str, files_dir: Path, months: int, *, dry_run: bool, max_bytes: int) -> Any:
    from desk.retention import apply_retention, plan_retention
    from storage.db import create_engine, session_factory
    from storage.files import DocumentStore
    from storage.migrate import upgrade_async

    if url.startswith("sqlite"):
        await upgrade_async(url)  # as `miz run` does at start-up
    engine = create_engine(url)
    try:
        factory = session_factory(engine)
        if dry_run:
            return await plan_retention(factory, months=months)
        return await apply_retention(factory, DocumentStore(files_dir, max_bytes), months=months)
    finally:
        await engine.dispose()


def retention(
    *,
    dry_run: bool = False,
    months: int | None = None,
    url: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """``miz retention [--dry-run]``: remove (or list) the documents of requests closed more than
    ``MIZ_RETENTION_MONTHS`` months ago; the exit status."""
    from config.settings import Settings

    out = out or sys.stdout
    err = err or sys.stderr
    settings = Settings()
    months = settings.retention_months if months is None else months
    if months <= 0:
        say(out, "ops.retention.off")
        return 0
    work = _retention(
        url or settings.database_url,
        settings.files_dir,
        months,
        dry_run=dry_run,
        max_bytes=settings.max_document_bytes,
    )
    done, summary = run_reporting(err, work)
    if not done:
        return 1
    cutoff: datetime = summary.cutoff
    say(
        out,
        "ops.retention.would_remove" if dry_run else "ops.retention.removed",
        documents=summary.documents,
        inquiry_files=summary.inquiry_files,
        requests=summary.requests,
        months=months,
        cutoff=lambda lang: cutoff.date().isoformat() if lang == "en" else format_jalali_date(cutoff, lang),
        files=summary.files,
        megabytes=_megabytes(summary.bytes),
    )
    return 0
