"""How every organization serves: the figures of a period, each defined once, here.

A report covers a ``Period`` of the county's local days (``first`` to ``last``, both included) and groups its
figures by organization, or, within one organization, by service or by clerk. The database does the counting
(``storage.repositories.reports``): nothing here reads requests one by one.

The figures of a group and period:

- **filed**: requests submitted in the period;
- **completed**, **rejected**, **withdrawn**: requests that reached that status in the period;
- **open now**, **overdue now**: requests still open (submitted, in progress, waiting for the citizen, another
  agency or a payment) when the report is made, and of them those whose deadline day has passed;
- **on time**: requests completed in the period on or before their deadline day (the deadline is the catalog's
  duration counted in the organization's working days, ``desk.calendar``), as a count and a :class:`Rate` of the
  completed ones that had a deadline;
- **handling time**: for requests completed or rejected in the period, the organization's working days from the
  day of submission to the day it finished (``WorkCalendar.working_days_between``: 0 when finished the same day);
  median and 90th percentile, by nearest rank (the smallest value that at least half, or 90 %, of the requests
  reach);
- **first response**: for requests submitted in the period that staff have answered, the hours from submission to
  staff's first change of it (a claim, a question, a rejection), less 24 hours for each weekend day or holiday
  strictly between the two days; median, by nearest rank, in whole hours;
- **satisfaction**: the citizens' scores (1 to 5) of requests finished in the period: average, number of ratings,
  the count of each score, and the share of 4 and 5 as a :class:`Rate`;
- **complaints** and **objections** (complaints against a decision) filed in the period about the organization. In
  an organization's own report only the named ones it handles count; an anonymous complaint is handled by the
  governorate and counts in the governorate's view (``include_anonymous``) for the organization it accuses, never
  in that organization's own report;
- **SMS sent** in the period and what the gateway charged; **certificates issued** on the period's days (revoked
  ones included); **dues paid** through Miz in the period and their total.

A :class:`Rate` with fewer than ``MIN_CASES`` cases has no value: it is shown as "too few to say", not as a
misleading 100 %.

Who may see which report is :func:`check_report_access`: staff see their own organization's figures, per-clerk
figures only a supervisor of the organization or the governorate, and the governorate sees every organization.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final

from persiantools.jdatetime import JalaliDate
from sqlalchemy.ext.asyncio import AsyncSession

from desk.access import COMPLAINT_SERVICE
from desk.calendar import WorkCalendar
from desk.errors import NotFound, ValidationError
from desk.lifecycle import Actor
from desk.persian import parse_jalali_date
from desk.survey import OBJECTION_SUBJECT, SUBJECT_FIELD
from storage.repositories.reports import LOCAL_OFFSET, Grouping, ReportQueries, Span

__all__ = [
    "MAX_PERIOD_DAYS",
    "MIN_CASES",
    "SATISFIED_SCORE",
    "Breakdown",
    "Calendars",
    "Figures",
    "Period",
    "Rate",
    "Report",
    "ReportQuery",
    "ReportViewer",
    "Satisfaction",
    "Sort",
    "WeekCount",
    "check_report_access",
    "figures",
    "first_response_hours",
    "make_report",
    "nearest_rank",
    "parse_period",
    "sort_rows",
    "totals",
    "weekly_trend",
]

MIN_CASES: Final = 5
"""A rate of fewer cases than this is "too few to say"."""
SATISFIED_SCORE: Final = 4
"""Scores at or above this count as satisfied (4 and 5)."""


class Breakdown(StrEnum):
    """What a report's rows are: organizations, or one organization's services or clerks."""

    ORGANIZATION = "organization"
    SERVICE = "service"
    CLERK = "clerk"


@dataclass(frozen=True, slots=True)
class Period:
    """Local days ``first`` to ``last``, both included."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("a period ends on or after its first day")

    @classmethod
    def jalali_month(cls, day: date, *, months_back: int = 0) -> Period:
        """The Jalali month of ``day``, or the one ``months_back`` months before it."""
        j = JalaliDate(day)  # type: ignore[no-untyped-call]  # persiantools has no annotations
        index = j.year * 12 + (j.month - 1) - months_back
        year, month = divmod(index, 12)
        days = JalaliDate.days_in_month(month + 1, year)
        first = JalaliDate(year, month + 1, 1)  # type: ignore[no-untyped-call]
        return cls(first.to_gregorian(), first.to_gregorian() + timedelta(days=days - 1))

    @classmethod
    def week(cls, day: date, *, weeks_back: int = 0) -> Period:
        """The week (Saturday to Friday, as in Iran) of ``day``, or the one ``weeks_back`` weeks before it."""
        saturday = day - timedelta(days=(day.weekday() - 5) % 7) - timedelta(weeks=weeks_back)
        return cls(saturday, saturday + timedelta(days=6))

    @classmethod
    def last_days(cls, day: date, days: int) -> Period:
        """The ``days`` days ending on ``day``."""
        return cls(day - timedelta(days=days - 1), day)

    def span(self, today: date) -> Span:
        """The period as UTC bounds, with ``today`` for what is open now."""
        return Span(
            start=_utc_midnight(self.first), end=_utc_midnight(self.last + timedelta(days=1)), today=today
        )

    def weeks(self) -> list[Period]:
        """The period cut into weeks (Saturday to Friday), the first and last ones clipped to it."""
        out: list[Period] = []
        start = self.first
        while start <= self.last:
            end = min(Period.week(start).last, self.last)
            out.append(Period(start, end))
            start = end + timedelta(days=1)
        return out


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC) - LOCAL_OFFSET


