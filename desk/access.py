"""Who handles a request and who may see it: the one place where access to a filed request is decided.

A request is *handled* by one organization (``ServiceRequest.organization_id``) and is *about* the one the citizen
chose (``about_organization_id``). They differ only for an anonymous complaint, which the governorate alone
handles: the organization complained about never sees it, acts on it, answers it or counts it.

Staff act only on the requests their organization handles, whatever path they came by (a button, a reply, a
command, a digest). The governorate's staff may also *read* any request, for oversight and escalations, and each
such reading is logged; they act only on what is routed to them. Everyone else is told that the request does not
exist, the same answer as for an id never used, so ids in buttons tell a forger nothing.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from typing import Any, Final, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from desk.errors import NotFound, ValidationError
from storage.models import ServiceRequest
from storage.repositories import Requests

__all__ = [
    "ANONYMOUS_FIELD",
    "COMPLAINT_SERVICE",
    "Access",
    "Staff",
    "check_handles",
    "group_access",
    "handling_organization",
    "is_anonymous_complaint",
    "rehome_anonymous_complaints",
    "view_of",
]

logger = logging.getLogger(__name__)
audit = logging.getLogger("miz.audit")
"""Oversight readings: who of the governorate read which request (ids only, never a citizen's details)."""

COMPLAINT_SERVICE: Final = "complaint"
"""The catalog's service for complaints about a service or an official."""

ANONYMOUS_FIELD: Final = "anonymous"
"""The complaint form's yes/no field: hide the citizen from the staff of the organization complained about."""


class Access(enum.Enum):
    """What a member of staff may do with a request."""

    ACT = "act"
    """Their organization handles it: every action, reply and note."""
    READ = "read"
    """The governorate reads another organization's request: its card without buttons, nothing more."""


class Staff(Protocol):
    """A registered clerk or supervisor as the bot identified them from the group they act in
    (``desk.handling.ActorRef`` is one)."""

    @property
    def organization_id(self) -> str | None: ...

    @property
    def oversight(self) -> bool:
        """Whether they are the governorate's staff, who may read any organization's requests."""
        ...

    @property
    def actor_id(self) -> str | None: ...


def is_anonymous_complaint(service_id: str, answers: Mapping[str, Any]) -> bool:
    """Whether the citizen asked that the organization complained about never learn who complained."""
    return service_id == COMPLAINT_SERVICE and answers.get(ANONYMOUS_FIELD) is True


def handling_organization(
    chosen: str, service_id: str, answers: Mapping[str, Any], governorate_id: str | None
) -> str:
    """The organization that handles a new request filed at ``chosen``: the governorate for an anonymous complaint.

    Refuses an anonymous complaint when the catalog has no governorate to route it to, rather than sending it
    to the organization complained about.
    """
    if not is_anonymous_complaint(service_id, answers):
        return chosen
    if governorate_id is None:
        raise ValidationError("desk.complaint.no_governorate")
    return governorate_id


def view_of(request: ServiceRequest, staff: Staff) -> Access:
    """What ``staff`` may do with ``request``; raises ``NotFound`` when they may not even see it."""
    if staff.organization_id is not None and request.organization_id == staff.organization_id:
        return Access.ACT
    if staff.oversight:
        audit.info(
            "governorate staff %s read request %s of %s", staff.actor_id, request.id, request.organization_id
        )
        return Access.READ
    raise NotFound("desk.request.not_found")


def group_access(
    request: ServiceRequest, group_organization_id: str | None, *, governorate: bool
) -> Access | None:
    """What a card of ``request`` may show in the operator group of ``group_organization_id``: its actions in the
    handler's group, a read-only card in the governorate's, nothing anywhere else."""
    if group_organization_id is not None and request.organization_id == group_organization_id:
        return Access.ACT
    return Access.READ if governorate else None


def check_handles(request: ServiceRequest, organization_id: str | None) -> None:
    """Raise ``NotFound`` unless ``organization_id`` handles the request (None: the system, which acts anywhere)."""
    if organization_id is not None and request.organization_id != organization_id:
        raise NotFound("desk.request.not_found")


async def rehome_anonymous_complaints(session: AsyncSession, governorate_id: str) -> int:
    """Hand the anonymous complaints filed under the organization complained about to the governorate.

    Complaints filed before requests recorded their handler were stored under the accused organization; this
    moves each to the governorate (keeping whom it is about) and returns how many moved. Idempotent.
    """
    moved = 0
    found = await Requests(session).answered_yes(
        COMPLAINT_SERVICE, ANONYMOUS_FIELD, exclude_organization=governorate_id
    )
    for request in found:
        request.about_organization_id = request.about_organization_id or request.organization_id
        request.organization_id = governorate_id
        session.add(request)
        moved += 1
    if moved:
        logger.warning("moved %d anonymous complaint(s) to the governorate %s", moved, governorate_id)
    return moved
