"""``miz report --from 1405/09/01 --to 1405/09/30 [--org ID] --format xlsx|csv|md [--out FILE]``.

Writes a report's figures (``desk.report_tables``) for officials: an ``.xlsx`` with a right-to-left sheet per view
(organizations, services, clerks, ratings with comments) and Persian headers; a CSV of one view (``--view``,
organizations by default) in UTF-8 with a byte-order mark, so Excel opens the Persian correctly; or Markdown with
every view. Without ``--org`` it is the governorate's report of every organization (anonymous complaints counted
against the organization they accuse); with it, that organization's own. Messages are printed in English and in
Persian, like the other admin commands; a mistake is a clear line and exit status 1.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TextIO

from desk.errors import MizError
from desk.report_tables import Cell, Table, report_tables

__all__ = ["FORMATS", "VIEWS", "report_export", "write_csv", "write_markdown", "write_xlsx"]

FORMATS: Final = ("xlsx", "csv", "md")
VIEWS: Final = ("organizations", "services", "clerks", "ratings")


def write_xlsx(tables: Sequence[Table], path: Path) -> None:
    """One right-to-left sheet per table, its headers bold and frozen, columns wide enough to read."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.name[:31])
        sheet.sheet_view.rightToLeft = True
        sheet.append(list(table.headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(list(row))
        sheet.freeze_panes = "A2"
        for n, header in enumerate(table.headers, start=1):
            widest = max([len(str(header)), *(len(str(row[n - 1] or "")) for row in table.rows)])
            sheet.column_dimensions[sheet.cell(1, n).column_letter].width = min(60, widest + 2)
    book.save(path)


def write_csv(table: Table, path: Path) -> None:
    """The table as CSV in UTF-8 with a byte-order mark (how Excel recognizes UTF-8)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(table.headers)
        writer.writerows(table.rows)


def _md_cell(value: Cell) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def write_markdown(tables: Sequence[Table], title: str, path: Path) -> None:
    """A heading, then each table under its name."""
    out = io.StringIO()
    out.write(f"# {title}\n")
    for table in tables:
        out.write(f"\n## {table.name}\n\n")
        out.write("| " + " | ".join(_md_cell(h) for h in table.headers) + " |\n")
        out.write("|" + "---|" * len(table.headers) + "\n")
        for row in table.rows:
            out.write("| " + " | ".join(_md_cell(c) for c in row) + " |\n")
    path.write_text(out.getvalue(), encoding="utf-8")


def report_export(
    *,
    first: str,
    last: str,
    org: str | None,
    fmt: str,
    view: str = "organizations",
    out_path: str | None = None,
    url: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Write the report file; the exit status."""
    from bot.admin_cli import _database, _load_catalog, _say, _say_error
    from bot.report_names import RowNames, catalog_clerk
    from desk.persian import TEHRAN, format_jalali_date
    from desk.report_text import period_text
    from desk.reports import parse_period

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        period = parse_period(first, last)
    except MizError as error:
        _say_error(err, error)
        return 1
    catalog = _load_catalog(err)
    if catalog is None:
        return 1
    if org is not None and not catalog.has_organization(org):
        _say(err, "report.cli.unknown_org", org=org)
        return 1
    organizations = [org] if org is not None else [o.id for o in catalog.organizations]

    find_clerk = catalog_clerk(catalog)

    def name_of(org_id: str, key: str) -> str:
        return RowNames(catalog, org_id, "fa", find_clerk)(key or org_id)

    async def work(session: Any) -> list[Table]:
        return await report_tables(
            session,
            period,
            today=datetime.now(TEHRAN).date(),
            calendar_of=catalog.calendar_for,
            organizations=organizations,
            name_of=name_of,
            own=org is not None,
        )

    done, tables = _database(err, url, work)
    if not done:
        return 1
    path = Path(out_path or f"report-{period.first.isoformat()}-{period.last.isoformat()}.{fmt}")
    if fmt == "xlsx":
        write_xlsx(tables, path)
    elif fmt == "csv":
        write_csv(tables[VIEWS.index(view)], path)
    else:
        write_markdown(tables, period_text(period), path)
    _say(
        out,
        "report.cli.written",
        first=lambda lang: format_jalali_date(period.first, lang),
        last=lambda lang: format_jalali_date(period.last, lang),
        path=str(path),
    )
    return 0
