"""After filing: the satisfaction poll and an objection (a complaint linked to the request).

Answers to the organization's messages are ``bot.dialogs.answers``.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import Objection, Rate
from bot.dialogs.common import typed_text
from bot.dialogs.form import ask_first_question
from bot.forms import answer_text
from bot.keyboards import main_menu
from bot.notifier import Notifier
from bot.platforms import Platform
from bot.render import Renderer
from bot.states import FormData
from catalog.index import NotInCatalogError
from catalog.loader import CatalogHolder
from catalog.schema import ResolvedService
from desk import survey
from desk.access import COMPLAINT_SERVICE
from desk.errors import MizError, NotFound
from desk.survey import OBJECTION_SUBJECT, RELATED_FIELD, SUBJECT_FIELD
from desk.tracking import format_tracking_code
from storage.models import ServiceRequest
from storage.uow import unit_of_work

__all__ = ["Survey", "router"]


class Survey(StatesGroup):
    """Waiting for the optional comment after a score."""

    comment = State()


async def rate(
    callback: CallbackQuery,
    callback_data: Rate,
    r: Renderer,
    platform: Platform,
    catalogs: CatalogHolder,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """A score of the poll: thanks, then the comment is asked for (and an objection offered after a low one).
    The organization's group sees the score on the card, and hears of a low one at once."""
    try:
        async with unit_of_work(session_factory, write=True) as session:
            result = await survey.rate(
                session,
                callback_data.req,
                platform.value,
                callback.from_user.id,
                callback_data.score,
                groups_of=catalogs.catalog.operator_groups,
            )
    except MizError as error:
        await callback.answer(error.render(r.lang), show_alert=True)
        return
    outbox.notify()
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
                    text=r.plain("bot.survey.object"), callback_data=Objection(req=callback_data.req).pack()
                )
            ]
        )
    await state.set_state(Survey.comment)
    await state.update_data({"survey_req": callback_data.req})
    await message.answer(
        r.text("bot.survey.ask_comment", score=r.digits(callback_data.score)),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows) if rows else main_menu(r),
    )


async def comment(
    message: Message,
    r: Renderer,
    platform: Platform,
    catalogs: CatalogHolder,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """The comment after a score: kept with it, and told to the organization's group with the score."""
    request_id = int((await state.get_data()).get("survey_req", 0))
    await state.clear()
    if message.from_user is None:
        return
    try:
        async with unit_of_work(session_factory, write=True) as session:
            await survey.comment(
                session,
                request_id,
                platform.value,
                message.from_user.id,
                message.text or "",
                groups_of=catalogs.catalog.operator_groups,
            )
    except MizError as error:
        await message.answer(
            r.text("bot.form.invalid", error=error.render(r.lang)), reply_markup=main_menu(r)
        )
        return
    outbox.notify()
    await message.answer(r.text("bot.survey.comment_saved"), reply_markup=main_menu(r))


def _complaint_form(catalogs: CatalogHolder, request: ServiceRequest) -> ResolvedService | None:
    """The complaint service of the organization ``request`` is about, or None if it has none (any more)."""
    try:
        about = request.about_organization_id or request.organization_id
        return catalogs.catalog.service(about, COMPLAINT_SERVICE)
    except NotInCatalogError:
        return None


def _objection_answers(service: ResolvedService, tracking_code: str) -> dict[str, Any]:
    """The complaint form's answers an objection fills in: the request it is about, and "the decision"."""
    prefilled: dict[str, Any] = {}
    if service.field(RELATED_FIELD) is not None:
        prefilled[RELATED_FIELD] = tracking_code
    subject = service.field(SUBJECT_FIELD)
    if subject is not None and any(c.id == OBJECTION_SUBJECT for c in subject.choices or []):
        prefilled[SUBJECT_FIELD] = OBJECTION_SUBJECT
    return prefilled


def _shown_answers(r: Renderer, service: ResolvedService, answers: dict[str, Any]) -> str:
    """The answers filled in before the form began, one line each, as the review lists answers."""
    return "\n".join(
        f"▫️ {f.label.get(r.lang)}: {answer_text(r, f, answers[f.id])}"
        for f in service.form
        if f.id in answers
    )


async def objection(
    callback: CallbackQuery,
    callback_data: Objection,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """An objection to a decision: the complaint form about the request's organization, partly filled in."""
    try:
        async with session_factory() as session:
            request = await survey.objected_request(
                session, callback_data.req, platform.value, callback.from_user.id
            )
    except NotFound:
        request = None
    service = _complaint_form(catalogs, request) if request is not None else None
    message = callback.message
    if request is None or service is None or not isinstance(message, Message):
        await callback.answer(r.plain("bot.stale"), show_alert=True)
        return
    await callback.answer()
    prefilled = _objection_answers(service, request.tracking_code)
    await state.clear()
    await state.set_data(
        FormData.new(service.organization_id, COMPLAINT_SERVICE, service.version, prefilled).stored()
    )
    intro = r.text(
        "bot.survey.objection_intro",
        code=format_tracking_code(request.tracking_code, r.lang),
        prefilled=_shown_answers(r, service, prefilled),
    )
    await ask_first_question(message, r, service, catalogs, state, lead=intro)


def router() -> Router:
    """Handlers of the poll and objections, in private chats."""
    r = Router(name="followup")
    r.message.filter(F.chat.type == "private")
    r.callback_query.register(rate, Rate.filter())
    r.message.register(comment, Survey.comment, typed_text())  # a menu button is no comment
    r.callback_query.register(objection, Objection.filter())
    return r
