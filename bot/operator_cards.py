"""The request card clerks work from in their organization's operator group, drawn by the outbox sender.

The card is (re)drawn from the database every time, so it always shows the request as it is now: status,
assignee, deadline, the citizen (national ID and phone masked), the answers, and the actions the request's
status allows. Documents follow the first drawing as separate messages, each linked to the request so a
clerk can reply to any of them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import CardAct, CardAction
from bot.clerks import ClerkRegistry
from bot.forms import answer_text
from bot.platforms import Platform
from bot.render import Renderer
from catalog.loader import CatalogHolder
from catalog.schema import FieldType, FormField, OrganizationKind
from desk.access import Access, group_access
from desk.lifecycle import Status
from desk.persian import TEHRAN, display_name, format_jalali_date, visible
from desk.privacy import mask_mobile, mask_national_id
from desk.requests import Title
from desk.tracking import format_tracking_code
from storage.files import DocumentStore
from storage.models import Citizen, OutboxMessage, ServiceRequest
from storage.repositories import Citizens, Events, GroupMessages, Requests
from storage.uow import unit_of_work

__all__ = ["ACTIONS", "card_drawer", "render_card"]

logger = logging.getLogger(__name__)

ACTIONS: dict[Status, tuple[CardAct, ...]] = {
    Status.SUBMITTED: ("claim", "ask_info", "reject"),
    Status.IN_PROGRESS: ("ask_info", "wait_agency", "ask_payment", "complete", "reject", "takeover"),
    Status.WAITING_EXTERNAL: ("resume",),
    Status.AWAITING_PAYMENT: ("resume",),
}
"""The buttons a card shows for each status (final statuses and needs_info show none)."""

_MASKED = {FieldType.NATIONAL_ID: mask_national_id, FieldType.MOBILE: mask_mobile}


def _masked_answer(r: Renderer, field: FormField, value: Any) -> str:
    mask = _MASKED.get(field.type)
    if mask is not None and isinstance(value, str):
        return r.digits(mask(value))
    return answer_text(r, field, value)


def _first_of(request: ServiceRequest, kind: FieldType) -> str | None:
    for field in request.service_snapshot.get("form", []):
        if field.get("type") == kind.value and isinstance(request.answers.get(field["id"]), str):
            return str(request.answers[field["id"]])
    return None


def render_card(
    r: Renderer,
    request: ServiceRequest,
    citizen: Citizen | None,
    *,
    documents: int,
    clerk_name: str | None,
    last_text: str | None,
    today: date,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The card's text and action buttons for ``request`` as it is now.

    Names and typed text are shown without bidi overrides or invisible marks (``desk.persian.visible``).
    """
    status = Status(request.status)
    form = [FormField.model_validate(field) for field in request.service_snapshot.get("form", [])]
    national_id = _first_of(request, FieldType.NATIONAL_ID)
    phone = (citizen.phone if citizen else None) or _first_of(request, FieldType.MOBILE)
    name = _citizen_name(citizen)
    unknown = r.plain("op.card.unknown")
    text = r.template(
        "request_card.j2",
        title=Title.of(request.service_snapshot).text(r.lang),
        code=format_tracking_code(request.tracking_code, r.lang),
        status=r.plain(status.label_key),
        assignee=clerk_name or r.plain("op.card.nobody"),
        deadline=format_jalali_date(request.deadline, r.lang) if request.deadline else unknown,
        overdue=bool(request.deadline and request.deadline < today and status not in _CLOSED),
        citizen=name or unknown,
        national_id=r.digits(mask_national_id(national_id)) if national_id else unknown,
        phone=r.digits(mask_mobile(phone)) if phone else unknown,
        answers=[
            {
                "label": field.label.get(r.lang),
                "value": visible(_masked_answer(r, field, request.answers.get(field.id))),
            }
            for field in form
        ],
        documents=r.digits(documents) if documents else 0,
        last=visible(last_text or ""),
    )
    actions = ACTIONS.get(status, ())
    if not actions:
        return text, None
    rows = [
        [
            InlineKeyboardButton(
                text=r.plain(f"op.action.{action}"),
                callback_data=CardAction(req=request.id or 0, act=action, seen=status).pack(),
            )
        ]
        for action in actions
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


_CLOSED = {Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN}


def _citizen_name(citizen: Citizen | None) -> str | None:
    if citizen is None:
        return None
    return display_name(" ".join(p for p in (citizen.first_name, citizen.last_name) if p))


def card_drawer(
    factory: async_sessionmaker[AsyncSession],
    clerks: ClerkRegistry,
    store: DocumentStore,
    catalogs: CatalogHolder,
) -> Callable[[Bot, OutboxMessage], Awaitable[Message | None]]:
    """The outbox handler of ``card`` rows: draw the card the first time, edit it in place afterwards.

    Whatever queued the row, a card is drawn only where ``desk.access.group_access`` allows: with its actions in
    the group of the organization handling the request, without them in the governorate's, and nowhere else.
    """

    async def draw(bot: Bot, row: OutboxMessage) -> Message | None:
        assert row.platform is not None
        assert row.chat_id is not None
        request_id = int(row.payload["request_id"])
        platform = Platform(row.platform)
        r = Renderer.get(platform, "fa")
        async with factory() as session:
            request = await Requests(session).get(request_id)
            if request is None:
                return None
            group = catalogs.catalog.organization_by_group(row.platform, row.chat_id)
            access = group_access(
                request,
                group.id if group is not None else None,
                governorate=group is not None and group.kind is OrganizationKind.GOVERNORATE,
            )
            if access is None:
                logger.warning(
                    "refused to draw request %s in chat %s:%s", request_id, row.platform, row.chat_id
                )
                return None
            citizen = await Citizens(session).get(request.citizen_id)
            documents = list(await Requests(session).documents(request_id))
            links = await GroupMessages(session).of_request(request_id, kind="card")
            history = await Events(session).history(request_id, public_only=False)
        card = next((g for g in links if g.platform == row.platform and g.chat_id == row.chat_id), None)
        clerk = _clerk_name(clerks, request)
        last = next((e.text for e in reversed(history) if e.text), None)
        text, markup = render_card(
            r,
            request,
            citizen,
            documents=len(documents),
            clerk_name=clerk,
            last_text=last,
            today=datetime.now(TEHRAN).date(),
        )
        if access is Access.READ:
            markup = None
        if card is not None:
            try:
                await bot.edit_message_text(
                    text, chat_id=row.chat_id, message_id=card.message_id, reply_markup=markup
                )
            except TelegramBadRequest as error:
                if "not modified" not in str(error):
                    raise
            return None
        sent = await bot.send_message(row.chat_id, text, reply_markup=markup)
        async with unit_of_work(factory, write=True) as session:
            await GroupMessages(session).link(
                platform=row.platform,
                chat_id=row.chat_id,
                message_id=sent.message_id,
                request_id=request_id,
                kind="card",
            )
        for document in documents:
            caption = r.plain(
                "op.document.caption",
                title=_slot_title(request, document.slot, r.lang),
                code=format_tracking_code(request.tracking_code, r.lang),
            )
            same_platform = document.platform == row.platform
            file: Any = (
                document.platform_file_id
                if same_platform
                else BufferedInputFile(
                    store.read(document.stored_path), filename=document.stored_path.rsplit("/", 1)[-1]
                )
            )
            if document.kind == "photo":
                copy = await bot.send_photo(
                    row.chat_id, file, caption=caption, reply_to_message_id=sent.message_id
                )
            else:
                copy = await bot.send_document(
                    row.chat_id, file, caption=caption, reply_to_message_id=sent.message_id
                )
            async with unit_of_work(factory, write=True) as session:
                await GroupMessages(session).link(
                    platform=row.platform,
                    chat_id=row.chat_id,
                    message_id=copy.message_id,
                    request_id=request_id,
                    kind="document",
                )
        return sent

    return draw


def _slot_title(request: ServiceRequest, slot: str, lang: str) -> str:
    for doc in request.service_snapshot.get("documents", []):
        if doc.get("id") == slot:
            title = doc.get("title") or {}
            return str(title.get(lang) or title.get("fa") or slot) if isinstance(title, dict) else str(title)
    return slot


def _clerk_name(clerks: ClerkRegistry, request: ServiceRequest) -> str | None:
    if request.assignee_user_id is None or request.assignee_platform is None:
        return None
    clerk = clerks.find(
        request.organization_id, request.assignee_platform, request.assignee_user_id
    ) or clerks.anywhere(request.assignee_platform, request.assignee_user_id)
    return clerk.name.get("fa") if clerk is not None else None
