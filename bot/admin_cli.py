"""Admins' commands for money and certificates: ``miz dues import``, ``miz payments import``, ``miz certificate
issue`` and ``revoke``.

Every message is printed in English and in Persian (from ``locales/``), like ``miz catalog check``. A mistake of
the admin's (a bad row, an unknown organization, a file that cannot be read, a database that is not upgraded) is
one or a few clear lines and exit status 1, never a traceback. ``miz dues import`` checks the whole file before it
writes anything and then writes everything in one transaction, so a file is imported entirely or not at all.
``miz payments import`` refuses a report with an unreadable row the same way, and otherwise applies it in one
transaction, listing the rows it skipped (``desk.settlements``).

Large files show a progress line on stderr while rows are checked and written (plain ``\\r`` updates on a
terminal, a few lines otherwise): no progress-bar library is needed for two counters.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any, TextIO

from desk.errors import MizError
from desk.i18n import translator
from desk.persian import TEHRAN, format_jalali_datetime, format_number, to_persian_digits

__all__ = ["PROGRESS_MIN_ROWS", "certificate_issue", "certificate_revoke", "dues_import", "payments_import"]

PROGRESS_MIN_ROWS = 2000
"""Files with fewer rows are checked and written too fast for a progress line to help."""

Param = str | int | Callable[[str], str]
"""A message parameter: text as is, a number (grouped, in the language's digits), or a text per language."""


def _localize(value: Param, lang: str) -> str:
    if callable(value):
        return value(lang)
    if isinstance(value, int):
        return format_number(value, lang)
    return value


def _say(stream: TextIO, key: str, /, **params: Param) -> None:
    """Print the message ``key`` in English, then in Persian."""
    for lang in ("en", "fa"):
        print(translator(lang)(key, **{name: _localize(v, lang) for name, v in params.items()}), file=stream)


def _say_error(stream: TextIO, error: MizError) -> None:
    print(error.render("en"), file=stream)
    print(error.render("fa"), file=stream)


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@dataclass
class _Progress:
    """``label [#####-----] 52% 26,000/50,000`` on stderr for big files; silent for small ones."""

    stream: TextIO
    label_key: str
    width: int = 30
    _last: float = 0.0
    _step: int = -1

    def __call__(self, done: int, total: int) -> None:
        if total < PROGRESS_MIN_ROWS:
            return
        label = f"{translator('en')(self.label_key)} / {translator('fa')(self.label_key)}"
        filled = self.width * done // total
        line = (
            f"{label} [{'#' * filled}{'-' * (self.width - filled)}] {100 * done // total}% {done:,}/{total:,}"
        )
        finished = done >= total
        if self.stream.isatty():
            now = time.monotonic()
            if finished or now - self._last >= 0.1:
                self._last = now
                self.stream.write("\r" + line + ("\n" if finished else ""))
                self.stream.flush()
        else:
            step = 10 * done // total  # one line per tenth
            if step != self._step:
                self._step = step
                print(line, file=self.stream)


def _load_catalog(err: TextIO) -> Any:
    from catalog.loader import check_catalog
    from config.settings import Settings

    catalog, problems = check_catalog(Settings().catalog_dir)
    if catalog is None:
        _say(err, "dues.cli.catalog_broken", count=len(problems))
    return catalog


async def _run_in_transaction(url: str, work: Callable[[Any], Any]) -> Any:
    """Run ``await work(session)`` in one write transaction on ``url`` (a SQLite file is upgraded first)."""
    from storage.db import create_engine, session_factory
    from storage.migrate import upgrade_async
    from storage.uow import unit_of_work

    if url.startswith("sqlite"):
        await upgrade_async(url)  # as `miz run` does at start-up
    engine = create_engine(url)
    try:
        async with unit_of_work(session_factory(engine), write=True) as session:
            return await work(session)
    finally:
        await engine.dispose()


def _database(err: TextIO, url: str | None, work: Callable[[Any], Any]) -> tuple[bool, Any]:
    """``(True, result)``, or ``(False, None)`` after printing why the database could not be used."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from config.settings import Settings

    try:
        return True, asyncio.run(_run_in_transaction(url or Settings().database_url, work))
    except MizError as error:
        _say_error(err, error)
    except (ArgumentError, DBAPIError, OSError, TimeoutError) as exc:
        _say(err, "dues.cli.db_error", error=_one_line(exc))
    return False, None


def dues_import(
    org: str,
    kind: str,
    path: Path,
    *,
    imported_by: str | None = None,
    url: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """``miz dues import --org ORG --kind KIND FILE.csv``; returns the exit status."""
    from desk.dues import DueKind, import_dues, parse_dues_csv

    out = out or sys.stdout
    err = err or sys.stderr
    catalog = _load_catalog(err)
    if catalog is None:
        return 1
    billed = [o.id for o in catalog.organizations if o.billing is not None]
    if not catalog.has_organization(org):
        _say(err, "dues.cli.unknown_org", org=org, known=", ".join(billed))
        return 1
    billing = catalog.organization(org).billing
    if billing is None:
        _say(err, "dues.cli.no_billing", org=org)
        return 1
    try:
        data = path.read_bytes()
    except OSError as exc:
        _say(err, "dues.cli.unreadable", path=str(path), error=exc.strerror or type(exc).__name__)
        return 1
    due_kind = DueKind(kind)
    parsed = parse_dues_csv(data, progress=_Progress(err, "dues.cli.progress.check"), kind=due_kind)
    if not parsed.ok:
        for problem in parsed.problems:
            print(problem.render(), file=err)
        if parsed.bad_rows:
            _say(err, "dues.cli.rejected", bad=parsed.bad_rows, problems=len(parsed.problems))
        return 1

    async def work(session: Any) -> Any:
        return await import_dues(
            session,
            parsed.rows,
            organization_id=org,
            company_code=billing.company_code,
            kind=due_kind,
            file_name=path.name,
            sha256=hashlib.sha256(data).hexdigest(),
            imported_by=imported_by or _who(),
            progress=_Progress(err, "dues.cli.progress.write"),
        )

    done, summary = _database(err, url, work)
    if not done:
        return 1
    if summary.previous_import_at is not None:
        at: datetime = summary.previous_import_at
        _say(out, "dues.cli.same_file", at=lambda lang: format_jalali_datetime(at, lang))
    _say(
        out,
        "dues.cli.imported",
        imported=summary.imported,
        kind=lambda lang: translator(lang)(due_kind.label_key),
        org=lambda lang: catalog.organization(org).name.get(lang),
        periods=lambda lang: " / ".join(p.label(lang) for p in summary.periods),
        total=summary.total_rials,
        replaced=summary.replaced,
        skipped=summary.skipped_paid,
    )
    if billing.sample:
        _say(out, "dues.cli.sample_code", org=org, code=lambda lang: _digits(billing.company_code, lang))
    return 0


def payments_import(
    path: Path,
    *,
    imported_by: str | None = None,
    url: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """``miz payments import FILE.csv``: a bank's report of bills paid; returns the exit status.

    0 when the report was applied (its skipped rows listed on stdout), 1 when nothing was applied.
    """
    from desk.settlements import apply_settlements, parse_settlement_csv

    out = out or sys.stdout
    err = err or sys.stderr
    catalog = _load_catalog(err)
    if catalog is None:
        return 1
    try:
        data = path.read_bytes()
    except OSError as exc:
        _say(err, "dues.cli.unreadable", path=str(path), error=exc.strerror or type(exc).__name__)
        return 1
    parsed = parse_settlement_csv(data)
    if not parsed.ok:
        for problem in parsed.problems:
            print(problem.render(), file=err)
        if parsed.bad_rows:
            _say(err, "settlements.cli.rejected", bad=parsed.bad_rows, problems=len(parsed.problems))
        return 1

    def groups_of(org_id: str) -> dict[str, int]:
        return catalog.operator_groups(org_id) if catalog.has_organization(org_id) else {}

    async def work(session: Any) -> Any:
        return await apply_settlements(
            session,
            parsed.rows,
            file_name=path.name,
            sha256=hashlib.sha256(data).hexdigest(),
            imported_by=imported_by or _who(),
            groups_of=groups_of,
        )

    done, summary = _database(err, url, work)
    if not done:
        return 1
    if summary.previous_import_at is not None:
        at: datetime = summary.previous_import_at
        _say(out, "settlements.cli.same_file", at=lambda lang: format_jalali_datetime(at, lang))
    for problem in summary.listed:
        print(problem.render(), file=out)
    _say(
        out,
        "settlements.cli.applied",
        rows=len(parsed.rows),
        applied=summary.applied,
        dues=summary.count("due"),
        requests=summary.count("request"),
        total=summary.applied_rials,
        duplicates=summary.count("duplicate"),
        skipped=len(summary.listed) - summary.count("duplicate"),
    )
    return 0


def _digits(value: int, lang: str) -> str:
    return str(value) if lang == "en" else to_persian_digits(value)


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "admin"


def _today() -> date:
    return datetime.now(TEHRAN).date()


def certificate_issue(
    *,
    org: str,
    type: str,
    holder_name: str,
    holder_national_id: str,
    property: str,
    issued_on: str | None = None,
    valid_until: str | None = None,
    request: str | None = None,
    issued_by: str | None = None,
    url: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """``miz certificate issue ...``: store a certificate and print its verification code; the exit status."""
    from desk.certificates import CertificateType, format_certificate_code, issue_by_admin, issue_certificate
    from desk.tracking import normalize_tracking_code
    from desk.validators import jalali_date
    from storage.repositories import Requests

    out = out or sys.stdout
    err = err or sys.stderr
    catalog = _load_catalog(err)
    if catalog is None:
        return 1
    if not catalog.has_organization(org):
        _say(err, "certificate.cli.unknown_org", org=org)
        return 1
    try:
        issued = jalali_date(issued_on) if issued_on else _today()
        until = jalali_date(valid_until) if valid_until else None
        tracking_code = normalize_tracking_code(request) if request else None
    except MizError as error:
        _say_error(err, error)
        return 1

    fields: dict[str, Any] = {
        "organization_id": org,
        "type": type,
        "holder_name": holder_name,
        "holder_national_id": holder_national_id,
        "property": property,
        "issued_on": issued,
        "valid_until": until,
        "issued_by": issued_by or _who(),
    }

    async def work(session: Any) -> Any:
        if tracking_code is None:
            return await issue_certificate(session, **fields), False
        found = await Requests(session).by_tracking_code(tracking_code)
        if found is None:
            return None
        return await issue_by_admin(session, found, **fields)

    done, issued_and_told = _database(err, url, work)
    if not done:
        return 1
    if issued_and_told is None:
        _say(err, "certificate.cli.unknown_request", code=tracking_code or "")
        return 1
    certificate, told = issued_and_told
    code = format_certificate_code(certificate.verification_code)
    _say(
        out,
        "certificate.cli.issued",
        type=lambda lang: translator(lang)(CertificateType(certificate.type).label_key),
        org=lambda lang: catalog.organization(org).name.get(lang),
        code=code,
    )
    if told:
        _say(out, "certificate.cli.citizen_told")
    print(code, file=out)
    return 0


def certificate_revoke(
    code: str, *, reason: str, url: str | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """``miz certificate revoke CODE --reason TEXT``; the exit status."""
    from desk.certificates import format_certificate_code, revoke_certificate

    out = out or sys.stdout
    err = err or sys.stderr

    async def work(session: Any) -> Any:
        return await revoke_certificate(session, code, reason)

    done, certificate = _database(err, url, work)
    if not done:
        return 1
    _say(out, "certificate.cli.revoked", code=format_certificate_code(certificate.verification_code))
    return 0


def sms_costs(
    *, since: str | None = None, url: str | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """``miz sms costs [--since 1405/09/01]``: SMS sent and what they cost, per organization; the exit status."""
    from desk.validators import jalali_date
    from storage.repositories import Outbox

    out = out or sys.stdout
    err = err or sys.stderr
    start: datetime | None = None
    if since is not None:
        try:
            day = jalali_date(since)
        except MizError as error:
            _say_error(err, error)
            return 1
        start = datetime.combine(day, dt_time(0, 0), tzinfo=TEHRAN)

    async def work(session: Any) -> Any:
        return await Outbox(session).sms_costs(since=start)

    done, costs = _database(err, url, work)
    if not done:
        return 1
    catalog = _load_catalog(err)
    names = {org.id: org.name for org in catalog.organizations} if catalog is not None else {}
    if not costs:
        _say(out, "sms.cli.none")
        return 0

    def org_name(org_id: str) -> Callable[[str], str]:
        name = names.get(org_id)
        return lambda lang: name.get(lang) if name is not None else org_id

    for org_id, (count, parts, rials) in sorted(costs.items()):
        _say(out, "sms.cli.row", org=org_name(org_id), count=count, parts=parts, rials=rials)
    total = [sum(row[i] for row in costs.values()) for i in range(3)]
    _say(out, "sms.cli.total", count=total[0], parts=total[1], rials=total[2])
    return 0
