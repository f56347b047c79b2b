"""Service requests with their documents, and their history (events)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, case, func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage.errors import TrackingCodeTakenError
from storage.models import Document, RequestEvent, RequestIdentifier, ServiceRequest, ServiceVersion
from storage.repositories.base import Repository

__all__ = ["OPEN_STATUSES", "Events", "Listed", "Requests"]

OPEN_STATUSES: tuple[str, ...] = (
    "submitted",
    "in_progress",
    "needs_info",
    "waiting_external",
    "awaiting_payment",
)
"""Statuses of requests still to be worked on (``desk.lifecycle.OPEN_STATUSES``, as stored).

Lists name them (``status IN (...)``), never the closed ones (``NOT IN``), so the indexes on
``(organization_id, status, deadline)`` and ``(status, deadline)`` serve every list and count.
"""


@dataclass(frozen=True, slots=True)
class Listed:
    """A request as a line of a list shows it: never its answers, nor of its service definition more than the title.

    Lists read these columns alone (the title picked out by the database), not whole requests with their JSON.
    """

    id: int
    tracking_code: str
    service_id: str
    status: str
    deadline: date | None
    title: Mapping[str, Any] | None
    """The service's title as filed: ``{"fa": ..., "en": ...}``."""

    @classmethod
    def of(cls, request: ServiceRequest) -> Listed:
        """A request read whole, as a list line."""
        assert request.id is not None
        title = request.service_snapshot.get("title")
        return cls(
            request.id, request.tracking_code, request.service_id, request.status, request.deadline, title
        )


ListedSelect = Select[int | None, str, str, str, date | None, int | None]
"""A query of ``_listed()``'s columns (filtered, ordered and paged by the caller)."""


def _listed() -> ListedSelect:
    """The columns of ``Listed`` but the title, in its order, and the service version to read the title from."""
    return sa_select(
        col(ServiceRequest.id),
        col(ServiceRequest.tracking_code),
        col(ServiceRequest.service_id),
        col(ServiceRequest.status),
        col(ServiceRequest.deadline),
        col(ServiceRequest.service_version_id),
    ).select_from(ServiceRequest)


