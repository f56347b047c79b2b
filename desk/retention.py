"""Retention: the documents of requests closed long ago leave the document store; the requests stay.

A county keeps citizens' deeds, ID cards and permits only as long as it needs them. With
``MIZ_RETENTION_MONTHS`` set (0, the default, keeps everything), ``miz retention`` removes the documents of every
request closed (completed, rejected or withdrawn) more than that many months ago: their rows and, once no other
request or inquiry names the same stored file (the store keeps a file sent twice once), the file itself. The request,
its answers and its history stay, and the history gains a public notice (``desk.retention.removed``), so the citizen
tracking it and the clerk opening it read "documents removed after N months" where the files used to be, instead of
a file that no longer opens.

The files of the request's inquiries go the same way: the clerk's new files and the agency's answer files leave the
inquiry's lists and, on the same terms, the store; the clerks' history says so (``desk.retention.inquiry_files``, not
public: a citizen never sees an inquiry's files).

Requests are handled a batch at a time, each batch in its own transaction, and a request without documents or
inquiry files is never picked: running it again removes nothing more and writes no second notice. Files are unlinked after their
batch commits; a crash in between leaves a few files without rows (kept, never broken), never a row without its
file.
"""

from __future__ import annotations

import asyncio
from calendar import monthrange
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from desk.lifecycle import Actor
from desk.notices import make_notice
from storage.columns import utcnow
from storage.files import DocumentStore
from storage.models import RequestEvent
from storage.repositories.retention import ExpiredDocument, ExpiredInquiryFile, Retention
from storage.uow import unit_of_work

__all__ = [
    "INQUIRY_NOTICE_KEY",
    "NOTICE_KEY",
    "RetentionSummary",
    "apply_retention",
    "months_before",
    "plan_retention",
]

NOTICE_KEY = "desk.retention.removed"
"""The history's notice on a request whose documents were removed."""

INQUIRY_NOTICE_KEY = "desk.retention.inquiry_files"
"""The clerks' notice on a request whose inquiries' files were removed."""

BATCH = 500
"""Requests per transaction: short enough that the bot's own writes never wait long behind one."""


@dataclass(frozen=True, slots=True)
class RetentionSummary:
    """What retention removes (``--dry-run``) or removed: the documents and inquiry files of how many requests, the
    stored files and bytes freed."""

    cutoff: datetime
    requests: int = 0
    documents: int = 0
    files: int = 0
    bytes: int = 0
    inquiry_files: int = 0

    def plus(
        self, requests: int, documents: int, files: int, size: int, inquiry_files: int = 0
    ) -> RetentionSummary:
        return RetentionSummary(
            self.cutoff,
            self.requests + requests,
            self.documents + documents,
            self.files + files,
            self.bytes + size,
            self.inquiry_files + inquiry_files,
        )


def months_before(moment: datetime, months: int) -> datetime:
    """The same time ``months`` calendar months earlier (the day clamped to the shorter month's end)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


async def _freed(
    retention: Retention,
    documents: list[ExpiredDocument],
    inquiry_files: list[ExpiredInquiryFile],
    request_ids: list[int],
) -> dict[str, int]:
    """The stored files (path: size) no document or inquiry outside ``request_ids`` names: what removing them frees."""
    sizes = {f.stored_path: f.size for f in inquiry_files} | {d.stored_path: d.size for d in documents}
    kept = await retention.paths_kept_by_others(sizes.keys(), request_ids)
    return {path: size for path, size in sizes.items() if path not in kept}


def _remove_files(store: DocumentStore, paths: Iterable[str]) -> None:
    for path in paths:
        store.remove(path)


async def plan_retention(
    factory: async_sessionmaker[AsyncSession], *, months: int, now: datetime | None = None
) -> RetentionSummary:
    """What ``apply_retention`` would remove now, removing nothing (``miz retention --dry-run``)."""
    summary = RetentionSummary(months_before(now or utcnow(), months))
    after = 0
    async with factory() as session:
        retention = Retention(session)
        while batch := await retention.requests_closed_before(summary.cutoff, after_id=after, limit=BATCH):
            documents = await retention.documents_of(batch)
            inquiry_files = await retention.inquiry_files_of(batch)
            freed = await _freed(retention, documents, inquiry_files, batch)
            summary = summary.plus(
                len(batch), len(documents), len(freed), sum(freed.values()), len(inquiry_files)
            )
            after = batch[-1]
    return summary


async def apply_retention(
    factory: async_sessionmaker[AsyncSession],
    store: DocumentStore,
    *,
    months: int,
    now: datetime | None = None,
) -> RetentionSummary:
    """Remove the documents of requests closed more than ``months`` months before ``now``; what went."""
    if months <= 0:
        raise ValueError("retention needs a positive number of months")
    summary = RetentionSummary(months_before(now or utcnow(), months))
    notice = make_notice(NOTICE_KEY, months=months)
    inquiry_notice = make_notice(INQUIRY_NOTICE_KEY, months=months)
    while True:
        async with unit_of_work(factory, write=True) as session:
            retention = Retention(session)
            batch = await retention.requests_closed_before(summary.cutoff, limit=BATCH)
            if not batch:
                break
            documents = await retention.documents_of(batch)
            inquiry_files = await retention.inquiry_files_of(batch)
            freed = await _freed(retention, documents, inquiry_files, batch)
            await retention.remove_documents(batch)
            await retention.remove_inquiry_files(batch)
            for request_id in sorted({d.request_id for d in documents}):
                session.add(
                    RequestEvent(
                        request_id=request_id, actor_kind=Actor.SYSTEM.value, notice=notice, public=True
                    )
                )
            for request_id in sorted({f.request_id for f in inquiry_files}):
                session.add(
                    RequestEvent(
                        request_id=request_id,
                        actor_kind=Actor.SYSTEM.value,
                        notice=inquiry_notice,
                        public=False,
                    )
                )
        await asyncio.to_thread(_remove_files, store, freed)
        summary = summary.plus(
            len(batch), len(documents), len(freed), sum(freed.values()), len(inquiry_files)
        )
    return summary
