"""The clerks' work lists: ``/open``, ``/mine`` and ``/overdue``, counted in full and read a page at a time.

A list is always of the organization the clerk acts for (``ActorRef.organization_id``, the group's organization):
nothing a client sends chooses it, so a forged page button can only page through the presser's own
organization's list (and ``/mine`` through their own requests). Every list says how many requests it has in all
(counted by the database, never a capped read), and which page of how many is shown; a page past the end shows
the last one.

"Open" is every filed status not finished (``storage.repositories.OPEN_STATUSES``); overdue is open with a
deadline before today (the county's local date).

An agency files no requests: it answers inquiries. Its ``/open`` and ``/overdue`` (:func:`inquiry_page`) list the
inquiries sent to it that wait for its answer (``open``, or ``need_more`` while the asker replies), counted and
paged the same way, the earliest due first; only those sent to the presser's own organization, whatever a button
says.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Final, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from desk.handling import ActorRef
from desk.lifecycle import Actor
from storage.models import Inquiry
from storage.repositories import Inquiries, Listed, Requests

__all__ = ["PAGE_SIZE", "InquiryPage", "ListKind", "Paged", "WorkPage", "inquiry_page", "work_page"]

PAGE_SIZE: Final = 20
"""Requests on one page of a list: twenty lines keep a message well within 4096 characters."""


Item = TypeVar("Item")


class ListKind(enum.StrEnum):
    """Which work list: the organization's open requests, the clerk's own open ones, or the overdue ones."""

    OPEN = "open"
    MINE = "mine"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class Paged(Generic[Item]):
    """One page of a list: its items, how many the list has in all, and which page of how many it is.

    ``page`` counts from 0; ``pages`` is at least 1 (an empty list has one empty page).
    """

    kind: ListKind
    items: tuple[Item, ...]
    total: int
    page: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 0

    @property
    def has_next(self) -> bool:
        return self.page < self.pages - 1


class WorkPage(Paged[Listed]):
    """One page of a clerks' work list of requests."""

    __slots__ = ()


def _clamped(total: int, page: int) -> tuple[int, int]:
    """(the page shown, the pages there are) for ``page`` of a list of ``total`` lines."""
    pages = max(1, -(-total // PAGE_SIZE))
    return min(max(page, 0), pages - 1), pages


async def work_page(
    session: AsyncSession, actor: ActorRef, kind: ListKind, *, today: date, page: int = 0
) -> WorkPage:
    """Page ``page`` of ``actor``'s list ``kind`` (clamped to the pages there are), with the list's full count.

    An actor without an organization (the system) has empty lists, and so has ``/mine`` of one without an account.
    """
    if actor.organization_id is None or (kind is ListKind.MINE and actor.account is None):
        return WorkPage(kind, (), 0, 0, 1)
    requests = Requests(session)
    assignee = actor.account if kind is ListKind.MINE else None
    late_on = today if kind is ListKind.OVERDUE else None
    total = await requests.count_work(actor.organization_id, assignee=assignee, late_on=late_on)
    page, pages = _clamped(total, page)
    items = await requests.work_list(
        actor.organization_id, assignee=assignee, late_on=late_on, offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )
    return WorkPage(kind, tuple(items), total, page, pages)


class InquiryPage(Paged[Inquiry]):
    """One page of an agency's list of inquiries waiting for its answer (``kind`` open or overdue), as
    :class:`WorkPage` is of requests."""

    __slots__ = ()


_STAFF = frozenset({Actor.CLERK, Actor.SUPERVISOR})


async def inquiry_page(
    session: AsyncSession, actor: ActorRef, kind: ListKind, *, today: date, page: int = 0
) -> InquiryPage:
    """Page ``page`` of the inquiries sent to ``actor``'s organization that wait for its answer (``OVERDUE``: of
    them those due before ``today``), the earliest due first, with the list's full count.

    Only the staff of the organization asked see its inquiries; anyone else has an empty list. ``MINE`` is no
    list of inquiries (an agency's inquiries are not assigned to one of its staff).
    """
    if kind is ListKind.MINE:
        raise ValueError("an agency's inquiries are listed as open or overdue")
    if actor.organization_id is None or actor.kind not in _STAFF:
        return InquiryPage(kind, (), 0, 0, 1)
    inquiries = Inquiries(session)
    late_on = today if kind is ListKind.OVERDUE else None
    total = await inquiries.count_waiting(actor.organization_id, late_on=late_on)
    page, pages = _clamped(total, page)
    items = await inquiries.waiting(
        actor.organization_id, late_on=late_on, offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )
    return InquiryPage(kind, tuple(items), total, page, pages)
