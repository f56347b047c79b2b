"""The documents retention removes: those of requests closed before a cut-off (``desk.retention``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select

from storage.models import Document, Inquiry, ServiceRequest
from storage.repositories.base import Repository

__all__ = ["ExpiredDocument", "Retention"]


@dataclass(frozen=True, slots=True)
class ExpiredDocument:
    """A document of a request closed before the cut-off: which request, which stored file, how big."""

    request_id: int
    stored_path: str
    size: int


class Retention(Repository):
    """Finds and removes the documents of requests closed long ago, a batch of requests at a time.

    ``closed_at`` is set only while a request is finished (a reopened one has it cleared), so the closed
    requests are found by the index on ``closed_at`` alone.
    """

    async def requests_closed_before(
        self, cutoff: datetime, *, after_id: int = 0, limit: int = 500
    ) -> list[int]:
        """Ids (ascending, greater than ``after_id``) of requests closed before ``cutoff`` that still have documents."""
        stmt = (
            select(col(ServiceRequest.id))
            .where(
                col(ServiceRequest.closed_at) < cutoff,
                col(ServiceRequest.id) > after_id,
                select(col(Document.id)).where(col(Document.request_id) == col(ServiceRequest.id)).exists(),
            )
            .order_by(col(ServiceRequest.id))
            .limit(limit)
        )
        return [int(found) for found in (await self.session.scalars(stmt)).all() if found is not None]

    async def documents_of(self, request_ids: Collection[int]) -> list[ExpiredDocument]:
        """The documents of ``request_ids``."""
        stmt = select(col(Document.request_id), col(Document.stored_path), col(Document.size)).where(
            col(Document.request_id).in_(request_ids)
        )
        return [ExpiredDocument(r, p, s) for r, p, s in (await self.session.execute(stmt)).all()]

    async def paths_kept_by_others(self, paths: Collection[str], request_ids: Collection[int]) -> set[str]:
        """Which of ``paths`` a document of another request still names (the store keeps a file sent twice once)."""
        if not paths:
            return set()
        stmt = (
            select(col(Document.stored_path))
            .where(col(Document.stored_path).in_(paths), col(Document.request_id).not_in(request_ids))
            .distinct()
        )
        kept = set((await self.session.scalars(stmt)).all())
        return kept | (set(paths) & await self._inquiry_paths(request_ids))

    async def _inquiry_paths(self, request_ids: Collection[int]) -> set[str]:
        """The stored files that inquiries of other requests name: the clerk's new files and the agency's answer.

        They are kept in the inquiry's JSON, not as documents; an inquiry with files is rare enough (a clerk's
        action, not a citizen's) to read them all here, once per retention batch.
        """
        rows = await self.session.execute(
            select(col(Inquiry.files), col(Inquiry.answer_files)).where(
                col(Inquiry.request_id).not_in(request_ids)
            )
        )
        return {
            str(file["stored_path"])
            for files, answer_files in rows
            for file in [*(files or []), *(answer_files or [])]
            if isinstance(file, dict) and file.get("stored_path")
        }

    async def remove_documents(self, request_ids: Sequence[int]) -> int:
        """Delete the document rows of ``request_ids``; how many went."""
        result = await self.session.execute(delete(Document).where(col(Document.request_id).in_(request_ids)))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
