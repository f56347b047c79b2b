"""Deadlines watched every morning: a digest to each operator group, and escalation of the long overdue.

Each request's ``deadline`` comes from its service's duration in working days (``desk.calendar``). Once a day,
on the organization's working days only, :func:`queue_digests` queues for each operator group (Persian,
``desk.handling.GROUP_LANG``) a ``text`` notification listing its open requests due today and those overdue,
most overdue first. Requests overdue by more than ``escalate_after_days`` **calendar days** are also listed, grouped
by organization, to the governorate's groups (on the governorate's working days). "Days late" is counted in
calendar days too (``today - deadline``), so what a clerk reads and what the threshold means are the same number.

"Open" is every filed status that is not finished (``storage.repositories.OPEN_STATUSES``), including a
request waiting for the citizen or another agency: the deadline does not pause, and the clerks should see it.

Dedupe keys carry the day (``digest:<org>:<YYYY-MM-DD>:<platform>``, ``escalation:<YYYY-MM-DD>:<platform>``), so
running twice on one day sends once. The lists are written out here (each line from a locale text, Persian digits,
Jalali dates, organization names from ``names``) and travel as the ``items`` parameter; they are capped at
``LIST_LINES`` lines and ``LIST_CHARS`` characters, with "and N more", so a message stays within the messengers'
4096-character limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk.handling import GROUP_LANG
from desk.i18n import translator
from desk.notifications import enqueue_chat, text_payload
from desk.persian import format_jalali_date, format_number
from desk.requests import PLATFORMS, Title
from desk.tracking import format_tracking_code
from storage.repositories import Listed, Outbox, Requests

__all__ = [
    "LIST_CHARS",
    "LIST_LINES",
    "TITLE_MAX",
    "DigestResult",
    "OrgGroups",
    "Transaction",
    "day_keys",
    "digest_key",
    "digests_queued",
    "escalation_key",
    "queue_digests",
]

LIST_LINES: Final = 30
"""Most requests one digest lists; the rest are counted in an "and N more" line."""
LIST_CHARS: Final = 3000
"""Most characters of a digest's list, so the whole message stays well under 4096 characters."""
TITLE_MAX: Final = 60
"""A service title longer than this is cut (with '…') in a list line."""

_ONE_DAY: Final = timedelta(days=1)

Transaction = Callable[[], AbstractAsyncContextManager[AsyncSession]]
"""Opens one write transaction and gives its session (``lambda: unit_of_work(factory, write=True)``)."""


@dataclass(frozen=True, slots=True)
class OrgGroups:
    """An organization as the digest needs it, given by the caller from the catalog.

    ``groups`` maps a platform (``telegram``, ``bale``) to the chat id of the organization's operator group there
    (empty when it has none); ``is_working_day`` tells whether offices are open today in its calendar (no digest
    on a weekend or holiday).
    """

    organization_id: str
    groups: Mapping[str, int] = field(default_factory=dict)
    is_working_day: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.groups) - PLATFORMS
        if unknown:
            raise ValueError(f"unknown platforms {sorted(unknown)} in the groups of {self.organization_id}")


@dataclass(frozen=True, slots=True)
class DigestResult:
    """What one run queued.

    ``queued`` rows were added now, ``already_queued`` were found from an earlier run the same day. ``digests``
    are the organizations whose groups got (or already had) today's digest, ``escalated`` those listed to the
    governorate, and ``unreachable`` those with requests due on a working day but no operator group to tell.
    """

    queued: int = 0
    already_queued: int = 0
    digests: tuple[str, ...] = ()
    escalated: tuple[str, ...] = ()
    unreachable: tuple[str, ...] = ()


def digest_key(organization_id: str, day: date, platform: str) -> str:
    """The dedupe key of an organization's digest of ``day`` in its group on ``platform``."""
    return f"digest:{organization_id}:{day.isoformat()}:{platform}"


def escalation_key(day: date, platform: str) -> str:
    """The dedupe key of the governorate's escalation list of ``day`` in its group on ``platform``."""
    return f"escalation:{day.isoformat()}:{platform}"


