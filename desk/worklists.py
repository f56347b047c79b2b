"""The clerks' work lists: ``/open``, ``/mine`` and ``/overdue``, counted in full and read a page at a time.

A list is always of the organization the clerk acts for (``ActorRef.organization_id``, the group's organization):
nothing a client sends chooses it, so a forged page button can only page through the presser's own
organization's list (and ``/mine`` through their own requests). Every list says how many requests it has in all
(counted by the database, never a capped read), and which page of how many is shown; a page past the end shows
the last one.

"Open" is every filed status not finished (``storage.repositories.OPEN_STATUSES``); overdue is open with a
deadline before today (the county's local date).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk.handling import ActorRef
from storage.repositories import Listed, Requests

__all__ = ["PAGE_SIZE", "ListKind", "WorkPage", "work_page"]

PAGE_SIZE: Final = 20
"""Requests on one page of a list: twenty lines keep a message well within 4096 characters."""


class ListKind(enum.StrEnum):
    """Which work list: the organization's open requests, the clerk's own open ones, or the overdue ones."""

    OPEN = "open"
    MINE = "mine"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class WorkPage:
    """One page of a work list: its requests, how many the list has in all, and which page of how many it is.

    ``page`` counts from 0; ``pages`` is at least 1 (an empty list has one empty page).
    """

    kind: ListKind
    items: tuple[Listed, ...]
    total: int
    page: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 0

    @property
    def has_next(self) -> bool:
        return self.page < self.pages - 1


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
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    items = await requests.work_list(
        actor.organization_id, assignee=assignee, late_on=late_on, offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )
    return WorkPage(kind, tuple(items), total, page, pages)
