"""Payments of requests and of dues."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from storage.models import Payment
from storage.repositories.base import Repository

__all__ = ["Payments"]


class Payments(Repository):
    """Payments of requests and of dues (``desk.payments``)."""

    async def add(self, payment: Payment) -> Payment:
        """Store a new payment (its id is set)."""
        self.session.add(payment)
        await self.session.flush()
        return payment

    async def get(self, payment_id: int) -> Payment | None:
        return await self.session.get(Payment, payment_id)

    async def by_token(self, invoice_payload: str, *, for_update: bool = False) -> Payment | None:
        """The payment an invoice carries (locked for this transaction with ``for_update``)."""
        stmt = select(Payment).where(col(Payment.invoice_payload) == invoice_payload)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).first()

    async def of_requests_by_bill(self, bill_id: str, payment_id: str | None = None) -> Sequence[Payment]:
        """Requests' payments with this bill ID (and payment ID), newest first."""
        stmt = select(Payment).where(col(Payment.bill_id) == bill_id, col(Payment.request_id).is_not(None))
        if payment_id is not None:
            stmt = stmt.where(col(Payment.payment_id) == payment_id)
        return (await self.session.scalars(stmt.order_by(col(Payment.id).desc()))).all()

    async def of_request(self, request_id: int) -> Sequence[Payment]:
        """Every payment of a request, oldest first."""
        stmt = select(Payment).where(col(Payment.request_id) == request_id).order_by(col(Payment.id))
        return (await self.session.scalars(stmt)).all()

    async def count_of_request(self, request_id: int) -> int:
        stmt = select(func.count()).select_from(Payment).where(col(Payment.request_id) == request_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def pending_of_request(self, request_id: int) -> Sequence[Payment]:
        stmt = (
            select(Payment)
            .where(col(Payment.request_id) == request_id, col(Payment.status) == "pending")
            .order_by(col(Payment.id))
        )
        return (await self.session.scalars(stmt)).all()

    async def of_due(self, due_id: int) -> Sequence[Payment]:
        """Every payment of a due, oldest first."""
        stmt = select(Payment).where(col(Payment.due_id) == due_id).order_by(col(Payment.id))
        return (await self.session.scalars(stmt)).all()

    async def pending_wallet(self, *, created_before: datetime, limit: int = 100) -> Sequence[Payment]:
        """Pending payments offered through the Bale wallet that know the wallet's transaction id, oldest first."""
        stmt = (
            select(Payment)
            .where(
                col(Payment.status) == "pending",
                col(Payment.channel) == "bale_wallet",
                col(Payment.provider_transaction_id).is_not(None),
                col(Payment.created_at) < created_before,
            )
            .order_by(col(Payment.id))
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()
