"""What retention removes: the documents and inquiry files of requests closed before a cut-off (``desk.retention``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, or_
from sqlmodel import col, select

from storage.models import Document, Inquiry, ServiceRequest
from storage.repositories.base import Repository

__all__ = ["ExpiredDocument", "ExpiredInquiryFile", "Retention"]

_STORED = '%"stored_path"%'
"""An inquiry's file list that names a stored file, as its JSON reads in SQLite and in PostgreSQL's ``json``
(kept as written): the key is only ever written by ``desk.inquiries`` for a file kept in the document store."""


@dataclass(frozen=True, slots=True)
class ExpiredDocument:
    """A document of a request closed before the cut-off: which request, which stored file, how big."""

    request_id: int
    stored_path: str
    size: int


@dataclass(frozen=True, slots=True)
class ExpiredInquiryFile:
    """A file kept in the store for an inquiry of a request closed before the cut-off (the clerk's or the answer's)."""

    request_id: int
    inquiry_id: int
    stored_path: str
    size: int


def _stored(item: object) -> bool:
    return isinstance(item, dict) and bool(item.get("stored_path"))


def _unstored(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [item for item in items or [] if not _stored(item)]


class Retention(Repository):
    """Finds and removes the documents of requests closed long ago, a batch of requests at a time.

    ``closed_at`` is set only while a request is finished (a reopened one has it cleared), so the closed
    requests are found by the index on ``closed_at`` alone.
    """

    async def requests_closed_before(
        self, cutoff: datetime, *, after_id: int = 0, limit: int = 500
    ) -> list[int]:
        """Ids (ascending, greater than ``after_id``) of requests closed before ``cutoff`` that still have documents
        or an inquiry with files in the store."""
        has_files = (
            select(col(Inquiry.id))
            .where(
                col(Inquiry.request_id) == col(ServiceRequest.id),
                or_(
                    cast(col(Inquiry.files), Text).like(_STORED),
                    cast(col(Inquiry.answer_files), Text).like(_STORED),
                ),
            )
            .exists()
        )
        stmt = (
            select(col(ServiceRequest.id))
            .where(
                col(ServiceRequest.closed_at) < cutoff,
                col(ServiceRequest.id) > after_id,
                or_(
                    select(col(Document.id))
                    .where(col(Document.request_id) == col(ServiceRequest.id))
                    .exists(),
                    has_files,
                ),
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

    async def inquiry_files_of(self, request_ids: Collection[int]) -> list[ExpiredInquiryFile]:
        """The stored files of the inquiries of ``request_ids``: the clerk's new files and the agency's answer's."""
        rows = await self.session.execute(
            select(
                col(Inquiry.request_id), col(Inquiry.id), col(Inquiry.files), col(Inquiry.answer_files)
            ).where(col(Inquiry.request_id).in_(request_ids))
        )
        return [
            ExpiredInquiryFile(
                request_id, inquiry_id or 0, str(item["stored_path"]), int(item.get("size") or 0)
            )
            for request_id, inquiry_id, files, answer_files in rows
            for item in [*(files or []), *(answer_files or [])]
            if _stored(item)
        ]

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
            if _stored(file)
        }

    async def remove_documents(self, request_ids: Sequence[int]) -> int:
        """Delete the document rows of ``request_ids``; how many went."""
        result = await self.session.execute(delete(Document).where(col(Document.request_id).in_(request_ids)))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def remove_inquiry_files(self, request_ids: Sequence[int]) -> None:
        """Drop the stored files from the file lists of the inquiries of ``request_ids`` (what the messengers keep, a
        file recorded before migration 0020, stays: it names no stored file)."""
        inquiries = await self.session.scalars(
            select(Inquiry).where(col(Inquiry.request_id).in_(request_ids))
        )
        for inquiry in inquiries:
            if any(map(_stored, inquiry.files or [])):
                inquiry.files = _unstored(inquiry.files)
            if any(map(_stored, inquiry.answer_files or [])):
                inquiry.answer_files = _unstored(inquiry.answer_files)