@dataclass(frozen=True, slots=True)
class Rate:
    """``count`` of ``cases``; ``value`` (0..1) only when there are at least ``MIN_CASES`` cases."""

    count: int = 0
    cases: int = 0

    @property
    def value(self) -> float | None:
        return self.count / self.cases if self.cases >= MIN_CASES else None


@dataclass(frozen=True, slots=True)
class Satisfaction:
    """The citizens' scores: how many of each (``distribution[0]`` is score 1), their average, the share of 4-5."""

    distribution: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    comments: int = 0

    @property
    def ratings(self) -> int:
        return sum(self.distribution)

    @property
    def average(self) -> float | None:
        if not self.ratings:
            return None
        return sum(score * n for score, n in enumerate(self.distribution, start=1)) / self.ratings

    @property
    def satisfied(self) -> Rate:
        return Rate(sum(self.distribution[SATISFIED_SCORE - 1 :]), self.ratings)


@dataclass(frozen=True, slots=True)
class Figures:
    """One row of a report: an organization, a service or a clerk (``key``), over one period."""

    key: str
    filed: int = 0
    completed: int = 0
    rejected: int = 0
    withdrawn: int = 0
    open_now: int = 0
    overdue_now: int = 0
    on_time: Rate = field(default_factory=Rate)
    handling_median: int | None = None
    """Working days."""
    handling_p90: int | None = None
    """Working days."""
    first_response_median: int | None = None
    """Working hours."""
    satisfaction: Satisfaction = field(default_factory=Satisfaction)
    complaints: int = 0
    objections: int = 0
    sms_sent: int = 0
    sms_cost_rials: int = 0
    certificates: int = 0
    dues_paid: int = 0
    dues_paid_rials: int = 0


def nearest_rank(histogram: Mapping[int, int], share: float) -> int | None:
    """The smallest value that at least ``share`` (0..1] of the counted cases reach; None with no cases."""
    total = sum(histogram.values())
    if not total:
        return None
    needed = max(1, math.ceil(share * total))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= needed:
            return value
    raise AssertionError("unreachable: the histogram's counts add up to total")


def first_response_hours(calendar: WorkCalendar, submitted: date, answered: date, hours: int) -> int:
    """Working hours of a first response: ``hours`` less 24 for each day off strictly between the two days."""
    days_off = sum(
        1
        for n in range(1, (answered - submitted).days)
        if not calendar.is_working_day(submitted + timedelta(days=n))
    )
    return max(0, hours - 24 * days_off)


Calendars = Callable[[str], WorkCalendar]
"""The working calendar of an organization, by id (the catalog's ``calendar_for``)."""


