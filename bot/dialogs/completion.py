"""The citizen completes the answers a move to another service left missing (``desk.completion``).

"✍️ complete the missing answers" (on the message telling of the move, the clerk's "needs info" message, and
the request's own page, while questions are missing) asks exactly those questions, one at a time, as the request form asks them: the same
wording, keyboards and validation (``bot.forms``: national ID, mobile, dates, choices...). "Back" goes to the
previous one, "cancel" stores nothing; after the last answer ``desk.completion.complete_answers`` stores them,
tells the clerks and redraws the card. A form being filed when the button is pressed is set aside, as a
command sets it aside, and offered again at the end.

Typing an answer with the "✍️ answer" path instead still reaches the clerk as a message (``bot.dialogs.answers``).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from pydantic import ValidationError as ModelError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import CompleteAnswers, FormAnswer
from bot.dialogs import form as request_form
from bot.dialogs.common import mark_answered, typed_text
from bot.forms import answer_text, answered, button_answer, nav_labels, question, read_answer
from bot.keyboards import main_menu
from bot.notifier import Notifier
from bot.platforms import Platform
from bot.render import Renderer
from bot.states import Completing, CompletionData
from catalog.loader import CatalogHolder
from catalog.schema import FieldType, FormField, ResolvedService
from desk.completion import complete_answers, missing_for_citizen
from desk.errors import MizError
from desk.requests import Title
from desk.tracking import format_tracking_code
from storage.models import ServiceRequest
from storage.repositories import Requests
from storage.uow import unit_of_work

__all__ = ["router"]

SessionFactory = async_sessionmaker[AsyncSession]


def _service(request: ServiceRequest) -> ResolvedService | None:
    """The definition the request is handled under, to ask its questions as the form does."""
    definition = {
        **request.service_snapshot,
        "organization_id": request.organization_id,
        "version": request.service_version,
    }
    try:
        return ResolvedService.model_validate(definition)
    except ModelError:
        return None


def _index(service: ResolvedService, data: CompletionData) -> int:
    """Where the question asked now stands in the service's form (``FormAnswer.step`` counts there)."""
    return next(i for i, f in enumerate(service.form) if f.id == data.fields[data.step])


async def _ask(message: Message, r: Renderer, service: ResolvedService, data: CompletionData) -> None:
    """Ask the question ``data.step`` names, numbered among those asked (one message per keyboard, as the form)."""
    step = _index(service, data)
    asked = set(data.fields)
    text, keyboard, buttons = question(r, service, step, [f.id for f in service.form if f.id not in asked])
    await message.answer(text, reply_markup=keyboard)
    if buttons is not None:
        await message.answer(r.text("bot.form.pick_one"), reply_markup=buttons)


def _offered(field: FormField, pressed: FormAnswer) -> bool:
    """Whether the question asked now has a button carrying ``pressed``'s value (a modified client sends any)."""
    if field.type is FieldType.YES_NO:
        return pressed.value in ("yes", "no")
    return field.type is FieldType.CHOICE and pressed.value in {c.id for c in field.choices or []}


async def _open(state: FSMContext, factory: SessionFactory) -> tuple[CompletionData, ResolvedService] | None:
    """The completion under way and the definition it asks from; None when its data or request is gone."""
    data = CompletionData.read(await state.get_data())
    if data is None:
        return None
    async with factory() as session:
        request = await Requests(session).get(data.req)
    service = _service(request) if request is not None else None
    if service is None or service.version != data.ver or service.field(data.fields[data.step]) is None:
        return None
    return data, service


async def start_completion(
    callback: CallbackQuery,
    callback_data: CompleteAnswers,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    catalogs: CatalogHolder,
    session_factory: SessionFactory,
) -> None:
    """ "✍️ complete the missing answers": the citizen's own request with questions missing asks the first."""
    try:
        async with session_factory() as session:
            missing = await missing_for_citizen(
                session, callback_data.req, platform.value, callback.from_user.id
            )
    except MizError as error:
        await callback.answer(error.render(r.lang), show_alert=True)
        return
    service = _service(missing.request)
    message = callback.message
    if service is None or not isinstance(message, Message):
        await callback.answer(r.plain("bot.stale"), show_alert=True)
        return
    await callback.answer()
    await request_form.park_form(state, catalogs)
    data = CompletionData(req=callback_data.req, ver=missing.version, fields=list(missing.field_ids))
    await state.set_state(Completing.answering)
    await state.update_data(data.stored())
    await message.answer(
        r.text(
            "bot.completion.intro",
            code=format_tracking_code(missing.request.tracking_code, r.lang),
            title=Title.of(missing.request.service_snapshot).text(r.lang),
            count=r.digits(len(data.fields)),
        )
    )
    await _ask(message, r, service, data)


