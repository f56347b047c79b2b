"""A citizen's own requests: "my requests" page by page, and one request's own page.

Pages are counted and cut by the database (``LIMIT``/``OFFSET`` on the citizen's index), never by loading every
request. A request's own page is for the citizen who filed it alone (same platform and user id): anyone else,
and an id no request has, get ``NotFound`` with the same key as tracking (``desk.request.not_found``), so an id in
a forged button tells nothing. It shows what tracking shows (status and public history) and, being the owner's,
their own answers and documents, the certificates issued for the request and its payments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk.errors import NotFound
from desk.lifecycle import Status, is_open, is_public
from desk.requests import RequestSummary, Title, TrackView, track_view
from storage.models import Certificate, Document, Payment, ServiceRequest
from storage.repositories import Certificates, Citizens, Payments, Requests

__all__ = ["MINE_PAGE", "MinePage", "OwnRequest", "my_request", "my_requests_page", "own_request"]

MINE_PAGE: Final = 10
"""Requests on one page of "my requests", newest first."""


@dataclass(frozen=True, slots=True)
class MinePage:
    """One page of "my requests": its requests (with their ids, for the buttons), the page and how many in all."""

    items: tuple[tuple[int, RequestSummary], ...]
    page: int
    total: int
    size: int = MINE_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_newer(self) -> bool:
        return self.page > 0

    @property
    def has_older(self) -> bool:
        return (self.page + 1) * self.size < self.total


@dataclass(frozen=True, slots=True)
class OwnRequest:
    """A request's own page, for the citizen who filed it."""

    request: ServiceRequest
    view: TrackView
    """What tracking shows of it: where it stands and its public history."""
    documents: tuple[Document, ...]
    certificates: tuple[Certificate, ...]
    payments: tuple[Payment, ...]

    @property
    def request_id(self) -> int:
        assert self.request.id is not None
        return self.request.id

    @property
    def is_open(self) -> bool:
        return is_open(self.view.status)

    @property
    def form(self) -> list[dict[str, Any]]:
        """The form's questions as filed (the service snapshot), to read the answers with."""
        return list(self.request.service_snapshot.get("form") or [])

    @property
    def answers(self) -> dict[str, Any]:
        return dict(self.request.answers)


def _summary(row: ServiceRequest) -> RequestSummary:
    return RequestSummary(
        tracking_code=row.tracking_code,
        organization_id=row.organization_id,
        service_id=row.service_id,
        title=Title.of(row.service_snapshot),
        status=Status(row.status),
        submitted_at=row.submitted_at,
        deadline=row.deadline,
        updated_at=row.updated_at,
    )


async def my_requests_page(
    session: AsyncSession, platform: str, user_id: int, page: int, size: int = MINE_PAGE
) -> MinePage:
    """Page ``page`` (0 = newest) of the citizen's filed requests; a page past the last gives the last one."""
    citizen = await Citizens(session).find(platform, user_id)
    if citizen is None or citizen.id is None:
        return MinePage((), 0, 0, size)
    requests = Requests(session)
    total = await requests.count_filed_by(citizen.id)
    page = max(0, min(page, max(0, -(-total // size) - 1)))
    rows = await requests.filed_by(citizen.id, limit=size, offset=page * size)
    return MinePage(tuple((row.id, _summary(row)) for row in rows if row.id is not None), page, total, size)


async def own_request(session: AsyncSession, platform: str, user_id: int, request_id: int) -> ServiceRequest:
    """Request ``request_id`` when ``platform:user_id`` filed it; ``NotFound`` otherwise (the same as no such id)."""
    citizen = await Citizens(session).find(platform, user_id)
    request = await Requests(session).get(request_id)
    if (
        citizen is None
        or request is None
        or request.citizen_id != citizen.id
        or not is_public(Status(request.status))
    ):
        raise NotFound("desk.request.not_found")
    return request


async def my_request(session: AsyncSession, platform: str, user_id: int, request_id: int) -> OwnRequest:
    """The own page of request ``request_id`` for the citizen who filed it (see the module's rules)."""
    request = await own_request(session, platform, user_id, request_id)
    assert request.id is not None
    return OwnRequest(
        request=request,
        view=await track_view(session, request),
        documents=tuple(await Requests(session).documents(request.id)),
        certificates=tuple(await Certificates(session).of_request(request.id)),
        payments=tuple(await Payments(session).of_request(request.id)),
    )
