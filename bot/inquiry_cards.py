"""The inquiry card an agency's group gets, drawn by the outbox sender from the database when it is sent.

It shows what the agency needs and nothing more of the citizen: who asks, the service, the question, the due
date, the letter, and the documents the clerk chose and the new files they sent (as replies under it); never the citizen's name, national ID,
phone or tracking code. It is drawn only in a group of the agency the inquiry was sent to.

An agency's ``/open`` and ``/overdue`` (``desk.worklists.inquiry_page``) list its inquiries waiting for an answer,
a button under the list for each to draw its card again (``waiting_list``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import InquiryButton, InquiryOpen
from bot.keyboards import list_heading, list_nav
from bot.platforms import Platform
from bot.render import Renderer, cut
from bot.transfers import org_label
from catalog.index import Catalog
from catalog.loader import CatalogHolder
from desk.inquiries import Agency, InquiryAct, InquiryState, document_title
from desk.inquiry_ends import end_reason
from desk.persian import format_jalali_date
from desk.requests import Title
from desk.worklists import InquiryPage
from storage.files import DocumentStore
from storage.models import Inquiry, OutboxMessage
from storage.repositories import Inquiries, Requests
from storage.repositories.groups import GroupMessages, inquiry_card_kind
from storage.uow import unit_of_work

__all__ = [
    "agency_buttons",
    "agency_of",
    "answer_file_sender",
    "closed_card_drawer",
    "inquiry_drawer",
    "waiting_list",
]

logger = logging.getLogger(__name__)

QUESTION_SHOWN = 3000
"""Longest part of the question shown on the card (the whole card stays within one message)."""
QUESTION_LISTED = 80
"""Longest part of the question shown on a line of the list (twenty lines stay within one message)."""


def agency_of(catalogs: CatalogHolder, organization_id: str) -> Agency:
    """The agency (or organization) ``organization_id`` as ``desk.inquiries`` needs it: name, deadline, groups, and
    its own working calendar (the county's with its own weekend and holidays, ``Catalog.calendar_for``)."""
    catalog = catalogs.catalog
    org = catalog.organization(organization_id)
    return Agency(
        org.id,
        org.name.get("fa"),
        org.inquiry_days,
        catalog.operator_groups(org.id),
        catalog.calendar_for(org.id),
    )


def agency_buttons(r: Renderer, inquiry_id: int) -> InlineKeyboardMarkup:
    """The agency's three buttons under an inquiry."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=r.plain(f"op.inquiry.button.{act.value}"),
                    callback_data=InquiryButton(inq=inquiry_id, act=act).pack(),
                )
            ]
            for act in (InquiryAct.ANSWER, InquiryAct.NEED_MORE, InquiryAct.NOT_OURS)
        ]
    )


def card_text(r: Renderer, inquiry: Inquiry, snapshot: Mapping[str, Any], asker: str, documents: int) -> str:
    """The inquiry card's text, in the group's language."""
    letter = (
        r.plain(
            "op.inquiry.card.letter",
            number=inquiry.letter_number,
            date=format_jalali_date(inquiry.letter_date, r.lang) if inquiry.letter_date else "—",
        )
        if inquiry.letter_number
        else ""
    )
    return r.text(
        "op.inquiry.card",
        number=r.digits(inquiry.id or 0),
        asker=asker,
        service=Title.of(snapshot).text(r.lang),
        due=format_jalali_date(inquiry.due_date, r.lang),
        letter=letter,
        question=cut(inquiry.question, QUESTION_SHOWN, r.plain("op.card.cut_mark")),
        documents=r.digits(documents),
    )


async def _send_kept(
    bot: Bot,
    store: DocumentStore,
    platform: str,
    chat_id: int,
    item: Mapping[str, Any],
    caption: str,
    reply_to: int,
) -> None:
    """A file a clerk sent with the inquiry: by its file id on its own messenger, else read from the store."""
    file: Any = (
        item["platform_file_id"]
        if item.get("platform") == platform
        else BufferedInputFile(
            store.read(str(item["stored_path"])), filename=str(item["stored_path"]).rsplit("/", 1)[-1]
        )
    )
    send = bot.send_photo if item.get("kind") == "photo" else bot.send_document
    await send(chat_id, file, caption=caption, reply_to_message_id=reply_to)


def inquiry_drawer(
    factory: async_sessionmaker[AsyncSession], store: DocumentStore, catalogs: CatalogHolder
) -> Callable[[Bot, OutboxMessage], Awaitable[Message | None]]:
    """The outbox handler of ``inquiry`` rows: the card with its buttons, then each attached document under it."""

    async def draw(bot: Bot, row: OutboxMessage) -> Message | None:
        assert row.platform is not None
        assert row.chat_id is not None
        inquiry_id = int(row.payload["inquiry_id"])
        r = Renderer.get(Platform(row.platform), "fa")
        async with factory() as session:
            inquiry = await Inquiries(session).get(inquiry_id)
            request = await Requests(session).get(inquiry.request_id) if inquiry is not None else None
            if inquiry is None or request is None or inquiry.state == InquiryState.CANCELLED:
                # A card still queued when its request ended is never drawn: nothing is asked any more.
                return None
            group = catalogs.catalog.organization_by_group(row.platform, row.chat_id)
            if group is None or group.id != inquiry.agency_id:
                logger.warning(
                    "refused to draw inquiry %s in chat %s:%s", inquiry_id, row.platform, row.chat_id
                )
                return None
            attached = set(inquiry.document_ids)
            documents = [d for d in await Requests(session).documents(request.id or 0) if d.id in attached]
        asker = org_label(catalogs.catalog, inquiry.asking_organization_id)
        text = card_text(r, inquiry, request.service_snapshot, asker, len(documents) + len(inquiry.files))
        sent = await bot.send_message(row.chat_id, text, reply_markup=agency_buttons(r, inquiry_id))
        async with unit_of_work(factory, write=True) as session:
            await GroupMessages(session).link(
                platform=row.platform,
                chat_id=row.chat_id,
                message_id=sent.message_id,
                request_id=inquiry.request_id,
                kind=inquiry_card_kind(inquiry_id),
            )
        for document in documents:
            file: Any = (
                document.platform_file_id
                if document.platform == row.platform
                else BufferedInputFile(
                    store.read(document.stored_path), filename=document.stored_path.rsplit("/", 1)[-1]
                )
            )
            caption = r.plain(
                "op.inquiry.document_caption",
                title=document_title(request, document.slot),
                number=r.digits(inquiry_id),
            )
            send = bot.send_photo if document.kind == "photo" else bot.send_document
            await send(row.chat_id, file, caption=caption, reply_to_message_id=sent.message_id)
        for n, item in enumerate(inquiry.files, start=1):
            caption = r.plain("op.inquiry.file_caption", n=r.digits(n), number=r.digits(inquiry_id))
            await _send_kept(bot, store, row.platform, row.chat_id, item, caption, sent.message_id)
        return sent

    return draw


def closed_card_drawer(
    factory: async_sessionmaker[AsyncSession], catalogs: CatalogHolder
) -> Callable[[Bot, OutboxMessage], Awaitable[Message | None]]:
    """The outbox handler of ``inquiry_closed`` rows (``desk.inquiry_ends``): the inquiry's card in an agency's group
    drawn again without its buttons, saying why no answer is needed; only in a group of the agency asked."""

    async def draw(bot: Bot, row: OutboxMessage) -> Message | None:
        assert row.platform is not None
        assert row.chat_id is not None
        inquiry_id = int(row.payload["inquiry_id"])
        async with factory() as session:
            inquiry = await Inquiries(session).get(inquiry_id)
            request = await Requests(session).get(inquiry.request_id) if inquiry is not None else None
            cards = await GroupMessages(session).inquiry_cards(inquiry_id)
        reason = end_reason(inquiry) if inquiry is not None else None
        card = cards.get((row.platform, row.chat_id))
        if inquiry is None or request is None or reason is None or card is None:
            return None
        group = catalogs.catalog.organization_by_group(row.platform, row.chat_id)
        if group is None or group.id != inquiry.agency_id:
            logger.warning("refused to close inquiry %s in chat %s:%s", inquiry_id, row.platform, row.chat_id)
            return None
        r = Renderer.get(Platform(row.platform), "fa")
        asker = org_label(catalogs.catalog, inquiry.asking_organization_id)
        attached = len(inquiry.document_ids) + len(inquiry.files)
        text = card_text(r, inquiry, request.service_snapshot, asker, attached) + r.text(
            "op.inquiry.card.cancelled", reason=r.plain(reason.label_key)
        )
        try:
            await bot.edit_message_text(text, chat_id=row.chat_id, message_id=card, reply_markup=None)
        except TelegramBadRequest as error:
            if "not modified" not in str(error):
                raise
        return None

    return draw


def answer_file_sender(
    factory: async_sessionmaker[AsyncSession], store: DocumentStore, catalogs: CatalogHolder
) -> Callable[[Bot, OutboxMessage], Awaitable[Message | None]]:
    """The outbox handler of ``inquiry_file`` rows: a file of an answer, sent from the document store to an asking
    group on the other messenger (where it cannot be copied), only in a group of the organization that asked."""

    async def send(bot: Bot, row: OutboxMessage) -> Message | None:
        assert row.platform is not None
        assert row.chat_id is not None
        inquiry_id, index = int(row.payload["inquiry_id"]), int(row.payload["index"])
        async with factory() as session:
            inquiry = await Inquiries(session).get(inquiry_id)
        group = catalogs.catalog.organization_by_group(row.platform, row.chat_id)
        if inquiry is None or index >= len(inquiry.answer_files):
            return None
        if group is None or group.id != inquiry.asking_organization_id:
            logger.warning(
                "refused to send inquiry %s's file in chat %s:%s", inquiry_id, row.platform, row.chat_id
            )
            return None
        r = Renderer.get(Platform(row.platform), "fa")
        caption = r.plain("op.inquiry.file_caption", n=r.digits(index + 1), number=r.digits(inquiry_id))
        file: Any = BufferedInputFile(
            store.read(str(inquiry.answer_files[index]["stored_path"])),
            filename=str(inquiry.answer_files[index]["stored_path"]).rsplit("/", 1)[-1],
        )
        sender = bot.send_photo if inquiry.answer_files[index].get("kind") == "photo" else bot.send_document
        return await sender(row.chat_id, file, caption=caption)

    return send


def waiting_list(
    r: Renderer, catalog: Catalog, page: InquiryPage, today: date
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A page of an agency's inquiries waiting for its answer: how many in all, which page, a line for each (⚠️ when
    past its due date), a button for each to draw its card again, and buttons to the other pages."""
    if not page.total:
        return r.text(f"op.inquiry.worklist.empty.{page.kind}"), None
    lines = list_heading(r, page, f"op.inquiry.worklist.title.{page.kind}")
    for item in page.items:
        lines.append(
            r.text(
                "op.inquiry.worklist.item",
                late="⚠️ " if item.due_date < today else "",
                number=r.digits(item.id or 0),
                asker=org_label(catalog, item.asking_organization_id),
                due=format_jalali_date(item.due_date, r.lang),
                state=r.plain(f"op.inquiry.state.{item.state}"),
                question=cut(" ".join(item.question.split()), QUESTION_LISTED, r.plain("op.card.cut_mark")),
            )
        )
    opens = [
        InlineKeyboardButton(
            text=r.plain("op.inquiry.worklist.open", number=r.digits(item.id or 0)),
            callback_data=InquiryOpen(inq=item.id or 0).pack(),
        )
        for item in page.items
    ]
    rows = [opens[i : i + 4] for i in range(0, len(opens), 4)]
    if nav := list_nav(r, page):
        rows.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)