async def _gone(message: Message, r: Renderer, state: FSMContext) -> None:
    await state.clear()
    await message.answer(r.text("bot.stale"), reply_markup=main_menu(r))


async def _advance(
    message: Message,
    r: Renderer,
    platform: Platform,
    user_id: int,
    state: FSMContext,
    catalogs: CatalogHolder,
    factory: SessionFactory,
    outbox: Notifier,
    service: ResolvedService,
    data: CompletionData,
) -> None:
    """The next question, or, after the last, store the answers and tell the citizen they went."""
    if data.step + 1 < len(data.fields):
        data.step += 1
        await state.update_data(data.stored())
        await _ask(message, r, service, data)
        return
    await state.clear()
    try:
        async with unit_of_work(factory, write=True) as session:
            request = await Requests(session).get(data.req)
            groups = catalogs.catalog.operator_groups(request.organization_id) if request is not None else {}
            await complete_answers(
                session,
                data.req,
                data.answers,
                version=data.ver,
                platform=platform.value,
                user_id=user_id,
                groups=groups,
            )
    except MizError as error:
        await message.answer(
            r.text("bot.form.invalid", error=error.render(r.lang)), reply_markup=main_menu(r)
        )
        return
    outbox.notify()
    assert request is not None
    code = format_tracking_code(request.tracking_code, r.lang)
    await message.answer(r.text("bot.completion.sent", code=code), reply_markup=main_menu(r))
    kept = await request_form.parked_form(state, catalogs)
    if kept is not None:
        await request_form.offer_parked(message, r, kept)


async def answer(
    message: Message,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    catalogs: CatalogHolder,
    session_factory: SessionFactory,
    outbox: Notifier,
) -> None:
    """A typed (or shared) answer to the question asked, read as the form reads it."""
    if message.from_user is None:
        return
    found = await _open(state, session_factory)
    if found is None:
        await _gone(message, r, state)
        return
    data, service = found
    field = service.form[_index(service, data)]
    try:
        value = read_answer(message, field)
    except MizError as error:
        await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)))
        await _ask(message, r, service, data)
        return
    data.answers[field.id] = value
    await _advance(
        message, r, platform, message.from_user.id, state, catalogs, session_factory, outbox, service, data
    )


async def answer_button(
    callback: CallbackQuery,
    callback_data: FormAnswer,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    catalogs: CatalogHolder,
    session_factory: SessionFactory,
    outbox: Notifier,
) -> None:
    """A choice or yes/no pressed: only a button of the question asked now counts."""
    message = callback.message
    found = await _open(state, session_factory)
    if found is None or not isinstance(message, Message):
        await callback.answer(r.plain("bot.stale"), show_alert=True)
        if isinstance(message, Message):
            await _gone(message, r, state)
        return
    data, service = found
    index = _index(service, data)
    field = service.form[index]
    if (
        callback_data.ver != service.version
        or callback_data.step != index
        or not _offered(field, callback_data)
    ):
        await callback.answer(r.plain("bot.form.old_button"), show_alert=True)
        await _ask(message, r, service, data)
        return
    value = button_answer(field, callback_data.value)
    data.answers[field.id] = value
    await callback.answer(r.plain("bot.form.chosen", value=answer_text(r, field, value)))
    await mark_answered(message, answered(r, field, value))
    await _advance(
        message, r, platform, callback.from_user.id, state, catalogs, session_factory, outbox, service, data
    )


async def back(message: Message, r: Renderer, state: FSMContext, session_factory: SessionFactory) -> None:
    """The previous question again (the first one stays)."""
    found = await _open(state, session_factory)
    if found is None:
        await _gone(message, r, state)
        return
    data, service = found
    data.step = max(data.step - 1, 0)
    await state.update_data(data.stored())
    await _ask(message, r, service, data)


async def cancel(message: Message, r: Renderer, state: FSMContext, catalogs: CatalogHolder) -> None:
    await state.clear()
    await message.answer(r.text("bot.completion.cancelled"), reply_markup=main_menu(r))
    kept = await request_form.parked_form(state, catalogs)
    if kept is not None:
        await request_form.offer_parked(message, r, kept)


def router() -> Router:
    """The button, and the questions while completing (include before the free-writing answers' router)."""
    r = Router(name="completion")
    r.message.filter(F.chat.type == "private")
    r.callback_query.register(start_completion, CompleteAnswers.filter())
    r.callback_query.register(answer_button, Completing.answering, FormAnswer.filter())
    r.message.register(cancel, Completing.answering, F.text.in_(nav_labels("cancel")))
    r.message.register(back, Completing.answering, F.text.in_(nav_labels("back")))
    r.message.register(answer, Completing.answering, typed_text() | ~F.text)
    return r
