"""Bills banks reported paid (``miz payments import``), and the reports that brought them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, select

from storage.models import Settlement, SettlementImport
from storage.repositories.base import Repository

__all__ = ["Settlements"]


class Settlements(Repository):
    """Bills banks reported paid, one per trace number and bill ID, and the reports that brought them."""

    async def add_import(self, batch: SettlementImport) -> SettlementImport:
        """Record a report's import (its id is set, for the settlements to refer to)."""
        self.session.add(batch)
        await self.session.flush()
        return batch

    async def import_by_sha256(self, sha256: str) -> SettlementImport | None:
        """The latest earlier import of the same report (same bytes)."""
        stmt = (
            select(SettlementImport)
            .where(col(SettlementImport.sha256) == sha256)
            .order_by(col(SettlementImport.id).desc())
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first()

    async def known(self, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which ``(trace number, bill ID)`` pairs were already recorded."""
        wanted = set(keys)
        found: set[tuple[str, str]] = set()
        traces = sorted({trace for trace, _ in wanted})
        for start in range(0, len(traces), 500):
            stmt = select(col(Settlement.trace_number), col(Settlement.bill_id)).where(
                col(Settlement.trace_number).in_(traces[start : start + 500])
            )
            found |= {(trace, bill) for trace, bill in (await self.session.execute(stmt)).all()}
        return found & wanted

    async def add(self, settlement: Settlement) -> Settlement:
        """Record one bill a bank reported paid (written with the next flush)."""
        self.session.add(settlement)
        return settlement
