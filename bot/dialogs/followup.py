"""After filing: the satisfaction poll, an objection (a complaint linked to the request), and answers to clerks.

A citizen whose request needs information answers simply by writing (or sending a file) in the chat; the
answer is relayed under the request's card in the operator group and the request returns to the clerks' queue.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from bot.callbacks import Objection, Rate
from bot.dialogs.form import ask_first_question
from bot.documents import receive_file
from bot.keyboards import main_menu
from bot.notifier import Notifier
from bot.platforms import Platform
from bot.render import Renderer
from bot.states import FormKeys
from catalog.index import NotInCatalogError
from catalog.loader import CatalogHolder
from desk import handling, survey
from desk.access import COMPLAINT_SERVICE
from desk.bridge import Copied, citizen_message
from desk.errors import MizError
from desk.lifecycle import Status
from storage.files import DocumentStore
from storage.models import Citizen, Document, ServiceRequest
from storage.repositories import Requests
from storage.uow import unit_of_work

__all__ = ["Survey", "router"]

logger = logging.getLogger(__name__)

EXTRA_SLOT = "additional"
"""The document slot of files a citizen sends after filing, when a clerk asked for more."""
RELATED_FIELD = "related_tracking_code"
SUBJECT_FIELD = "subject"
OBJECTION_SUBJECT = "decision"


class Survey(StatesGroup):
    """Waiting for the optional comment after a score."""

    comment = State()


async def _awaiting_answer(
    factory: async_sessionmaker[AsyncSession], platform: Platform, user_id: int
) -> ServiceRequest | None:
    """The citizen's newest request that waits for their answer (needs information), if any."""
    stmt = (
        select(ServiceRequest)
        .join(Citizen, col(Citizen.id) == col(ServiceRequest.citizen_id))
        .where(
            col(Citizen.platform) == platform.value,
            col(Citizen.user_id) == user_id,
            col(ServiceRequest.status) == Status.NEEDS_INFO.value,
        )
        .order_by(col(ServiceRequest.updated_at).desc())
        .limit(1)
    )
    async with factory() as session:
        return (await session.scalars(stmt)).first()


