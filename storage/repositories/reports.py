"""Aggregate queries behind the governorate's and the organizations' reports (``desk.reports``).

Every query groups and counts in the database and returns one row per group (an organization, a service, a
clerk) or per small histogram bucket (a pair of days, an hour): never a row per request. ``desk.reports`` turns
them into the figures people read; the definitions live there.

Local days are the county's: Iran has kept UTC+03:30 all year since 2022, so a stored UTC time's local day is
its date after adding ``LOCAL_OFFSET`` (:class:`local_date`, the same SQL on SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Date, Integer, String, and_, case, cast, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from storage.models import Certificate, OutboxMessage, Payment, RequestEvent, ServiceRequest, SurveyAnswer
from storage.repositories.base import Repository
from storage.repositories.requests import OPEN_STATUSES

__all__ = [
    "LOCAL_OFFSET",
    "Grouping",
    "ReportQueries",
    "Span",
    "hours_between",
    "local_date",
]

LOCAL_OFFSET: Final = timedelta(hours=3, minutes=30)
"""The county's offset from UTC (Asia/Tehran, without daylight saving since 2022)."""

_OFFSET_MINUTES: Final = int(LOCAL_OFFSET.total_seconds() // 60)
_STAFF: Final = ("clerk", "supervisor")
_FINISHED: Final = ("completed", "rejected")


class local_date(FunctionElement[date]):  # noqa: N801 (a SQL function, named as one)
    """The county's local day of a UTC timestamp column, as a SQL ``DATE``."""

    type = Date()
    inherit_cache = True
    name = "local_date"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    (arg,) = element.clauses
    return f"date({compiler.process(arg, **kw)}, '+{_OFFSET_MINUTES} minutes')"


@compiles(local_date, "postgresql")
def _local_date_postgresql(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    (arg,) = element.clauses
    return f"CAST(({compiler.process(arg, **kw)} AT TIME ZONE 'UTC') + INTERVAL '{_OFFSET_MINUTES} minutes' AS DATE)"


class hours_between(FunctionElement[int]):  # noqa: N801 (a SQL function, named as one)
    """Whole hours from the first timestamp to the second (rounded down), as a SQL integer."""

    type = Integer()
    inherit_cache = True
    name = "hours_between"


@compiles(hours_between, "sqlite")
def _hours_sqlite(element: hours_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST((julianday({end}) - julianday({start})) * 24 AS INTEGER)"


@compiles(hours_between, "postgresql")
def _hours_postgresql(element: hours_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({end} - {start})) / 3600) AS INTEGER)"


@dataclass(frozen=True, slots=True)
class Span:
    """A report's period as UTC bounds ``[start, end)`` and the local day it ends on (inclusive)."""

    start: datetime
    end: datetime
    today: date
    """The day "now" is measured on: open and overdue requests are counted as of this day."""


@dataclass(frozen=True, slots=True)
class Grouping:
    """What the figures are grouped by: each organization, or one organization's services or clerks.

    ``organizations`` limits the requests read (None: every organization); ``by`` is ``organization``,
    ``service`` or ``clerk`` (``platform:user id`` of the request's assignee; unassigned requests are left out).
    """

    by: str = "organization"
    organizations: tuple[str, ...] | None = None

    def key(self) -> Any:
        """The SQL expression of a request's group."""
        if self.by == "organization":
            return col(ServiceRequest.organization_id)
        if self.by == "service":
            return col(ServiceRequest.service_id)
        if self.by == "clerk":
            return (
                col(ServiceRequest.assignee_platform)
                + literal(":")
                + cast(col(ServiceRequest.assignee_user_id), String)
            )
        raise ValueError(f"unknown grouping {self.by!r}")

    def where(self) -> list[ColumnElement[bool]]:
        """The conditions every request of this grouping meets."""
        conditions: list[ColumnElement[bool]] = []
        if self.organizations is not None:
            conditions.append(col(ServiceRequest.organization_id).in_(self.organizations))
        if self.by == "clerk":
            conditions.append(col(ServiceRequest.assignee_user_id).is_not(None))
        return conditions


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _in_span(column: Any, span: Span) -> ColumnElement[bool]:
    return and_(column >= span.start, column < span.end)


class ReportQueries(Repository):
    """The counts and histograms of one period, grouped as asked; rows of plain tuples."""

    async def _rows(self, stmt: Any) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in (await self.session.execute(stmt)).all()]

    async def filed(self, span: Span, grouping: Grouping) -> list[tuple[str, int]]:
        """(group, requests submitted in the period)."""
        key = grouping.key()
        stmt = (
            select(key, func.count())
            .where(_in_span(col(ServiceRequest.submitted_at), span), *grouping.where())
            .group_by(key)
        )
        return await self._rows(stmt)

    async def closed(self, span: Span, grouping: Grouping) -> list[tuple[str, int, int, int, int, int]]:
        """(group, completed, rejected, withdrawn, completed on time, completed with a deadline) in the period.

        On time: completed on a local day on or before the request's deadline.
        """
        key = grouping.key()
        status = col(ServiceRequest.status)
        completed = status == "completed"
        has_deadline = col(ServiceRequest.deadline).is_not(None)
        on_time = and_(
            completed, has_deadline, local_date(col(ServiceRequest.closed_at)) <= col(ServiceRequest.deadline)
        )
        stmt = (
            select(
                key,
                _count_if(completed),
                _count_if(status == "rejected"),
                _count_if(status == "withdrawn"),
                _count_if(on_time),
                _count_if(and_(completed, has_deadline)),
            )
            .where(_in_span(col(ServiceRequest.closed_at), span), *grouping.where())
            .group_by(key)
        )
        return await self._rows(stmt)

    async def open_now(self, today: date, grouping: Grouping) -> list[tuple[str, int, int]]:
        """(group, open requests, of them past their deadline on ``today``)."""
        key = grouping.key()
        overdue = and_(col(ServiceRequest.deadline).is_not(None), col(ServiceRequest.deadline) < today)
        stmt = (
            select(key, func.count(), _count_if(overdue))
            .where(col(ServiceRequest.status).in_(OPEN_STATUSES), *grouping.where())
            .group_by(key)
        )
        return await self._rows(stmt)

    async def handling_days(self, span: Span, grouping: Grouping) -> list[tuple[str, date, date, int]]:
        """(group, local day submitted, local day finished, requests) of requests completed or rejected in the
        period: the histogram the handling time's median and 90th percentile are read from."""
        key = grouping.key()
        status = col(ServiceRequest.status)
        submitted = local_date(col(ServiceRequest.submitted_at))
        closed = local_date(col(ServiceRequest.closed_at))
        # The status is grouped by, not filtered on: a condition on it made SQLite read through the status index.
        stmt = (
            select(key, status, submitted, closed, func.count())
            .where(
                _in_span(col(ServiceRequest.closed_at), span),
                col(ServiceRequest.submitted_at).is_not(None),
                *grouping.where(),
            )
            .group_by(key, status, submitted, closed)
        )
        return [
            (k, _as_date(a), _as_date(b), n) for k, st, a, b, n in await self._rows(stmt) if st in _FINISHED
        ]

    async def first_response_hours(
        self, span: Span, grouping: Grouping
    ) -> list[tuple[str, date, date, int, int]]:
        """(group, local day submitted, local day of the first response, whole hours between, requests) of
        requests submitted in the period that staff have answered: their first change of a submitted request
        (a claim, a question, a rejection)."""
        # The period's requests first (by their index), then their events: never every event of the history.
        first = (
            select(
                col(ServiceRequest.id).label("request_id"),
                func.min(col(RequestEvent.at)).label("at"),
            )
            .join(RequestEvent, col(RequestEvent.request_id) == col(ServiceRequest.id))
            .where(
                _in_span(col(ServiceRequest.submitted_at), span),
                *grouping.where(),
                col(RequestEvent.from_status) == "submitted",
                col(RequestEvent.actor_kind).in_(_STAFF),
            )
            .group_by(col(ServiceRequest.id))
            .subquery()
        )
        key = grouping.key()
        submitted = local_date(col(ServiceRequest.submitted_at))
        answered = local_date(first.c.at)
        hours = hours_between(col(ServiceRequest.submitted_at), first.c.at)
        stmt = (
            select(key, submitted, answered, hours, func.count())
            .join(first, first.c.request_id == col(ServiceRequest.id))
            .where(_in_span(col(ServiceRequest.submitted_at), span), *grouping.where())
            .group_by(key, submitted, answered, hours)
        )
        return [(k, _as_date(a), _as_date(b), h, n) for k, a, b, h, n in await self._rows(stmt)]

    async def daily(self, span: Span, grouping: Grouping) -> list[tuple[date, int, int]]:
        """(local day, requests submitted, requests completed) of each day of the period with either: the trend."""
        filed_day = local_date(col(ServiceRequest.submitted_at))
        filed = (
            select(filed_day, func.count())
            .where(_in_span(col(ServiceRequest.submitted_at), span), *grouping.where())
            .group_by(filed_day)
        )
        done_day = local_date(col(ServiceRequest.closed_at))
        status = col(ServiceRequest.status)
        done = (  # grouped by status rather than filtered on it, as in handling_days
            select(done_day, status, func.count())
            .where(_in_span(col(ServiceRequest.closed_at), span), *grouping.where())
            .group_by(done_day, status)
        )
        days: dict[date, list[int]] = {}
        for day, n in await self._rows(filed):
            days.setdefault(_as_date(day), [0, 0])[0] = n
        for day, st, n in await self._rows(done):
            if st == "completed":
                days.setdefault(_as_date(day), [0, 0])[1] = n
        return sorted((day, a, b) for day, (a, b) in days.items())

    async def scores(self, span: Span, grouping: Grouping) -> list[tuple[str, int, int, int]]:
        """(group, score, ratings, of them with a comment) of requests finished in the period."""
        key = grouping.key()
        score = col(SurveyAnswer.score)
        stmt = (
            select(key, score, func.count(), func.count(col(SurveyAnswer.comment)))
            .join(ServiceRequest, col(ServiceRequest.id) == col(SurveyAnswer.request_id))
            .where(_in_span(col(ServiceRequest.closed_at), span), *grouping.where())
            .group_by(key, score)
        )
        return await self._rows(stmt)

    async def comments(
        self, span: Span, organizations: Sequence[str] | None, *, limit: int
    ) -> list[tuple[str, str, int, str, datetime]]:
        """(organization, tracking code, score, comment, when) of the period's rated requests with a comment,
        newest first, at most ``limit``."""
        stmt = (
            select(
                col(ServiceRequest.organization_id),
                col(ServiceRequest.tracking_code),
                col(SurveyAnswer.score),
                col(SurveyAnswer.comment),
                col(SurveyAnswer.updated_at),
            )
            .join(ServiceRequest, col(ServiceRequest.id) == col(SurveyAnswer.request_id))
            .where(_in_span(col(ServiceRequest.closed_at), span), col(SurveyAnswer.comment).is_not(None))
            .order_by(col(SurveyAnswer.updated_at).desc())
            .limit(limit)
        )
        if organizations is not None:
            stmt = stmt.where(col(ServiceRequest.organization_id).in_(organizations))
        return await self._rows(stmt)

    async def complaints(
        self,
        span: Span,
        organizations: Sequence[str] | None,
        *,
        service_id: str,
        subject_field: str,
        objection_subject: str,
        with_anonymous: bool,
    ) -> list[tuple[str, int, int]]:
        """(organization complained about, complaints, of them objections to a decision) filed in the period.

        Without ``with_anonymous`` only complaints the organization itself handles count (named ones: an
        anonymous complaint is handled by the governorate and never shown to the organization it accuses).
        """
        about = func.coalesce(col(ServiceRequest.about_organization_id), col(ServiceRequest.organization_id))
        objection = col(ServiceRequest.answers)[subject_field].as_string() == objection_subject
        conditions = [
            col(ServiceRequest.service_id) == service_id,
            _in_span(col(ServiceRequest.submitted_at), span),
        ]
        if not with_anonymous:
            conditions.append(about == col(ServiceRequest.organization_id))
        if organizations is not None:
            conditions.append(about.in_(organizations))
        stmt = select(about, func.count(), _count_if(objection)).where(*conditions).group_by(about)
        return await self._rows(stmt)

    async def sms(self, span: Span, organizations: Sequence[str] | None) -> list[tuple[str, int, int]]:
        """(organization, SMS sent in the period, what the gateway charged in rials)."""
        org = col(OutboxMessage.organization_id)
        stmt = (
            select(org, func.count(), func.coalesce(func.sum(col(OutboxMessage.cost_rials)), 0))
            .where(
                col(OutboxMessage.channel) == "sms",
                col(OutboxMessage.status) == "sent",
                _in_span(col(OutboxMessage.sent_at), span),
            )
            .group_by(org)
        )
        if organizations is not None:
            stmt = stmt.where(org.in_(organizations))
        return await self._rows(stmt)

    async def certificates(
        self, first: date, last: date, organizations: Sequence[str] | None
    ) -> list[tuple[str, int]]:
        """(organization, certificates issued on the days ``first`` to ``last``, revoked ones included)."""
        org = col(Certificate.organization_id)
        stmt = (
            select(org, func.count())
            .where(col(Certificate.issued_on) >= first, col(Certificate.issued_on) <= last)
            .group_by(org)
        )
        if organizations is not None:
            stmt = stmt.where(org.in_(organizations))
        return await self._rows(stmt)

    async def dues_paid(self, span: Span, organizations: Sequence[str] | None) -> list[tuple[str, int, int]]:
        """(organization, dues paid through Miz in the period, their total in rials): paid payments of no
        request (a due's, kept when a later import replaced the due)."""
        org = col(Payment.organization_id)
        stmt = (
            select(org, func.count(), func.coalesce(func.sum(col(Payment.amount_rials)), 0))
            .where(
                col(Payment.status) == "paid",
                col(Payment.request_id).is_(None),
                _in_span(col(Payment.paid_at), span),
            )
            .group_by(org)
        )
        if organizations is not None:
            stmt = stmt.where(org.in_(organizations))
        return await self._rows(stmt)


def _as_date(value: Any) -> date:
    """A SQL ``DATE`` as Python reads it: SQLite's ``date()`` answers text."""
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