async def figures(
    session: AsyncSession,
    period: Period,
    *,
    today: date,
    calendar_of: Calendars,
    breakdown: Breakdown = Breakdown.ORGANIZATION,
    organizations: Sequence[str] | None = None,
    include_anonymous: bool = False,
) -> dict[str, Figures]:
    """The period's figures by ``breakdown``, keyed by organization id, service id or ``platform:user id``.

    ``organizations`` limits the report (None: all); a service or clerk breakdown needs exactly one.
    ``include_anonymous`` is the governorate's view of complaints. Groups with nothing to count are absent.
    """
    orgs = tuple(organizations) if organizations is not None else None
    if breakdown is not Breakdown.ORGANIZATION and (orgs is None or len(orgs) != 1):
        raise ValueError("a service or clerk breakdown is of one organization")
    grouping = Grouping(by=breakdown.value, organizations=orgs)
    span = period.span(today)
    queries = ReportQueries(session)
    rows: dict[str, dict[str, object]] = defaultdict(dict)

    for key, filed in await queries.filed(span, grouping):
        rows[key]["filed"] = filed
    for key, completed, rejected, withdrawn, on_time, with_deadline in await queries.closed(span, grouping):
        rows[key].update(
            completed=completed, rejected=rejected, withdrawn=withdrawn, on_time=Rate(on_time, with_deadline)
        )
    for key, open_now, overdue in await queries.open_now(today, grouping):
        rows[key].update(open_now=open_now, overdue_now=overdue)

    def calendar(key: str) -> WorkCalendar:
        return calendar_of(key if breakdown is Breakdown.ORGANIZATION else orgs[0])  # type: ignore[index]

    handling: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for key, submitted, closed, n in await queries.handling_days(span, grouping):
        handling[key][calendar(key).working_days_between(submitted, closed)] += n
    for key, histogram in handling.items():
        rows[key].update(
            handling_median=nearest_rank(histogram, 0.5), handling_p90=nearest_rank(histogram, 0.9)
        )

    response: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for key, submitted, answered, hours, n in await queries.first_response_hours(span, grouping):
        response[key][first_response_hours(calendar(key), submitted, answered, hours)] += n
    for key, histogram in response.items():
        rows[key]["first_response_median"] = nearest_rank(histogram, 0.5)

    scores: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    for key, score, n, with_comment in await queries.scores(span, grouping):
        scores[key][score - 1] += n
        scores[key][5] += with_comment
    for key, counts in scores.items():
        rows[key]["satisfaction"] = Satisfaction(tuple(counts[:5]), counts[5])  # type: ignore[arg-type]

    if breakdown is Breakdown.ORGANIZATION:
        await _organization_figures(queries, period, span, orgs, rows, include_anonymous=include_anonymous)
    return {key: Figures(key=key, **values) for key, values in rows.items()}  # type: ignore[arg-type]


async def _organization_figures(
    queries: ReportQueries,
    period: Period,
    span: Span,
    orgs: tuple[str, ...] | None,
    rows: dict[str, dict[str, object]],
    *,
    include_anonymous: bool,
) -> None:
    """Add what only an organization has: complaints, SMS, certificates and dues."""
    complaints = await queries.complaints(
        span,
        orgs,
        service_id=COMPLAINT_SERVICE,
        subject_field=SUBJECT_FIELD,
        objection_subject=OBJECTION_SUBJECT,
        with_anonymous=include_anonymous,
    )
    for key, count, objections in complaints:
        rows[key].update(complaints=count, objections=objections)
    for key, sent, cost in await queries.sms(span, orgs):
        rows[key].update(sms_sent=sent, sms_cost_rials=cost)
    for key, issued in await queries.certificates(period.first, period.last, orgs):
        rows[key]["certificates"] = issued
    for key, paid, total in await queries.dues_paid(span, orgs):
        rows[key].update(dues_paid=paid, dues_paid_rials=total)


def totals(rows: Iterable[Figures], key: str = "") -> Figures:
    """Several rows added up: their counts, rates and scores (medians cannot be added, and are left out)."""
    rows = list(rows)
    counts = {name: sum(getattr(row, name) for row in rows) for name in _COUNTS}
    on_time = Rate(sum(r.on_time.count for r in rows), sum(r.on_time.cases for r in rows))
    distribution = tuple(sum(r.satisfaction.distribution[i] for r in rows) for i in range(5))
    comments = sum(r.satisfaction.comments for r in rows)
    return Figures(key=key, on_time=on_time, satisfaction=Satisfaction(distribution, comments), **counts)  # type: ignore[arg-type]


_COUNTS: Final = (
    "filed",
    "completed",
    "rejected",
    "withdrawn",
    "open_now",
    "overdue_now",
    "complaints",
    "objections",
    "sms_sent",
    "sms_cost_rials",
    "certificates",
    "dues_paid",
    "dues_paid_rials",
)


@dataclass(frozen=True, slots=True)
class ReportViewer:
    """Who asks for a report: staff of ``organization_id`` (a supervisor or a clerk), or the governorate's."""

    organization_id: str
    kind: Actor
    governorate: bool = False