def day_keys(day: date, organizations: Sequence[OrgGroups], governorate: OrgGroups | None) -> list[str]:
    """The dedupe keys every digest and escalation of ``day`` would have, for these organizations' groups."""
    keys = [
        digest_key(org.organization_id, day, platform) for org in organizations for platform in org.groups
    ]
    if governorate is not None:
        keys += [escalation_key(day, platform) for platform in governorate.groups]
    return keys


async def digests_queued(
    session: AsyncSession, day: date, organizations: Sequence[OrgGroups], governorate: OrgGroups | None
) -> bool:
    """Whether any digest or escalation of ``day`` is already in the outbox (a run happened that day).

    Looks up the exact keys of ``day_keys`` (the outbox's unique index), never a pattern over the whole outbox.
    """
    return await Outbox(session).has_key(*day_keys(day, organizations, governorate))


async def queue_digests(
    transaction: Transaction,
    *,
    today: date,
    organizations: Sequence[OrgGroups],
    governorate: OrgGroups | None,
    escalate_after_days: int = 3,
    names: Mapping[str, str] | None = None,
) -> DigestResult:
    """Queue today's digests and escalation, each organization's in its own short transaction.

    ``transaction()`` opens one write transaction (``lambda: unit_of_work(factory, write=True)``). Each
    organization's digest is read and queued in one, the escalation in one more, and the event loop runs other
    work between them: on SQLite, which runs in the event loop, a county's digest never holds the loop (nor the
    write lock) for more than one organization's few indexed queries. The dedupe keys make a run that stopped
    half-way safe to repeat.

    ``today`` is the county's local date (Asia/Tehran). Each organization with open requests due today or
    overdue gets, on its working days, one message per operator group. Requests overdue by more than
    ``escalate_after_days`` calendar days in any of ``organizations`` are listed to ``governorate``'s groups, under
    each organization's name from ``names`` (organization id -> Persian name; the id when missing). Nothing is
    queued for an organization with nothing due, nor twice for one day.
    """
    if escalate_after_days < 0:
        raise ValueError("escalate_after_days must be >= 0")
    sent = _Sent()
    digests: list[str] = []
    unreachable: list[str] = []

    for org in organizations:
        if not org.is_working_day:
            continue
        async with transaction() as session:
            queued = await _queue_digest(session, org, today, sent)
        if queued:
            (digests if org.groups else unreachable).append(org.organization_id)
        await asyncio.sleep(0)  # let the loop answer people between organizations

    escalated: list[str] = []
    if governorate is not None and governorate.is_working_day and governorate.groups:
        async with transaction() as session:
            escalation = await _escalation(
                Requests(session), today, organizations, escalate_after_days, names or {}
            )
            if escalation is not None:
                payload, escalated = escalation
                await sent.to_groups(session, governorate, payload, partial(escalation_key, today))

    return DigestResult(
        queued=sent.queued,
        already_queued=sent.already,
        digests=tuple(digests),
        escalated=tuple(escalated),
        unreachable=tuple(unreachable),
    )


async def _queue_digest(session: AsyncSession, org: OrgGroups, today: date, sent: _Sent) -> bool:
    """Queue ``org``'s digest of ``today`` to its groups; False when it has nothing due (True without groups)."""
    requests = Requests(session)
    total = (await requests.count_due_by(today, organization_id=org.organization_id)).get(
        org.organization_id, 0
    )
    if not total:
        return False
    if not org.groups:
        return True
    yesterday = today - _ONE_DAY
    late = (await requests.count_due_by(yesterday, organization_id=org.organization_id)).get(
        org.organization_id, 0
    )
    shown = await requests.due_by(today, organization_id=org.organization_id, limit=LIST_LINES)
    lines, more = _list(shown, today, budget=_Budget())
    payload = text_payload(
        "notify.digest.organization",
        GROUP_LANG,
        params={
            "org": org.organization_id,
            "overdue": late,
            "due": total - late,
            "items": _with_more(lines, more + total - len(shown)),
        },
        dates={"date": today},
    )
    await sent.to_groups(session, org, payload, partial(digest_key, org.organization_id, today))
    return True


