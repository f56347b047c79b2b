"""Dues imported from organizations' finance systems, and the import batches that brought them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, update
from sqlmodel import col, select

from storage.columns import utcnow
from storage.models import Due, DuesImport
from storage.repositories.base import Repository

__all__ = ["Dues"]


class Dues(Repository):
    """Dues imported from organizations' finance systems, and the import batches that brought them.

    An import writes a batch, removes the unpaid dues it replaces and inserts the new ones, all in the caller's
    transaction, so citizens see either the old dues or the new ones, never a mix.
    """

    _CHUNK = 500
    """Rows per multi-row INSERT: large files go in a few hundred statements, not one per row."""

    async def add_batch(self, batch: DuesImport) -> DuesImport:
        """Record an import (its id is set, for the dues to refer to)."""
        self.session.add(batch)
        await self.session.flush()
        return batch

    async def batch_by_sha256(self, organization_id: str, kind: str, sha256: str) -> DuesImport | None:
        """The latest earlier import of the same file (same bytes) for this organization and kind."""
        stmt = (
            select(DuesImport)
            .where(
                col(DuesImport.organization_id) == organization_id,
                col(DuesImport.kind) == kind,
                col(DuesImport.sha256) == sha256,
            )
            .order_by(col(DuesImport.id).desc())
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first()

    async def paid_keys(
        self, organization_id: str, kind: str, periods: Iterable[tuple[int, int]]
    ) -> set[tuple[str, int, int]]:
        """``(code_key, year, number)`` of the paid dues of these periods: an import leaves them as they are."""
        wanted = set(periods)
        if not wanted:
            return set()
        stmt = select(col(Due.code_key), col(Due.period_year), col(Due.period_number)).where(
            col(Due.organization_id) == organization_id,
            col(Due.kind) == kind,
            col(Due.paid_at).is_not(None),
            col(Due.period_year).in_({year for year, _ in wanted}),
        )
        rows = (await self.session.execute(stmt)).all()
        return {(key, year, number) for key, year, number in rows if (year, number) in wanted}

    async def file_numbers(self, organization_id: str, kind: str) -> dict[str, int]:
        """The file number (the bill ID without its last five digits) each code of this kind already has."""
        stmt = (
            select(col(Due.code_key), col(Due.bill_id))
            .where(col(Due.organization_id) == organization_id, col(Due.kind) == kind)
            .order_by(col(Due.id))
        )
        return {key: int(bill[:-5]) for key, bill in (await self.session.execute(stmt)).all()}

    async def delete_unpaid(self, organization_id: str, kind: str, periods: Iterable[tuple[int, int]]) -> int:
        """Remove the unpaid dues of these periods (before an import writes their replacements); how many."""
        deleted = 0
        for year, number in sorted(set(periods)):
            stmt = delete(Due).where(
                col(Due.organization_id) == organization_id,
                col(Due.kind) == kind,
                col(Due.period_year) == year,
                col(Due.period_number) == number,
                col(Due.paid_at).is_(None),
            )
            result = await self.session.execute(stmt.execution_options(synchronize_session=False))
            deleted += int(getattr(result, "rowcount", 0) or 0)
        return deleted

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert dues given as column values, a few hundred per statement."""
        for start in range(0, len(rows), self._CHUNK):
            await self.session.execute(insert(Due), list(rows[start : start + self._CHUNK]))

    async def get(self, due_id: int, *, for_update: bool = False) -> Due | None:
        """The due with this id (read afresh and locked for this transaction with ``for_update``)."""
        stmt = select(Due).where(col(Due.id) == due_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.scalars(stmt)).first()

    async def by_bill(self, bill_id: str, payment_id: str | None = None) -> Sequence[Due]:
        """The dues with this bill ID (and payment ID), oldest period first, locked for this transaction."""
        stmt = select(Due).where(col(Due.bill_id) == bill_id)
        if payment_id is not None:
            stmt = stmt.where(col(Due.payment_id) == payment_id)
        stmt = stmt.order_by(col(Due.period_year), col(Due.period_number), col(Due.id))
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.scalars(stmt)).all()

    async def of_holder(
        self, organization_id: str, code_keys: Iterable[str], national_id: str
    ) -> Sequence[Due]:
        """The dues of one code (of any kind; any of ``code_keys``, the ways what was typed may be read) whose
        holder has this national ID, oldest period first."""
        stmt = (
            select(Due)
            .where(
                col(Due.organization_id) == organization_id,
                col(Due.code_key).in_(sorted(set(code_keys))),
                col(Due.national_id) == national_id,
            )
            .order_by(col(Due.period_year), col(Due.period_number), col(Due.kind))
        )
        return (await self.session.scalars(stmt)).all()

    async def count(self, organization_id: str, kind: str | None = None, *, paid: bool | None = None) -> int:
        """How many dues an organization has (of one kind; only paid or unpaid ones)."""
        stmt = select(func.count()).select_from(Due).where(col(Due.organization_id) == organization_id)
        if kind is not None:
            stmt = stmt.where(col(Due.kind) == kind)
        if paid is not None:
            stmt = stmt.where(col(Due.paid_at).is_not(None) if paid else col(Due.paid_at).is_(None))
        return int((await self.session.execute(stmt)).scalar_one())

    async def mark_paid(self, bill_id: str, payment_id: str, *, at: datetime | None = None) -> bool:
        """Record that the bank reported this bill paid; False when no unpaid due has this pair."""
        stmt = (
            update(Due)
            .where(
                col(Due.bill_id) == bill_id,
                col(Due.payment_id) == payment_id,
                col(Due.paid_at).is_(None),
            )
            .values(paid_at=at or utcnow())
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))
