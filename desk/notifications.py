"""What the outbox carries: notifications written in the same transaction as the change they announce.

A use case that changes something a person must hear about calls :func:`enqueue_chat` (or, later,
``enqueue_sms``) with the session of its own transaction, so the notification exists if and only if the change
committed. The bot's outbox sender (``bot/outbox.py``) claims due rows after commit, renders them for the
recipient's platform and language, sends them with the platform's rate limits, and retries on failure.

``OutboxMessage.payload`` is JSON of one of these shapes (``type`` decides):

``{"type": "text", ...}`` -- a message from the locale::

    {"type": "text",
     "key": "bot.notify.status",          # locale msgid of the text (HTML subset, see bot/render.py)
     "lang": "fa",                         # the recipient's language
     "params": {"code": "123412341234"},   # plain values: str (escaped when rendered), int (localized digits)
     "labels": {"status": "desk.status.completed"},   # params whose value is another locale msgid
     "dates": {"deadline": "2026-12-01"},  # params that are ISO dates, shown as Jalali dates
     "buttons": [[{"label": "bot.survey.1", "data": "rate:12:1"}]],  # optional inline keyboard (label = msgid)
     "reply_to": null}                     # optional message id in the target chat to reply to

``{"type": "copy", ...}`` -- relay a message already in a chat (a clerk's photo or file) by copying it::

    {"type": "copy", "from_chat_id": -100123, "message_id": 42, "key": "bot.relay.from_org", "lang": "fa",
     "params": {...}, "buttons": [...], "reply_to": 7}   # an optional header message sent before the copy

``{"type": "card", "request_id": 7}`` -- (re)draw the request's card in its organization's operator group;
the bot renders it from the database at send time, so the card always shows the latest state.

``{"type": "sms", ...}`` -- an SMS (``channel="sms"``, ``phone`` set), plain text from the locale::

    {"type": "sms", "key": "sms.submitted", "lang": "fa", "params": {"code": "...", "org": "falavarjan"}}

``{"type": "sms_code", "code": "12345"}`` -- a one-time code, sent through the gateway's verification template
(fast lane on Iranian gateways); the code is wiped from the row once it is sent.

Rows for a group (cards, relays to clerks) carry the group's ``chat_id``; rows for a citizen carry their private
chat id; SMS rows carry the mobile number instead. ``dedupe_key`` names the cause (e.g. ``"event:<event id>:citizen"``), so nothing is queued twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage
from storage.repositories import Outbox

__all__ = [
    "ANSWER_PREFIX",
    "COMPLETE_PREFIX",
    "Button",
    "answer_buttons",
    "complete_button",
    "enqueue_card",
    "enqueue_chat",
    "enqueue_copy",
    "enqueue_sms",
    "sms_payload",
    "text_payload",
]

Button = Mapping[str, str]
"""An inline button of a notification: ``{"label": <locale msgid>, "data": <callback data>}``."""

ANSWER_PREFIX: Final = "reply"
"""Callback data of the "answer" button: ``reply:<request id>`` (parsed, and checked in ``desk.bridge``, when
pressed)."""


def answer_buttons(request_id: int) -> list[list[Button]]:
    """The keyboard of every message from the organization to a citizen about a request: "✍️ answer"."""
    return [[{"label": "notify.answer", "data": f"{ANSWER_PREFIX}:{request_id}"}]]


COMPLETE_PREFIX: Final = "fill"
"""Callback data of the "complete the missing answers" button: ``fill:<request id>`` (checked in
``desk.completion`` when pressed)."""


def complete_button(request_id: int) -> list[Button]:
    """The button row that opens the questions a request's new service still needs answered
    (``desk.completion``)."""
    return [{"label": "notify.complete_answers", "data": f"{COMPLETE_PREFIX}:{request_id}"}]


def text_payload(
    key: str,
    lang: str,
    *,
    params: Mapping[str, str | int] | None = None,
    labels: Mapping[str, str] | None = None,
    dates: Mapping[str, date] | None = None,
    buttons: Sequence[Sequence[Button]] | None = None,
    reply_to: int | None = None,
) -> dict[str, Any]:
    """The JSON payload of a ``text`` notification (see the module docstring)."""
    return {
        "type": "text",
        "key": key,
        "lang": lang,
        "params": dict(params or {}),
        "labels": dict(labels or {}),
        "dates": {name: value.isoformat() for name, value in (dates or {}).items()},
        "buttons": [[dict(button) for button in row] for row in buttons] if buttons else None,
        "reply_to": reply_to,
    }


async def enqueue_chat(
    session: AsyncSession,
    *,
    platform: str,
    chat_id: int,
    organization_id: str,
    payload: Mapping[str, Any],
    dedupe_key: str,
    request_id: int | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Queue a chat message in the caller's transaction; False when ``dedupe_key`` was already queued.

    ``not_before`` holds it back until then (a message the handler first tries to say itself, see
    ``desk.requests.queue_confirmation``); it is due at once otherwise.
    """
    message = OutboxMessage(
        channel="chat",
        platform=platform,
        chat_id=chat_id,
        organization_id=organization_id,
        request_id=request_id,
        payload=dict(payload),
        dedupe_key=dedupe_key,
    )
    if not_before is not None:
        message.next_attempt_at = not_before
    return await Outbox(session).enqueue(message)