async def _escalation(
    requests: Requests,
    today: date,
    organizations: Sequence[OrgGroups],
    escalate_after_days: int,
    names: Mapping[str, str],
) -> tuple[dict[str, Any], list[str]] | None:
    """The governorate's list of requests overdue by more than ``escalate_after_days``, and whose they are."""
    cutoff = today - timedelta(days=escalate_after_days + 1)
    counts = await requests.count_due_by(cutoff)
    budget = _Budget()
    blocks: list[str] = []
    escalated: list[str] = []
    left_out = 0
    t = translator(GROUP_LANG)
    for org in organizations:
        count = counts.get(org.organization_id, 0)
        if not count:
            continue
        escalated.append(org.organization_id)
        header = t(
            "notify.digest.escalation_org",
            name=names.get(org.organization_id, org.organization_id),
            count=format_number(count, GROUP_LANG),
        )
        if budget.lines <= 0 or not budget.take(header, line=False):
            left_out += count
            continue
        shown = await requests.due_by(cutoff, organization_id=org.organization_id, limit=budget.lines)
        lines, more = _list(shown, today, budget=budget)
        blocks.append("\n".join([header, *lines]))
        left_out += more + count - len(shown)
    if not escalated:
        return None
    payload = text_payload(
        "notify.digest.escalation",
        GROUP_LANG,
        params={
            "days": escalate_after_days,
            "count": sum(counts.get(org_id, 0) for org_id in escalated),
            "orgs": len(escalated),
            "items": _with_more(["\n\n".join(blocks)] if blocks else [], left_out),
        },
        dates={"date": today},
    )
    return payload, escalated


@dataclass(slots=True)
class _Sent:
    """How many rows a run queued now, and how many an earlier run of the day had queued already."""

    queued: int = 0
    already: int = 0

    async def to_groups(
        self, session: AsyncSession, org: OrgGroups, payload: dict[str, Any], key: Callable[[str], str]
    ) -> None:
        """Queue ``payload`` to every operator group of ``org``, once a day (``key`` of the platform)."""
        for platform, chat_id in sorted(org.groups.items()):
            added = await enqueue_chat(
                session,
                platform=platform,
                chat_id=chat_id,
                organization_id=org.organization_id,
                payload=payload,
                dedupe_key=key(platform),
            )
            if added:
                self.queued += 1
            else:
                self.already += 1


@dataclass(slots=True)
class _Budget:
    """What is left of one message's list: request lines and characters."""

    lines: int = LIST_LINES
    chars: int = LIST_CHARS

    def take(self, text: str, *, line: bool = True) -> bool:
        """Spend room for ``text`` (a request line unless ``line`` is False); False when it does not fit."""
        if (line and self.lines <= 0) or len(text) + 1 > self.chars:
            return False
        self.chars -= len(text) + 1
        if line:
            self.lines -= 1
        return True


def _list(requests: Sequence[Listed], today: date, *, budget: _Budget) -> tuple[list[str], int]:
    """The lines of ``requests`` that fit in ``budget``, and how many did not fit."""
    lines: list[str] = []
    for n, request in enumerate(requests):
        line = _line(request, today)
        if not budget.take(line):
            return lines, len(requests) - n
        lines.append(line)
    return lines, 0


def _line(request: Listed, today: date) -> str:
    """One request as a list line: tracking code, service title, and its deadline with the days late."""
    assert request.deadline is not None
    t = translator(GROUP_LANG)
    title = Title.parse(request.title).text(GROUP_LANG) or request.service_id
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1].rstrip() + "…"
    code = format_tracking_code(request.tracking_code, GROUP_LANG)
    days = (today - request.deadline).days
    if days <= 0:
        return t("notify.digest.due", code=code, title=title)
    return t(
        "notify.digest.late",
        code=code,
        title=title,
        deadline=format_jalali_date(request.deadline, GROUP_LANG),
        days=format_number(days, GROUP_LANG),
    )


def _with_more(lines: Sequence[str], more: int) -> str:
    """The list's text, with "and N more" when some requests were left out."""
    if more > 0:
        more_line = translator(GROUP_LANG)("notify.digest.more", count=format_number(more, GROUP_LANG))
        lines = [*lines, more_line]
    return "\n".join(lines)
