"""Inquiries between organizations: written by ``desk.inquiries``, listed for groups, digests and tracking."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlmodel import col, or_, select

from storage.models import Inquiry
from storage.repositories.base import Repository

__all__ = ["OPEN_INQUIRY_STATES", "Inquiries"]

OPEN_INQUIRY_STATES = ("open", "need_more")
"""An inquiry in these states still waits for the agency's answer (``need_more``: for the clerk's reply first)."""


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

    async def overdue(self, today: date) -> Sequence[Inquiry]:
        """Every open inquiry whose due date has passed by ``today``, the earliest due first."""
        stmt = (
            select(Inquiry)
            .where(col(Inquiry.state).in_(OPEN_INQUIRY_STATES), col(Inquiry.due_date) < today)
            .order_by(col(Inquiry.due_date), col(Inquiry.id))
        )
        return (await self.session.scalars(stmt)).all()

    async def move_open(self, request_id: int, organization_id: str) -> int:
        """Make ``organization_id`` the asker of the request's open inquiries (it was transferred there), so their
        answers reach the organization now handling it; returns how many moved."""
        moved = 0
        for inquiry in await self.of_request(request_id):
            if inquiry.state in OPEN_INQUIRY_STATES and inquiry.asking_organization_id != organization_id:
                inquiry.asking_organization_id = organization_id
                self.session.add(inquiry)
                moved += 1
        return moved
