"""The open inquiries of a request that no longer needs them: closed with it, in its transaction.

A request that reaches a final status (completed, rejected, withdrawn: ``desk.lifecycle.is_final``) or leaves the
organization that asked (a transfer) needs no agency's answer any more. Every path that does so calls
:func:`cancel_open` with the request still locked: ``desk.handling.record_event`` for a final status (the clerks'
complete and reject, the citizen's withdrawal), ``desk.transfers.transfer`` for a transfer. Each open inquiry
(``open`` or ``need_more``) becomes ``cancelled`` with the reason on its thread (``{"kind": "cancelled",
"reason": ...}``), so it leaves the agency's ``/open`` and ``/overdue``, every group's ``/inquiries``, the morning
reminders and the governorate's escalations. The agency's card in each of its groups loses its buttons and says
why (an ``inquiry_closed`` outbox row, drawn by ``bot.inquiry_cards``), a short notice goes under it, and the
clerks' history records it. A button pressed on such a card afterwards is told the answer is no longer needed
(``desk.inquiry.cancelled``).

This module depends on the storage and the outbox only, so ``desk.handling`` may call it (``desk.inquiries``
builds on ``desk.handling``).
"""

from __future__ import annotations

import enum
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk.i18n import translator
from desk.lifecycle import Actor, Status
from desk.notifications import enqueue_chat, text_payload
from storage.columns import utcnow
from storage.models import Inquiry, RequestEvent, ServiceRequest
from storage.repositories import OPEN_INQUIRY_STATES, Events, GroupMessages, Inquiries

__all__ = ["CANCELLED", "CLOSED_PAYLOAD", "EndReason", "cancel_open", "end_reason", "reason_of"]

CANCELLED: Final = "cancelled"
"""The state of an inquiry closed because its request no longer needs it (``desk.inquiries.InquiryState``)."""
CLOSED_PAYLOAD: Final = "inquiry_closed"
"""The outbox payload type that redraws a cancelled inquiry's card without its buttons."""
_LANG: Final = "fa"


class EndReason(enum.StrEnum):
    """Why a request no longer needs its inquiries; stored on the inquiry's thread, never rename one."""

    COMPLETED = "completed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    TRANSFERRED = "transferred"

    @property
    def label_key(self) -> str:
        """The locale msgid of the reason as the agency and the clerks read it."""
        return f"desk.inquiry.ended.{self.value}"


def end_reason(inquiry: Inquiry) -> EndReason | None:
    """Why a cancelled inquiry was closed; None for any other."""
    if inquiry.state != CANCELLED:
        return None
    for said in reversed(inquiry.thread):
        if said.get("kind") == CANCELLED:
            return EndReason(str(said["reason"]))
    return None


async def cancel_open(session: AsyncSession, request: ServiceRequest, reason: EndReason) -> list[Inquiry]:
    """Close the request's open inquiries for ``reason`` (see the module's rules); returns those closed.

    The caller holds the request's row lock (writers lock the request, then its inquiries), so an agency's answer
    that comes at the same moment either lands first or finds the inquiry cancelled.
    """
    assert request.id is not None
    closed: list[Inquiry] = []
    for inquiry in await Inquiries(session).of_request(request.id):
        if inquiry.state not in OPEN_INQUIRY_STATES:
            continue
        assert inquiry.id is not None
        inquiry.state = CANCELLED
        inquiry.thread = [
            *inquiry.thread,
            {"kind": CANCELLED, "reason": reason.value, "at": utcnow().isoformat()},
        ]
        session.add(inquiry)
        await Events(session).add(
            RequestEvent(
                request_id=request.id,
                at=utcnow(),
                actor_kind=Actor.SYSTEM.value,
                actor_id=None,
                text=translator(_LANG)(
                    "desk.inquiry.event.cancelled",
                    number=inquiry.id,
                    reason=translator(_LANG)(reason.label_key),
                ),
                public=False,
            )
        )
        cards = await GroupMessages(session).inquiry_cards(inquiry.id)
        for (platform, chat_id), message_id in sorted(cards.items()):
            # The card loses its buttons (drawn again by the bot), and the group hears why under it.
            await enqueue_chat(
                session,
                platform=platform,
                chat_id=chat_id,
                organization_id=inquiry.agency_id,
                payload={"type": CLOSED_PAYLOAD, "inquiry_id": inquiry.id},
                dedupe_key=f"inquiry:{inquiry.id}:closed:{platform}:{chat_id}",
            )
            await enqueue_chat(
                session,
                platform=platform,
                chat_id=chat_id,
                organization_id=inquiry.agency_id,
                payload=text_payload(
                    "op.inquiry.cancelled",
                    _LANG,
                    params={"number": inquiry.id, "org": inquiry.asking_organization_id},
                    labels={"reason": reason.label_key},
                    reply_to=message_id,
                ),
                dedupe_key=f"inquiry:{inquiry.id}:closed:{platform}:{chat_id}:notice",
            )
        closed.append(inquiry)
    return closed


def reason_of(status: Status) -> EndReason:
    """The reason a request's final ``status`` gives its open inquiries."""
    return EndReason(status.value)
