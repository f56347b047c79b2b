"""How an agency answers: the figures of its inquiries over a period, for its ``/report``.

An agency files no requests, so the organizations' figures (``desk.reports``) say nothing of it. Its report covers
the same periods (a ``desk.reports.Period`` of the county's local days) and counts, in the database
(``storage.repositories.Inquiries``):

- **received**: inquiries sent to it in the period;
- **answered**: inquiries it answered in the period, those it declined as not its own ("not ours") included and
  also counted apart; an answer the asking clerk recorded by hand from the agency's letter counts as its answer;
- **on time**: of those, the ones answered on a local day on or before their due date, as a
  ``desk.reports.Rate`` (fewer than ``MIN_CASES`` reads "too few");
- **time to answer**: the agency's working days (its own calendar, ``WorkCalendar.working_days_between``) from
  the day an inquiry was sent to the day it was answered, 0 the same day; the median, by nearest rank;
- **open now**, **overdue now**: inquiries still waiting for its answer (``open`` or ``need_more``) when the
  report is made, and of them those past their due date.

Who may see it is ``desk.reports.check_report_access``, as for an organization's own report: the agency's staff,
and the governorate's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from desk.calendar import WorkCalendar
from desk.i18n import translator
from desk.persian import format_number
from desk.report_text import period_text, rate_text
from desk.reports import Breakdown, Period, Rate, ReportViewer, check_report_access, nearest_rank
from storage.repositories import Inquiries

__all__ = ["InquiryFigures", "inquiry_figures", "inquiry_report_text"]


@dataclass(frozen=True, slots=True)
class InquiryFigures:
    """One agency's inquiries over ``period`` (see the module's definitions)."""

    agency_id: str
    period: Period
    received: int = 0
    answered: int = 0
    not_ours: int = 0
    on_time: Rate = field(default_factory=Rate)
    answer_median: int | None = None
    """Working days of the agency."""
    open_now: int = 0
    overdue_now: int = 0


async def inquiry_figures(
    session: AsyncSession,
    period: Period,
    viewer: ReportViewer,
    agency_id: str,
    *,
    today: date,
    calendar: WorkCalendar,
) -> InquiryFigures:
    """The figures of ``agency_id``'s inquiries over ``period``, if ``viewer`` may see them (``NotFound``
    otherwise); ``calendar`` is the agency's own, in which its time to answer is counted."""
    check_report_access(viewer, agency_id, Breakdown.ORGANIZATION)
    inquiries = Inquiries(session)
    span = period.span(today)
    answered = not_ours = on_time = 0
    days: dict[int, int] = defaultdict(int)
    for state, asked, replied, due, n in await inquiries.closed_in(agency_id, span):
        answered += n
        not_ours += n if state == "not_ours" else 0
        on_time += n if replied <= due else 0
        days[calendar.working_days_between(asked, replied)] += n
    return InquiryFigures(
        agency_id=agency_id,
        period=period,
        received=await inquiries.received_in(agency_id, span),
        answered=answered,
        not_ours=not_ours,
        on_time=Rate(on_time, answered),
        answer_median=nearest_rank(days, 0.5),
        open_now=await inquiries.count_waiting(agency_id),
        overdue_now=await inquiries.count_waiting(agency_id, late_on=today),
    )


def inquiry_report_text(figures: InquiryFigures, name: str, lang: str = "fa") -> str:
    """The report as its group reads it: the agency and period, then a line for each group of figures."""
    t = translator(lang)

    def n(value: int | None) -> str:
        return t("report.none") if value is None else format_number(value, lang)

    return "\n".join(
        [
            t("report.title.agency", name=name, period=period_text(figures.period, lang)),
            t(
                "report.line.inquiries",
                received=n(figures.received),
                answered=n(figures.answered),
                not_ours=n(figures.not_ours),
            ),
            t("report.line.inquiries_on_time", rate=rate_text(figures.on_time, lang)),
            t("report.line.inquiries_time", median=n(figures.answer_median)),
            t("report.line.inquiries_open", open=n(figures.open_now), overdue=n(figures.overdue_now)),
        ]
    )
