"""The conversation bridge between a citizen and the clerks of the organization handling their request.

A clerk's reply to a request card (or to a relayed message) reaches the citizen as a message from the
organization, never from the clerk's own account; the citizen's answer reaches the operator groups of the
organization handling that request, under its card. Both directions go through the outbox, in the same
transaction as the public event that records them, so a relayed message exists exactly when its record does.
Which message belongs to which request is kept in the store (``GroupMessage``, in groups and in the citizen's
chat), never read from forward metadata (which differs between the platforms).

Every message from the organization carries an "answer" button (``desk.notifications.answer_buttons``). The citizen answers a
request (:func:`citizen_reply`) by that button, by replying to such a message (:func:`replied_request`), or by
simply writing while the organization's last word is recent (:func:`open_conversation`: the answer window,
docs/ARCHITECTURE.md). Whichever way, only the request's own citizen may answer it (:func:`own_request`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk.access import check_handles
from desk.errors import NotFound, TransitionError, ValidationError
from desk.handling import GROUP_LANG, TEXT_MAX, ActorRef, citizen_answered, clean_text
from desk.lifecycle import Actor, Status, is_public
from desk.notifications import answer_buttons, enqueue_chat, enqueue_copy, text_payload
from desk.requests import Title
from desk.tracking import format_tracking_code
from storage.models import Document, RequestEvent, ServiceRequest
from storage.repositories import Citizens, Events, GroupMessages, Requests

__all__ = [
    "EXTRA_SLOT",
    "Copied",
    "Part",
    "citizen_reply",
    "clerk_message",
    "open_conversation",
    "own_request",
    "replied_request",
]

FILE_MARK = "📎"
"""The event text of a relayed file without a caption (the history shows that a file was exchanged)."""
EXTRA_SLOT: Final = "additional"
"""The document slot of files a citizen sends after filing, when a clerk asked for more."""


@dataclass(frozen=True, slots=True)
class Copied:
    """A message to relay by copying it: where it is now."""

    chat_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class Part:
    """One message of a citizen's answer (an album has several): its text or caption, and for a photo or a file,
    where it is (to relay it by copy) and what the document store kept (the ``Document`` fields but the request,
    slot and platform)."""

    text: str | None
    copied: Copied | None = None
    document: Mapping[str, Any] | None = None


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
    assert request.id is not None
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
            "code": format_tracking_code(request.tracking_code, citizen.locale),
            "title": title,
            "org": request.organization_id,
            "text": text or "",
        },
        buttons=answer_buttons(request.id),
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


async def own_request(session: AsyncSession, request_id: int, platform: str, user_id: int) -> ServiceRequest:
    """The citizen's own filed request, locked for this transaction, which they may still write about.

    Anyone else's request, a draft or a missing one is ``NotFound`` (the same answer, so a forged "answer"
    button tells nothing); a withdrawn one is ``TransitionError("desk.bridge.withdrawn")``.
    """
    request = await Requests(session).get_for_update(request_id)
    if request is None or request.id is None or not is_public(Status(request.status)):
        raise NotFound("desk.request.not_found")
    citizen = await Citizens(session).get(request.citizen_id)
    if citizen is None or (citizen.platform, citizen.user_id) != (platform, user_id):
        raise NotFound("desk.request.not_found")
    if request.status == Status.WITHDRAWN:
        raise TransitionError("desk.bridge.withdrawn")
    return request


async def replied_request(
    session: AsyncSession, platform: str, user_id: int, chat_id: int, message_id: int
) -> ServiceRequest | None:
    """The request the citizen's reply is about: the one the replied message of their chat told them of, if
    it is their own (None for any other message)."""
    request = await GroupMessages(session).find_request(platform, chat_id, message_id)
    if request is None:
        return None
    citizen = await Citizens(session).get(request.citizen_id)
    if citizen is None or (citizen.platform, citizen.user_id) != (platform, user_id):
        return None
    return request


async def open_conversation(
    session: AsyncSession, platform: str, user_id: int, *, spoken_since: datetime
) -> ServiceRequest | None:
    """The request a citizen's free writing answers, if any: one that needs information from them, or one the
    organization wrote to them about since ``spoken_since`` (now less the answer window); of several, the one
    it wrote about last. A withdrawn request is never one."""
    citizen = await Citizens(session).find(platform, user_id)
    if citizen is None or citizen.id is None:
        return None
    return await Requests(session).in_conversation(
        citizen.id,
        spoken_since=spoken_since,
        waiting=Status.NEEDS_INFO.value,
        closed=Status.WITHDRAWN.value,
    )


async def citizen_reply(
    session: AsyncSession,
    request_id: int,
    parts: Sequence[Part],
    *,
    platform: str,
    user_id: int,
    groups: Mapping[str, int],
) -> bool:
    """The citizen wrote to the organization about their own request (:func:`own_request`): text, photos or files.

    Files are kept with the request (slot ``EXTRA_SLOT``) and relayed, in order, by copy to the operator groups
    of the citizen's platform (a group on the other platform gets the text), under the request's card. A request
    that needs information is answered: it goes back to the clerks (``desk.handling.citizen_answered``). Returns
    whether it was such an answer. ``groups`` are the operator groups of the request's organization.
    """
    if not parts:
        raise ValueError("an answer has at least one part")
    request = await own_request(session, request_id, platform, user_id)
    answers = request.status == Status.NEEDS_INFO
    for part in parts:
        if part.document is not None:
            await Requests(session).add_document(
                Document(request_id=request_id, slot=EXTRA_SLOT, platform=platform, **part.document)
            )
    text = "\n".join(t for t in (clean_text(p.text, required=False) for p in parts) if t) or None
    if text is not None and len(text) > TEXT_MAX:
        raise ValidationError("desk.text.too_long", limit=TEXT_MAX, length=len(text))
    if not answers or any(p.copied is not None for p in parts):
        await _relay(session, request, parts, text, platform=platform, user_id=user_id, groups=groups)
        text = None  # relayed already
    if answers:
        await citizen_answered(session, request_id, platform, user_id, text, groups=groups)
    return answers


async def _relay(
    session: AsyncSession,
    request: ServiceRequest,
    parts: Sequence[Part],
    text: str | None,
    *,
    platform: str,
    user_id: int,
    groups: Mapping[str, int],
) -> None:
    """Record the citizen's message as a public event and queue it to each operator group: a header with the
    text replying to the card, then each file by copy (the first one's copy carries the header)."""
    assert request.id is not None
    event = await Events(session).add(
        RequestEvent(
            request_id=request.id,
            actor_kind=Actor.CITIZEN.value,
            actor_id=f"{platform}:{user_id}",
            text=text or FILE_MARK,
            public=True,
        )
    )
    cards = await GroupMessages(session).cards(request.id)
    files = [p.copied for p in parts if p.copied is not None]
    for group_platform, chat_id in groups.items():
        header = text_payload(
            "notify.from_citizen",
            GROUP_LANG,
            params={"code": format_tracking_code(request.tracking_code, GROUP_LANG), "text": text or ""},
            reply_to=cards.get((group_platform, chat_id)),
        )
        common = {
            "platform": group_platform,
            "chat_id": chat_id,
            "organization_id": request.organization_id,
            "request_id": request.id,
        }
        key = f"event:{event.id}:group:{group_platform}"
        copies = files if group_platform == platform else []
        if not copies:
            await enqueue_chat(session, payload=header, dedupe_key=key, **common)  # type: ignore[arg-type]
        for n, copied in enumerate(copies):
            await enqueue_copy(
                session,
                from_chat_id=copied.chat_id,
                message_id=copied.message_id,
                header=header if n == 0 else None,
                dedupe_key=key if n == 0 else f"{key}:{n}",
                **common,  # type: ignore[arg-type]
            )
