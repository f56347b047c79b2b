"""Reports that arrive by themselves: last month's on the first working day of a Jalali month, last week's on
the first working day of a week (Saturday to Friday), to every operator group.

The governorate's groups get every organization side by side; each organization's groups get its own figures.
The weekly report can be switched off (``MIZ_WEEKLY_REPORTS``). "First working day" is read in each group's own
organization's calendar, so a municipality closed on the 1st gets its month's report on the day it opens.

Rows are ``report`` notifications of the outbox: the payload names the report (its period, organization, and
whose view), and the bot's sender draws the chart and the figures when it sends them. The dedupe key names the
period, not the day (``report:<month|week>:<org>:<first day>:<platform>``), so a report is queued once per
group however often the day's run is repeated, by however many workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk.calendar import WorkCalendar
from desk.deadlines import OrgGroups
from desk.handling import GROUP_LANG
from desk.notifications import enqueue_chat
from desk.reports import Period

__all__ = [
    "REPORT_PAYLOAD",
    "DueReport",
    "due_reports",
    "queue_report_digests",
    "report_key",
    "report_payload",
]

REPORT_PAYLOAD: Final = "report"
"""The outbox payload type of an automatic report."""


@dataclass(frozen=True, slots=True)
class DueReport:
    """A report due today in ``org``'s groups: ``kind`` ``month`` or ``week``, over ``period``."""

    kind: str
    period: Period


def due_reports(today: date, calendar: WorkCalendar, *, weekly: bool) -> list[DueReport]:
    """The reports due on ``today`` in an organization with ``calendar``: last month's on the month's first
    working day, last week's on the week's first working day (when ``weekly``)."""
    due: list[DueReport] = []
    if calendar.next_working_day(Period.jalali_month(today).first) == today:
        due.append(DueReport("month", Period.jalali_month(today, months_back=1)))
    if weekly and calendar.next_working_day(Period.week(today).first) == today:
        due.append(DueReport("week", Period.week(today, weeks_back=1)))
    return due


def report_key(kind: str, organization_id: str, period: Period, platform: str) -> str:
    """The dedupe key of ``kind``'s report of ``period`` in ``organization_id``'s group on ``platform``."""
    return f"report:{kind}:{organization_id}:{period.first.isoformat()}:{platform}"


def report_payload(period: Period, organization_id: str, *, governorate: bool) -> dict[str, Any]:
    """The payload of an automatic report: every organization side by side for the governorate, else its own."""
    return {
        "type": REPORT_PAYLOAD,
        "first": period.first.isoformat(),
        "last": period.last.isoformat(),
        "viewer": organization_id,
        "governorate": governorate,
        "lang": GROUP_LANG,
    }


async def queue_report_digests(
    session: AsyncSession,
    *,
    today: date,
    organizations: Sequence[OrgGroups],
    governorate_id: str | None,
    calendar_of: Callable[[str], WorkCalendar],
    weekly: bool = True,
) -> int:
    """Queue the reports due ``today`` to every organization's groups, in the caller's transaction; how many
    rows were added (none when an earlier run queued them)."""
    queued = 0
    for org in organizations:
        for due in due_reports(today, calendar_of(org.organization_id), weekly=weekly):
            payload = report_payload(
                due.period, org.organization_id, governorate=org.organization_id == governorate_id
            )
            for platform, chat_id in sorted(org.groups.items()):
                queued += await enqueue_chat(
                    session,
                    platform=platform,
                    chat_id=chat_id,
                    organization_id=org.organization_id,
                    payload=payload,
                    dedupe_key=report_key(due.kind, org.organization_id, due.period, platform),
                )
    return queued
