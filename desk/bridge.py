"""The conversation bridge between a citizen and the clerks of the organization handling their request.

A clerk's reply to a request card (or to a relayed message) reaches the citizen as a message from the
organization, never from the clerk's own account; the citizen's answer reaches the operator group under the
card. Both directions go through the outbox, in the same transaction as the public event that records them,
so a relayed message exists exactly when its record does. Which group message belongs to which request is
kept in the store (``GroupMessage``), never read from forward metadata (which differs between the platforms).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from desk.access import check_handles
from desk.errors import NotFound, TransitionError
from desk.handling import ActorRef, citizen_answered, clean_text
from desk.lifecycle import Actor, Status
from desk.notifications import enqueue_chat, enqueue_copy, text_payload
from desk.requests import Title
from storage.models import Citizen, Document, RequestEvent, ServiceRequest
from storage.repositories import Citizens, Events, GroupMessages, Requests

__all__ = ["EXTRA_SLOT", "Copied", "answer_clerks", "awaiting_answer", "citizen_message", "clerk_message"]

FILE_MARK = "📎"
"""The event text of a relayed file without a caption (the history shows that a file was exchanged)."""
EXTRA_SLOT: Final = "additional"
"""The document slot of files a citizen sends after filing, when a clerk asked for more."""


@dataclass(frozen=True, slots=True)
class Copied:
    """A message to relay by copying it: where it is now."""

    chat_id: int
    message_id: int


async def _request(session: AsyncSession, request_id: int) -> ServiceRequest:
    request = await Requests(session).get(request_id)
    if request is None:
        raise NotFound("desk.request.not_found")
    return request


async def clerk_message(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    *,
    text: str | None,
    copied: Copied | None = None,
) -> int:
    """Relay a clerk's text (or file, by copy) to the request's citizen; returns the public event's id.

    Only staff of the organization handling the request may write to its citizen; anyone else gets ``NotFound``.
    """
    text = clean_text(text, required=False)
    request = await _request(session, request_id)
    check_handles(request, actor.organization_id)
    if request.status == Status.WITHDRAWN:
        raise TransitionError("desk.bridge.closed")
    citizen = await Citizens(session).get(request.citizen_id)
    if citizen is None:
        raise NotFound("desk.request.not_found")
    event = await Events(session).add(
        RequestEvent(
            request_id=request_id,
            actor_kind=actor.kind.value,
            actor_id=actor.actor_id,
            text=text or FILE_MARK,
            public=True,
        )
    )
    title = Title.of(request.service_snapshot).text(citizen.locale)
    header = text_payload(
        "notify.from_org",
        citizen.locale,
        params={
            "code": request.tracking_code,
            "title": title,
            "org": request.organization_id,
            "text": text or "",
        },
    )
    common = {
        "platform": citizen.platform,
        "chat_id": citizen.chat_id,
        "organization_id": request.organization_id,
        "request_id": request_id,
        "dedupe_key": f"event:{event.id}:citizen",
    }
    if copied is None:
        await enqueue_chat(session, payload=header, **common)  # type: ignore[arg-type]
    else:
        await enqueue_copy(
            session,
            from_chat_id=copied.chat_id,
            message_id=copied.message_id,
            header=header,
            **common,  # type: ignore[arg-type]
        )
    assert event.id is not None
    return event.id


async def citizen_message(
    session: AsyncSession,
    request_id: int,
    *,
    platform: str,
    user_id: int,
    text: str | None,
    copied: Copied | None,
    groups: Mapping[str, int],
) -> int:
    """Relay a citizen's text or file about their own request to the operator groups, under its card."""
    text = clean_text(text, required=False)
    request = await _request(session, request_id)
    citizen = await Citizens(session).get(request.citizen_id)
    if citizen is None or citizen.platform != platform or citizen.user_id != user_id:
        raise NotFound("desk.request.not_found")
    event = await Events(session).add(
        RequestEvent(
            request_id=request_id,
            actor_kind=Actor.CITIZEN.value,
            actor_id=f"{platform}:{user_id}",
            text=text or FILE_MARK,
            public=True,
        )
    )
    cards = {
        (g.platform, g.chat_id): g.message_id
        for g in await GroupMessages(session).of_request(request_id, kind="card")
    }
    for group_platform, chat_id in groups.items():
        header = text_payload(
            "notify.from_citizen",
            "fa",
            params={"code": request.tracking_code, "text": text or ""},
            reply_to=cards.get((group_platform, chat_id)),
        )
        common = {
            "platform": group_platform,
            "chat_id": chat_id,
            "organization_id": request.organization_id,
            "request_id": request_id,
            "dedupe_key": f"event:{event.id}:group:{group_platform}",
        }
        if copied is not None and group_platform == platform:
            await enqueue_copy(
                session,
                from_chat_id=copied.chat_id,
                message_id=copied.message_id,
                header=header,
                **common,  # type: ignore[arg-type]
            )
        else:
            await enqueue_chat(session, payload=header, **common)  # type: ignore[arg-type]
    assert event.id is not None
    return event.id


async def awaiting_answer(session: AsyncSession, platform: str, user_id: int) -> ServiceRequest | None:
    """The citizen's newest request that waits for their answer (needs information), if any."""
    stmt = (
        select(ServiceRequest)
        .join(Citizen, col(Citizen.id) == col(ServiceRequest.citizen_id))
        .where(
            col(Citizen.platform) == platform,
            col(Citizen.user_id) == user_id,
            col(ServiceRequest.status) == Status.NEEDS_INFO.value,
        )
        .order_by(col(ServiceRequest.updated_at).desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def answer_clerks(
    session: AsyncSession,
    request_id: int,
    *,
    platform: str,
    user_id: int,
    text: str | None,
    copied: Copied | None,
    document: Mapping[str, Any] | None,
    groups: Mapping[str, int],
) -> None:
    """The citizen answered the clerks' question in the chat, with text or a file (``copied``, relayed by copy).

    A file is kept with the request (slot ``EXTRA_SLOT``; ``document`` holds the ``Document`` fields but the
    request, slot and platform) and relayed under the card with its caption; then the request goes back to the
    clerks (``desk.handling.citizen_answered``, which relays text alone).
    """
    if document is not None:
        await Requests(session).add_document(
            Document(request_id=request_id, slot=EXTRA_SLOT, platform=platform, **document)
        )
    if copied is not None:
        await citizen_message(
            session, request_id, platform=platform, user_id=user_id, text=text, copied=copied, groups=groups
        )
        text = None
    await citizen_answered(session, request_id, platform, user_id, text, groups=groups)
