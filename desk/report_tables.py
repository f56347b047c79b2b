"""A report as tables for officials' files (``miz report``): organizations, services, clerks, ratings.

The same figures as ``desk.reports`` (one definition each), a column per figure, headers from the
``report.col.*`` locale texts. Cells are plain numbers (a rate as a percentage with one decimal), so a
spreadsheet can sort and sum them; a rate with too few cases is the "too few" text instead of a number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk.i18n import translator
from desk.persian import format_jalali_date
from desk.reports import Breakdown, Calendars, Figures, Period, Rate, figures
from storage.repositories.reports import ReportQueries

__all__ = ["COMMENTS_MAX", "Cell", "Table", "report_tables"]

Cell = int | float | str | None
COMMENTS_MAX: Final = 10_000
"""Most rated comments the ratings sheet lists (newest first)."""

_REQUEST_COLUMNS: Final = (
    "filed",
    "completed",
    "rejected",
    "withdrawn",
    "open_now",
    "overdue_now",
    "on_time",
    "on_time_cases",
    "on_time_rate",
    "handling_median",
    "handling_p90",
    "first_response_median",
    "satisfaction_average",
    "ratings",
    "score_1",
    "score_2",
    "score_3",
    "score_4",
    "score_5",
    "satisfied_rate",
)
_ORGANIZATION_COLUMNS: Final = (
    "complaints",
    "objections",
    "sms_sent",
    "sms_cost_rials",
    "certificates",
    "dues_paid",
    "dues_paid_rials",
)


@dataclass(frozen=True, slots=True)
class Table:
    """One sheet: its name, its column headers and its rows."""

    name: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def _rate(rate: Rate, too_few: str) -> Cell:
    if not rate.cases:
        return None
    return too_few if rate.value is None else round(rate.value * 100, 1)


def _cells(f: Figures, columns: Sequence[str], too_few: str) -> list[Cell]:
    average = f.satisfaction.average
    values: dict[str, Cell] = {
        "on_time": f.on_time.count,
        "on_time_cases": f.on_time.cases,
        "on_time_rate": _rate(f.on_time, too_few),
        "satisfaction_average": None if average is None else round(average, 2),
        "ratings": f.satisfaction.ratings,
        "satisfied_rate": _rate(f.satisfaction.satisfied, too_few),
        **{f"score_{n}": count for n, count in enumerate(f.satisfaction.distribution, start=1)},
    }
    return [values[c] if c in values else getattr(f, c) for c in columns]


async def report_tables(
    session: AsyncSession,
    period: Period,
    *,
    today: date,
    calendar_of: Calendars,
    organizations: Sequence[str],
    name_of: Callable[[str, str], str],
    own: bool,
    lang: str = "fa",
) -> list[Table]:
    """The four sheets of ``organizations`` over ``period``.

    ``name_of(organization id, key)`` names an organization (key ""), a service or a clerk. ``own`` is an
    organization's own export (anonymous complaints about it left out); otherwise the governorate's view.
    """
    t = translator(lang)
    too_few = t("report.col.too_few")

    def header(names: Sequence[str]) -> tuple[str, ...]:
        return tuple(t(f"report.col.{name}") for name in names)

    by_org = await figures(
        session,
        period,
        today=today,
        calendar_of=calendar_of,
        organizations=organizations,
        include_anonymous=not own,
    )
    org_rows = tuple(
        (
            name_of(org, ""),
            *_cells(by_org.get(org) or Figures(org), (*_REQUEST_COLUMNS, *_ORGANIZATION_COLUMNS), too_few),
        )
        for org in organizations
    )
    tables = [
        Table(
            t("report.sheet.organizations"),
            header(("organization", *_REQUEST_COLUMNS, *_ORGANIZATION_COLUMNS)),
            org_rows,
        )
    ]
    for breakdown, sheet, column in (
        (Breakdown.SERVICE, "services", "service"),
        (Breakdown.CLERK, "clerks", "clerk"),
    ):
        rows: list[tuple[Cell, ...]] = []
        for org in organizations:
            found = await figures(
                session,
                period,
                today=today,
                calendar_of=calendar_of,
                breakdown=breakdown,
                organizations=[org],
            )
            for key in sorted(found, key=lambda k, o=org: name_of(o, k)):  # type: ignore[misc]
                rows.append(
                    (name_of(org, ""), name_of(org, key), *_cells(found[key], _REQUEST_COLUMNS, too_few))
                )
        tables.append(
            Table(
                t(f"report.sheet.{sheet}"), header(("organization", column, *_REQUEST_COLUMNS)), tuple(rows)
            )
        )
    comments = await ReportQueries(session).comments(period.span(today), organizations, limit=COMMENTS_MAX)
    tables.append(
        Table(
            t("report.sheet.ratings"),
            header(("organization", "tracking_code", "score", "comment", "date")),
            tuple(
                (name_of(org, ""), code, score, text, format_jalali_date(at, lang))
                for org, code, score, text, at in comments
            ),
        )
    )
    return tables
