"""Inquiries between organizations: written by ``desk.inquiries``, listed for groups, digests and tracking, and
counted for an agency's report (``desk.inquiry_reports``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, or_, select

from storage.models import Inquiry
from storage.repositories.base import Repository
from storage.repositories.reports import Span, local_date

__all__ = ["CLOSED_INQUIRY_STATES", "OPEN_INQUIRY_STATES", "Inquiries"]

OPEN_INQUIRY_STATES = ("open", "need_more")
"""An inquiry in these states still waits for the agency's answer (``need_more``: for the clerk's reply first)."""
CLOSED_INQUIRY_STATES = ("answered", "not_ours")
"""An inquiry in these states has the agency's word: an answer, or that it is not the agency's to answer."""


def _waiting(agency_id: str, late_on: date | None) -> list[ColumnElement[bool]]:
    conditions = [col(Inquiry.agency_id) == agency_id, col(Inquiry.state).in_(OPEN_INQUIRY_STATES)]
    if late_on is not None:
        conditions.append(col(Inquiry.due_date) < late_on)
    return conditions


def _as_date(value: Any) -> date:
    """A ``local_date`` as read back: a ``date`` from PostgreSQL, an ISO string from SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


class Inquiries(Repository):
    """Inquiries by id, by request, and the open ones of an organization, asked or received."""

    async def add(self, inquiry: Inquiry) -> Inquiry:
        """Store a new inquiry and give it its number (its id)."""
        self.session.add(inquiry)
        await self.session.flush()
        return inquiry

    async def get(self, inquiry_id: int) -> Inquiry | None:
        return await self.session.get(Inquiry, inquiry_id)

    async def get_for_update(self, inquiry_id: int) -> Inquiry | None:
        """The inquiry read afresh and locked until the transaction ends, so two answers come one after the other."""
        stmt = (
            select(Inquiry)
            .where(col(Inquiry.id) == inquiry_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).first()

    async def of_request(self, request_id: int) -> Sequence[Inquiry]:
        """Every inquiry about request ``request_id``, oldest first."""
        stmt = select(Inquiry).where(col(Inquiry.request_id) == request_id).order_by(col(Inquiry.id))
        return (await self.session.scalars(stmt)).all()

    async def open_of(self, organization_id: str) -> Sequence[Inquiry]:
        """The open inquiries ``organization_id`` asked or was asked, the earliest due first."""
        stmt = (
            select(Inquiry)
            .where(
                col(Inquiry.state).in_(OPEN_INQUIRY_STATES),
                or_(
                    col(Inquiry.asking_organization_id) == organization_id,
                    col(Inquiry.agency_id) == organization_id,
                ),
            )
            .order_by(col(Inquiry.due_date), col(Inquiry.id))
        )
        return (await self.session.scalars(stmt)).all()

    async def count_waiting(self, agency_id: str, *, late_on: date | None = None) -> int:
        """How many inquiries ``waiting`` lists for ``agency_id``, on all its pages."""
        stmt = select(func.count()).select_from(Inquiry).where(*_waiting(agency_id, late_on))
        return int((await self.session.execute(stmt)).scalar_one())

    async def waiting(
        self, agency_id: str, *, late_on: date | None = None, offset: int = 0, limit: int = 20
    ) -> Sequence[Inquiry]:
        """A page of the open inquiries sent to ``agency_id`` (with ``late_on``: those due before that day), the
        earliest due first (ties by number), read by the ``(agency_id, state)`` index."""
        stmt = (
            select(Inquiry)
            .where(*_waiting(agency_id, late_on))
            .order_by(col(Inquiry.due_date), col(Inquiry.id))
            .offset(offset)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def received_in(self, agency_id: str, span: Span) -> int:
        """How many inquiries were sent to ``agency_id`` in the period."""
        stmt = (
            select(func.count())
            .select_from(Inquiry)
            .where(
                col(Inquiry.agency_id) == agency_id,
                col(Inquiry.asked_at) >= span.start,
                col(Inquiry.asked_at) < span.end,
            )
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def closed_in(self, agency_id: str, span: Span) -> list[tuple[str, date, date, date, int]]:
        """(state, local day asked, local day answered, due date, inquiries) of the inquiries ``agency_id``
        answered (or declined as not its own) in the period: one row per distinct combination, never per inquiry."""
        asked, answered = local_date(col(Inquiry.asked_at)), local_date(col(Inquiry.answered_at))
        state, due = col(Inquiry.state), col(Inquiry.due_date)
        # SQLAlchemy's own select: sqlmodel's is typed for at most four columns.
        stmt = (
            sa.select(state, asked, answered, due, func.count())
            .where(
                col(Inquiry.agency_id) == agency_id,
                state.in_(CLOSED_INQUIRY_STATES),
                col(Inquiry.answered_at) >= span.start,
                col(Inquiry.answered_at) < span.end,
            )
            .group_by(state, asked, answered, due)
        )
        return [
            (str(st), _as_date(a), _as_date(b), _as_date(d), int(n))
            for st, a, b, d, n in (await self.session.execute(stmt)).all()
        ]

    async def overdue(self, today: date) -> Sequence[Inquiry]:
        """Every open inquiry whose due date has passed by ``today``, the earliest due first."""
        stmt = (
            select(Inquiry)
            .where(col(Inquiry.state).in_(OPEN_INQUIRY_STATES), col(Inquiry.due_date) < today)
            .order_by(col(Inquiry.due_date), col(Inquiry.id))
        )
        return (await self.session.scalars(stmt)).all()