def check_report_access(viewer: ReportViewer, organization_id: str | None, breakdown: Breakdown) -> None:
    """Raise ``NotFound`` unless ``viewer`` may see this report.

    ``organization_id`` None is every organization side by side: the governorate's alone. Staff see their own
    organization's figures by organization or service; per-clerk figures only its supervisors and the
    governorate. A citizen is no staff and never gets here (the bot answers reports in operator groups only).
    """
    if viewer.governorate:
        return
    if organization_id is None or organization_id != viewer.organization_id:
        raise NotFound("desk.report.not_allowed")
    if breakdown is Breakdown.CLERK and viewer.kind is not Actor.SUPERVISOR:
        raise NotFound("desk.report.not_allowed")


class Sort(StrEnum):
    """How the governorate's side-by-side report orders the organizations (best first, "too few" last)."""

    ON_TIME = "on_time"
    SATISFACTION = "satisfaction"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """What a report shows: a period, one organization (None: every one, side by side), a breakdown, an order."""

    period: Period
    organization_id: str | None = None
    breakdown: Breakdown = Breakdown.ORGANIZATION
    sort: Sort = Sort.ON_TIME


@dataclass(frozen=True, slots=True)
class Report:
    """A report's rows in the order shown, and the whole's total (``key`` "")."""

    query: ReportQuery
    rows: tuple[Figures, ...]
    total: Figures


async def make_report(
    session: AsyncSession,
    query: ReportQuery,
    viewer: ReportViewer,
    *,
    today: date,
    calendar_of: Calendars,
    organizations: Sequence[str],
    name_of: Callable[[str], str] = str,
) -> Report:
    """The report ``viewer`` asked for, if they may see it (``check_report_access``; ``NotFound`` otherwise).

    ``organizations`` are every organization's ids (a side-by-side report lists them all, idle ones included);
    ``name_of`` names a row's key, for the order by name. The governorate's view counts anonymous complaints
    against the organization they accuse; an organization's own view never does.
    """
    check_report_access(viewer, query.organization_id, query.breakdown)
    found = await figures(
        session,
        query.period,
        today=today,
        calendar_of=calendar_of,
        breakdown=query.breakdown,
        organizations=None if query.organization_id is None else [query.organization_id],
        include_anonymous=viewer.governorate,
    )
    keys = list(found)
    if query.breakdown is Breakdown.ORGANIZATION:
        keys = list(organizations) if query.organization_id is None else [query.organization_id]
    rows = [found.get(key) or Figures(key=key) for key in keys]
    return Report(query, tuple(sort_rows(rows, query.sort, name_of)), totals(rows))


def sort_rows(rows: Iterable[Figures], sort: Sort, name_of: Callable[[str], str] = str) -> list[Figures]:
    """``rows`` best first by ``sort`` (a rate with too few cases after every real one), then by name."""

    def measure(row: Figures) -> float | None:
        if sort is Sort.ON_TIME:
            return row.on_time.value
        if sort is Sort.SATISFACTION:
            return row.satisfaction.average
        return None

    def key(row: Figures) -> tuple[int, float, str]:
        value = measure(row)
        return (value is None, -(value or 0.0), name_of(row.key))

    return sorted(rows, key=key)


MAX_PERIOD_DAYS: Final = 731
"""The longest period one report covers (two years): a longer one is refused rather than run."""


def parse_period(first: str, last: str) -> Period:
    """The period between two typed Jalali dates ('1405/07/01', '1405/09/30'), both included.

    Raises ``ValidationError``: the dates' own errors (``desk.persian.parse_jalali_date``), ``desk.report.order``
    when the last comes before the first, ``desk.report.too_long`` beyond ``MAX_PERIOD_DAYS`` days.
    """
    start, end = parse_jalali_date(first), parse_jalali_date(last)
    if end < start:
        raise ValidationError("desk.report.order")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationError("desk.report.too_long", days=MAX_PERIOD_DAYS)
    return Period(start, end)


@dataclass(frozen=True, slots=True)
class WeekCount:
    """Requests filed and completed in one week of a period (the trend a chart draws)."""

    week: Period
    filed: int
    completed: int


async def weekly_trend(session: AsyncSession, query: ReportQuery) -> list[WeekCount]:
    """Filed and completed requests of each week of the report's period, for its organization (or all)."""
    orgs = None if query.organization_id is None else (query.organization_id,)
    daily = await ReportQueries(session).daily(
        query.period.span(query.period.last), Grouping(organizations=orgs)
    )
    weeks = query.period.weeks()
    counts = {week.first: [0, 0] for week in weeks}
    for day, filed, completed in daily:
        first = max(Period.week(day).first, query.period.first)
        counts[first][0] += filed
        counts[first][1] += completed
    return [WeekCount(week, *counts[week.first]) for week in weeks]
