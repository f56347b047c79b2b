"""Overdue inquiries, every morning with the digest: reminded to both groups, escalated to the governorate.

An inquiry still open (``open`` or ``need_more``) after its due date is listed, on each organization's working
days, to the groups of the organization that asked it and of the agency asked (each reads who the other is and how
many days late it is). Once it is late by more than ``escalate_after_days`` calendar days (``MIZ_INQUIRY_ESCALATE_
AFTER_DAYS``) it is also listed to the governorate's groups. Every reminder and escalation is an internal event of
the request, once a day and once, so the clerks' history shows who was reminded and when.

Dedupe keys carry the day (``inquiries:<org>:<YYYY-MM-DD>:<platform>``, ``inquiries-escalation:<YYYY-MM-DD>:
<platform>``), so running twice on one day sends once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk.deadlines import LIST_LINES, OrgGroups
from desk.handling import GROUP_LANG
from desk.i18n import translator
from desk.lifecycle import Actor
from desk.notifications import enqueue_chat, text_payload
from desk.persian import format_jalali_date, format_number
from storage.columns import utcnow
from storage.models import Inquiry, RequestEvent
from storage.repositories import Events, Inquiries

__all__ = ["ESCALATE_AFTER_DAYS", "InquiryReminders", "queue_inquiry_reminders"]

ESCALATE_AFTER_DAYS: Final = 5
"""Default calendar days an inquiry may be late before the governorate hears of it."""


@dataclass(frozen=True, slots=True)
class InquiryReminders:
    """What one morning's run queued: rows added, the organizations reminded, the inquiries escalated."""

    queued: int = 0
    reminded: tuple[str, ...] = ()
    escalated: tuple[int, ...] = ()


def _line(inquiry: Inquiry, today: date, other: str, key: str) -> str:
    return translator(GROUP_LANG)(
        key,
        number=format_number(inquiry.id or 0, GROUP_LANG),
        other=other,
        due=format_jalali_date(inquiry.due_date, GROUP_LANG),
        days=format_number((today - inquiry.due_date).days, GROUP_LANG),
    )


async def _to_groups(
    session: AsyncSession, org: OrgGroups, key: str, items: Sequence[str], dedupe: str, today: date
) -> int:
    more = len(items) - LIST_LINES
    shown = list(items[:LIST_LINES])
    if more > 0:
        shown.append(translator(GROUP_LANG)("notify.digest.more", count=format_number(more, GROUP_LANG)))
    payload = text_payload(
        key, GROUP_LANG, params={"count": len(items), "items": "\n".join(shown)}, dates={"date": today}
    )
    queued = 0
    for platform, chat_id in sorted(org.groups.items()):
        queued += await enqueue_chat(
            session,
            platform=platform,
            chat_id=chat_id,
            organization_id=org.organization_id,
            payload=payload,
            dedupe_key=f"{dedupe}:{today.isoformat()}:{platform}",
        )
    return queued


async def _note(session: AsyncSession, inquiry: Inquiry, text: str) -> None:
    """An internal event of the inquiry's request (the request itself is not touched)."""
    await Events(session).add(
        RequestEvent(
            request_id=inquiry.request_id,
            at=utcnow(),
            actor_kind=Actor.SYSTEM.value,
            actor_id=None,
            text=text,
            public=False,
        )
    )


async def queue_inquiry_reminders(
    session: AsyncSession,
    *,
    today: date,
    organizations: Sequence[OrgGroups],
    governorate: OrgGroups | None,
    escalate_after_days: int = ESCALATE_AFTER_DAYS,
    names: Mapping[str, str] | None = None,
) -> InquiryReminders:
    """Queue today's reminders of overdue inquiries (see the module's rules), in the caller's transaction.

    ``organizations`` are every organization and agency with their groups and whether today is a working day for
    them; ``names`` their Persian names (the id when missing).
    """
    if escalate_after_days < 0:
        raise ValueError("escalate_after_days must be >= 0")
    names = names or {}
    t = translator(GROUP_LANG)
    overdue = await Inquiries(session).overdue(today)
    lines: dict[str, list[str]] = {}
    for inquiry in overdue:
        asker, agency = inquiry.asking_organization_id, inquiry.agency_id
        lines.setdefault(asker, []).append(
            _line(inquiry, today, names.get(agency, agency), "notify.inquiry.overdue.asked")
        )
        lines.setdefault(agency, []).append(
            _line(inquiry, today, names.get(asker, asker), "notify.inquiry.overdue.received")
        )
    queued = 0
    reminded: list[str] = []
    for org in organizations:
        items = lines.get(org.organization_id)
        if not items or not org.is_working_day or not org.groups:
            continue
        queued += await _to_groups(
            session, org, "notify.inquiry.overdue", items, f"inquiries:{org.organization_id}", today
        )
        reminded.append(org.organization_id)
    late = [item for item in overdue if (today - item.due_date).days > escalate_after_days]
    escalated: list[int] = []
    if late and governorate is not None and governorate.is_working_day and governorate.groups:
        items = [
            _line(
                item,
                today,
                t(
                    "notify.inquiry.between",
                    asker=names.get(item.asking_organization_id, item.asking_organization_id),
                    agency=names.get(item.agency_id, item.agency_id),
                ),
                "notify.inquiry.overdue.escalated",
            )
            for item in late
        ]
        queued += await _to_groups(
            session, governorate, "notify.inquiry.escalation", items, "inquiries-escalation", today
        )
        escalated = [item.id for item in late if item.id is not None]
    now = utcnow()
    for inquiry in overdue:
        agency = names.get(inquiry.agency_id, inquiry.agency_id)
        days = format_number((today - inquiry.due_date).days, GROUP_LANG)
        if inquiry.reminded_on != today and inquiry.asking_organization_id in reminded:
            inquiry.reminded_on = today
            await _note(
                session,
                inquiry,
                t("desk.inquiry.event.reminded", number=inquiry.id, agency=agency, days=days),
            )
        if inquiry.id in escalated and inquiry.escalated_at is None:
            inquiry.escalated_at = now
            await _note(
                session,
                inquiry,
                t("desk.inquiry.event.escalated", number=inquiry.id, agency=agency, days=days),
            )
        session.add(inquiry)
    return InquiryReminders(queued=queued, reminded=tuple(reminded), escalated=tuple(escalated))