class Requests(Repository):
    """Service requests, by tracking code, by citizen, and as the work lists of organizations."""

    async def add(
        self,
        request: ServiceRequest,
        *,
        events: Iterable[RequestEvent] = (),
        documents: Iterable[Document] = (),
        identifiers: Iterable[RequestIdentifier] = (),
    ) -> tuple[ServiceRequest, bool]:
        """File ``request`` with its first events, its documents and the identifiers it names; returns
        ``(request, created)``.

        When ``request.idempotency_key`` names a request that already exists (the citizen tapped
        "submit" twice), nothing is written and that request is returned with ``created=False``.
        Raises ``TrackingCodeTakenError`` if the tracking code is in use: draw another and call again.
        """
        key = request.idempotency_key
        if key is not None:
            existing = await self.by_idempotency_key(key)
            if existing is not None:
                return existing, False
        children = [*events, *documents, *identifiers]
        try:
            async with self.session.begin_nested():
                self.session.add(request)
                await self.session.flush()
                assert request.id is not None
                for item in children:
                    item.request_id = request.id
                    self.session.add(item)
        except IntegrityError:
            if key is not None:
                existing = await self.by_idempotency_key(key)
                if existing is not None:
                    return existing, False
            if await self.by_tracking_code(request.tracking_code) is not None:
                raise TrackingCodeTakenError(request.tracking_code) from None
            raise
        return request, True

    async def get(self, request_id: int) -> ServiceRequest | None:
        """The request with this database id."""
        return await self.session.get(ServiceRequest, request_id)

    async def get_for_update(self, request_id: int) -> ServiceRequest | None:
        """The request with this id, read afresh and locked until the transaction ends (``FOR UPDATE``).

        Two clerks acting on one request at once then act one after the other, the second on what the first
        left. SQLite ignores the lock: there a writer's ``BEGIN IMMEDIATE`` (``unit_of_work(..., write=True)``)
        already serializes the transactions.
        """
        stmt = (
            select(ServiceRequest)
            .where(col(ServiceRequest.id) == request_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).first()

    async def by_tracking_code(self, tracking_code: str) -> ServiceRequest | None:
        """The request with this tracking code (already normalized and checked by ``desk``)."""
        stmt = select(ServiceRequest).where(col(ServiceRequest.tracking_code) == tracking_code)
        return (await self.session.scalars(stmt)).first()

    async def by_idempotency_key(self, key: str) -> ServiceRequest | None:
        """The request filed with this submit key, if any."""
        stmt = select(ServiceRequest).where(col(ServiceRequest.idempotency_key) == key)
        return (await self.session.scalars(stmt)).first()

    async def by_citizen(self, citizen_id: int, *, limit: int = 20) -> Sequence[ServiceRequest]:
        """The citizen's requests, newest first."""
        stmt = (
            select(ServiceRequest)
            .where(col(ServiceRequest.citizen_id) == citizen_id)
            .order_by(col(ServiceRequest.created_at).desc(), col(ServiceRequest.id).desc())
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def in_conversation(
        self, citizen_id: int, *, spoken_since: datetime, waiting: str, closed: str
    ) -> ServiceRequest | None:
        """The citizen's request whose organization spoke to them last: status ``waiting`` (always), or a public
        event by staff or the system at ``spoken_since`` or later; never a request in status ``closed``.

        Of several, the one the organization spoke about most recently (a waiting one without such an event
        last, newest first).
        """
        spoken = (
            select(col(RequestEvent.request_id), func.max(col(RequestEvent.at)).label("last"))
            .where(col(RequestEvent.public), col(RequestEvent.actor_kind) != "citizen")
            .group_by(col(RequestEvent.request_id))
            .subquery()
        )
        stmt = (
            select(ServiceRequest)
            .outerjoin(spoken, spoken.c.request_id == col(ServiceRequest.id))
            .where(
                col(ServiceRequest.citizen_id) == citizen_id,
                col(ServiceRequest.status) != closed,
                (col(ServiceRequest.status) == waiting) | (spoken.c.last >= spoken_since),
            )
            .order_by(spoken.c.last.desc().nulls_last(), col(ServiceRequest.updated_at).desc())
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first()

    async def filed_by(self, citizen_id: int, *, limit: int, offset: int = 0) -> Sequence[ServiceRequest]:
        """One page of the citizen's filed requests (drafts left out), newest first."""
        stmt = (
            select(ServiceRequest)
            .where(col(ServiceRequest.citizen_id) == citizen_id, col(ServiceRequest.status) != "draft")
            .order_by(col(ServiceRequest.created_at).desc(), col(ServiceRequest.id).desc())
            .offset(offset)
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def count_filed_by(self, citizen_id: int) -> int:
        """How many requests the citizen filed (drafts left out), counted by the database."""
        stmt = (
            select(func.count())
            .select_from(ServiceRequest)
            .where(col(ServiceRequest.citizen_id) == citizen_id, col(ServiceRequest.status) != "draft")
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def answered_yes(
        self, service_id: str, field_id: str, *, exclude_organization: str
    ) -> Sequence[ServiceRequest]:
        """The requests of a service whose answer to the yes/no ``field_id`` is yes, handled by any organization but
        ``exclude_organization``, oldest first."""
        stmt = (
            select(ServiceRequest)
            .where(
                col(ServiceRequest.service_id) == service_id,
                col(ServiceRequest.organization_id) != exclude_organization,
                col(ServiceRequest.answers)[field_id].as_boolean().is_(True),
            )
            .order_by(col(ServiceRequest.id))
        )
        return (await self.session.scalars(stmt)).all()

    async def naming(
        self, organization_id: str, kind: str, value: str, *, limit: int
    ) -> tuple[list[Listed], int]:
        """The organization's filed requests naming identifier ``value`` of ``kind``, newest first (at most
        ``limit``), and how many there are in all. Looked up in ``request_identifier``'s index, however old."""
        conditions = (
            col(RequestIdentifier.kind) == kind,
            col(RequestIdentifier.value) == value,
            col(ServiceRequest.organization_id) == organization_id,
            col(ServiceRequest.status) != "draft",
        )
        joined = _listed().join(
            RequestIdentifier, col(RequestIdentifier.request_id) == col(ServiceRequest.id)
        )
        stmt = (
            joined.where(*conditions)
            .order_by(col(ServiceRequest.created_at).desc(), col(ServiceRequest.id).desc())
            .limit(limit)
        )
        found = await self._titled(stmt)
        if len(found) < limit:
            return found, len(found)
        count = (
            select(func.count())
            .select_from(ServiceRequest)
            .join(RequestIdentifier, col(RequestIdentifier.request_id) == col(ServiceRequest.id))
            .where(*conditions)
        )
        return found, int((await self.session.execute(count)).scalar_one())

    async def work_list(
        self,
        organization_id: str,
        *,
        assignee: tuple[str, int] | None = None,
        late_on: date | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> list[Listed]:
        """One page of the organization's requests still to be worked on, nearest deadline first (none last).

        ``assignee`` (platform, user id) keeps that clerk's own; ``late_on`` keeps those whose deadline is before
        that day (the overdue). ``count_work`` with the same filters counts them all.
        """
        stmt = (
            _listed()
            .where(*_work_conditions(organization_id, assignee, late_on))
            .order_by(
                col(ServiceRequest.deadline).is_(None),
                col(ServiceRequest.deadline),
                col(ServiceRequest.id),
            )
            .offset(offset)
            .limit(limit)
        )
        return await self._titled(stmt)

    async def open_by_organization(self, today: date) -> dict[str, tuple[int, int]]:
        """Each organization's open requests and, of them, the overdue (deadline before ``today``): one grouped
        read of the open rows by the ``(status, deadline)`` index, for the metrics."""
        late = func.sum(case((col(ServiceRequest.deadline) < today, 1), else_=0))
        stmt = (
            sa_select(col(ServiceRequest.organization_id), func.count(), late)
            .where(col(ServiceRequest.status).in_(OPEN_STATUSES))
            .group_by(col(ServiceRequest.organization_id))
        )
        return {
            org: (int(count), int(overdue or 0)) for org, count, overdue in await self.session.execute(stmt)
        }

    async def count_work(
        self, organization_id: str, *, assignee: tuple[str, int] | None = None, late_on: date | None = None
    ) -> int:
        """How many requests ``work_list`` lists with these filters, on all its pages."""
        stmt = select(func.count()).where(*_work_conditions(organization_id, assignee, late_on))
        return int((await self.session.execute(stmt)).scalar_one())

    async def due_by(
        self,
        day: date,
        *,
        organization_id: str | None = None,
        limit: int | None = None,
    ) -> list[Listed]:
        """Open requests whose deadline is ``day`` or earlier, most overdue first (ties by id).

        With ``day`` = today this is the morning digest's list: the requests due today and the overdue ones.
        """
        conditions = [
            col(ServiceRequest.status).in_(OPEN_STATUSES),
            col(ServiceRequest.deadline) <= day,
        ]
        if organization_id is not None:
            conditions.append(col(ServiceRequest.organization_id) == organization_id)
        stmt = (
            _listed()
            .where(*conditions)
            .order_by(col(ServiceRequest.deadline), col(ServiceRequest.id))
            .limit(limit)
        )
        return await self._titled(stmt)

    async def count_due_by(self, day: date, *, organization_id: str | None = None) -> dict[str, int]:
        """How many open requests of each organization (or of ``organization_id``) have a deadline on ``day`` or
        earlier (none: absent)."""
        stmt = (
            select(ServiceRequest.organization_id, func.count())
            .where(col(ServiceRequest.status).in_(OPEN_STATUSES), col(ServiceRequest.deadline) <= day)
            .group_by(col(ServiceRequest.organization_id))
        )
        if organization_id is not None:
            stmt = stmt.where(col(ServiceRequest.organization_id) == organization_id)
        return {row[0]: row[1] for row in (await self.session.execute(stmt)).all()}

    async def documents(self, request_id: int) -> Sequence[Document]:
        """The request's documents in the order they arrived."""
        stmt = select(Document).where(col(Document.request_id) == request_id).order_by(col(Document.id))
        return (await self.session.scalars(stmt)).all()

    async def add_document(self, document: Document) -> Document:
        """Attach one more document to an existing request (a reply to "please send ...")."""
        self.session.add(document)
        await self.session.flush()
        return document

    async def filed_per_service(self, since: datetime) -> dict[tuple[str, str], int]:
        """How many requests each organization's services got since ``since``, by ``(organization id, service
        id)``: one grouped read by the index on when requests were filed (the posters' most used services)."""
        stmt = (
            sa_select(col(ServiceRequest.organization_id), col(ServiceRequest.service_id), func.count())
            .where(col(ServiceRequest.submitted_at) >= since)
            .group_by(col(ServiceRequest.organization_id), col(ServiceRequest.service_id))
        )
        return {(org, service): int(count) for org, service, count in await self.session.execute(stmt)}

    async def count_by_status(self, organization_id: str | None = None) -> dict[str, int]:
        """How many requests are in each status, for one organization or all of them."""
        stmt = select(ServiceRequest.status, func.count()).group_by(col(ServiceRequest.status))
        if organization_id is not None:
            stmt = stmt.where(col(ServiceRequest.organization_id) == organization_id)
        return {row[0]: row[1] for row in (await self.session.execute(stmt)).all()}

    async def _titled(self, stmt: ListedSelect) -> list[Listed]:
        """The rows of ``stmt`` (a ``_listed()`` page) as ``Listed``, each with its service's title as filed.

        The titles are read afterwards, for the page's few service versions: joined into the list's query,
        PostgreSQL unpacked a whole definition (about 13 KB of compressed JSON) for every row it sorted,
        before the page's limit (45 ms of a 54 ms ``/open`` at 910 open requests).
        """
        rows = (await self.session.execute(stmt)).all()
        versions = {row.service_version_id for row in rows if row.service_version_id is not None}
        titles: dict[int, Mapping[str, Any] | None] = {}
        if versions:
            found = await self.session.execute(
                sa_select(col(ServiceVersion.id), col(ServiceVersion.definition)["title"]).where(
                    col(ServiceVersion.id).in_(versions)
                )
            )
            titles = dict(found.all())
        return [
            Listed(cast(int, id_), code, service, status, deadline, titles.get(version) if version else None)
            for id_, code, service, status, deadline, version in rows
        ]


def _work_conditions(
    organization_id: str, assignee: tuple[str, int] | None, late_on: date | None
) -> list[ColumnElement[bool]]:
    """The filters of a work list: the organization's open requests, maybe one clerk's, maybe the overdue."""
    conditions: list[ColumnElement[bool]] = [
        col(ServiceRequest.organization_id) == organization_id,
        col(ServiceRequest.status).in_(OPEN_STATUSES),
    ]
    if assignee is not None:
        conditions += [
            col(ServiceRequest.assignee_platform) == assignee[0],
            col(ServiceRequest.assignee_user_id) == assignee[1],
        ]
    if late_on is not None:
        conditions.append(col(ServiceRequest.deadline) < late_on)
    return conditions


class Events(Repository):
    """The history of requests."""

    async def add(self, event: RequestEvent) -> RequestEvent:
        """Append an event (its ``request_id`` must be set)."""
        self.session.add(event)
        await self.session.flush()
        return event

    async def history(self, request_id: int, *, public_only: bool = True) -> Sequence[RequestEvent]:
        """The request's events in order; only what the citizen may see unless ``public_only=False``."""
        stmt = select(RequestEvent).where(col(RequestEvent.request_id) == request_id)
        if public_only:
            stmt = stmt.where(col(RequestEvent.public).is_(True))
        stmt = stmt.order_by(col(RequestEvent.at), col(RequestEvent.id))
        return (await self.session.scalars(stmt)).all()