async def enqueue_copy(
    session: AsyncSession,
    *,
    platform: str,
    chat_id: int,
    organization_id: str,
    from_chat_id: int,
    message_id: int,
    dedupe_key: str,
    header: Mapping[str, Any] | None = None,
    request_id: int | None = None,
) -> bool:
    """Queue a copy of message ``message_id`` of ``from_chat_id`` into ``chat_id`` (a relayed photo or file), after
    the ``header`` text payload when given (with its buttons and the message it replies to)."""
    payload: dict[str, Any] = {"type": "copy", "from_chat_id": from_chat_id, "message_id": message_id}
    if header is not None:
        payload.update(
            {"key": header["key"], "lang": header["lang"], "params": dict(header.get("params", {}))}
        )
        payload.update({name: header[name] for name in ("buttons", "reply_to") if header.get(name)})
    return await enqueue_chat(
        session,
        platform=platform,
        chat_id=chat_id,
        organization_id=organization_id,
        payload=payload,
        dedupe_key=dedupe_key,
        request_id=request_id,
    )


async def enqueue_card(
    session: AsyncSession,
    *,
    platform: str,
    chat_id: int,
    organization_id: str,
    request_id: int,
    dedupe_key: str,
) -> bool:
    """Queue drawing (or redrawing) the card of request ``request_id`` in an operator group."""
    return await enqueue_chat(
        session,
        platform=platform,
        chat_id=chat_id,
        organization_id=organization_id,
        payload={"type": "card", "request_id": request_id},
        dedupe_key=dedupe_key,
        request_id=request_id,
    )


def sms_payload(key: str, lang: str, *, params: Mapping[str, str | int] | None = None) -> dict[str, Any]:
    """The JSON payload of an ``sms`` notification: a plain-text locale message (see the module docstring)."""
    return {"type": "sms", "key": key, "lang": lang, "params": dict(params or {})}


async def enqueue_sms(
    session: AsyncSession,
    *,
    phone: str,
    organization_id: str,
    payload: Mapping[str, Any],
    dedupe_key: str,
    request_id: int | None = None,
) -> bool:
    """Queue an SMS to ``phone`` (``09xxxxxxxxx``) in the caller's transaction; False when already queued.

    ``organization_id`` is who pays for it (costs are counted per organization from these rows).
    """
    message = OutboxMessage(
        channel="sms",
        phone=phone,
        organization_id=organization_id,
        request_id=request_id,
        payload=dict(payload),
        dedupe_key=dedupe_key,
    )
    return await Outbox(session).enqueue(message)