def router() -> Router:
    """Handlers of the poll, objections and answers to clerks, in private chats."""
    r_ = Router(name="followup")
    r_.message.filter(F.chat.type == "private")

    @r_.callback_query(Rate.filter())
    async def rate(
        callback: CallbackQuery,
        callback_data: Rate,
        r: Renderer,
        platform: Platform,
        state: FSMContext,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        try:
            async with unit_of_work(session_factory, write=True) as session:
                result = await survey.rate(
                    session, callback_data.req, platform.value, callback.from_user.id, callback_data.score
                )
        except MizError as error:
            await callback.answer(error.render(r.lang), show_alert=True)
            return
        await callback.answer(r.plain("bot.survey.thanks"))
        message = callback.message
        if not isinstance(message, Message):
            return
        await message.edit_reply_markup(reply_markup=None)
        rows = []
        if result.offer_objection:
            rows.append(
                [
                    InlineKeyboardButton(
                        text=r.plain("bot.survey.object"),
                        callback_data=Objection(req=callback_data.req).pack(),
                    )
                ]
            )
        await state.set_state(Survey.comment)
        await state.update_data({"survey_req": callback_data.req})
        await message.answer(
            r.text("bot.survey.ask_comment", score=r.digits(callback_data.score)),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows) if rows else main_menu(r),
        )

    @r_.message(Survey.comment, F.text)
    async def comment(
        message: Message,
        r: Renderer,
        platform: Platform,
        state: FSMContext,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        request_id = int((await state.get_data()).get("survey_req", 0))
        await state.clear()
        if message.from_user is None:
            return
        try:
            async with unit_of_work(session_factory, write=True) as session:
                await survey.comment(
                    session, request_id, platform.value, message.from_user.id, message.text or ""
                )
        except MizError as error:
            await message.answer(
                r.text("bot.form.invalid", error=error.render(r.lang)), reply_markup=main_menu(r)
            )
            return
        await message.answer(r.text("bot.survey.comment_saved"), reply_markup=main_menu(r))

    @r_.callback_query(Objection.filter())
    async def objection(
        callback: CallbackQuery,
        callback_data: Objection,
        r: Renderer,
        platform: Platform,
        state: FSMContext,
        catalogs: CatalogHolder,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        async with session_factory() as session:
            request = await session.get(ServiceRequest, callback_data.req)
            citizen = await session.get(Citizen, request.citizen_id) if request else None
        message = callback.message
        if (
            request is None
            or citizen is None
            or citizen.platform != platform.value
            or citizen.user_id != callback.from_user.id
            or not isinstance(message, Message)
        ):
            await callback.answer(r.plain("bot.stale"), show_alert=True)
            return
        try:
            about = request.about_organization_id or request.organization_id
            service = catalogs.catalog.service(about, COMPLAINT_SERVICE)
        except NotInCatalogError:
            await callback.answer(r.plain("bot.stale"), show_alert=True)
            return
        await callback.answer()
        prefilled: dict[str, Any] = {}
        if service.field(RELATED_FIELD) is not None:
            prefilled[RELATED_FIELD] = request.tracking_code
        subject = service.field(SUBJECT_FIELD)
        if subject is not None and any(c.id == OBJECTION_SUBJECT for c in subject.choices or []):
            prefilled[SUBJECT_FIELD] = OBJECTION_SUBJECT
        await state.clear()
        await state.set_data(
            {
                FormKeys.ORG: about,
                FormKeys.SERVICE: COMPLAINT_SERVICE,
                FormKeys.VERSION: service.version,
                FormKeys.STEP: 0,
                FormKeys.ANSWERS: prefilled,
                FormKeys.PREFILLED: sorted(prefilled),
                FormKeys.DOCS: {},
                FormKeys.IDEMPOTENCY: uuid.uuid4().hex,
            }
        )
        await message.answer(r.text("bot.survey.objection_intro", code=request.tracking_code))
        await ask_first_question(message, r, service, catalogs, state)

    @r_.message(StateFilter(None), F.text | F.photo | F.document)
    async def answer_to_clerk(
        message: Message,
        bot: Bot,
        r: Renderer,
        platform: Platform,
        catalogs: CatalogHolder,
        session_factory: async_sessionmaker[AsyncSession],
        outbox: Notifier,
        documents: DocumentStore,
    ) -> None:
        """Free text or a file from a citizen whose request needs information answers that request."""
        if message.from_user is None:
            return
        request = await _awaiting_answer(session_factory, platform, message.from_user.id)
        if request is None or request.id is None:
            raise SkipHandler  # not an answer: the catch-all shows the menu
        request_id = request.id
        groups = catalogs.catalog.operator_groups(request.organization_id)
        text = message.text or message.caption
        copied = None if message.text else Copied(chat_id=message.chat.id, message_id=message.message_id)
        user_id = message.from_user.id
        received = None
        try:
            if copied is not None:  # a document for the request: kept in the store, like the form's
                received = await receive_file(message, bot, documents, ("photo", "pdf"))
            async with unit_of_work(session_factory, write=True) as session:
                if received is not None:
                    await Requests(session).add_document(
                        Document(request_id=request_id, slot=EXTRA_SLOT, platform=platform.value, **received)
                    )
                if copied is not None:  # a file is relayed by copy; citizen_answered relays only text
                    await citizen_message(
                        session,
                        request_id,
                        platform=platform.value,
                        user_id=user_id,
                        text=text,
                        copied=copied,
                        groups=groups,
                    )
                    text = None
                await handling.citizen_answered(
                    session, request_id, platform.value, user_id, text, groups=groups
                )
        except MizError as error:
            await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)))
            return
        outbox.notify()
        await message.answer(
            r.text("bot.followup.answer_sent", code=request.tracking_code), reply_markup=main_menu(r)
        )

    return r_
