"""Filing a request: the form one question at a time, the documents, the review, and the submission.

The form is a :class:`bot.states.FormData` in the FSM data (kept in the database), so it survives a restart.
Answers are validated by ``desk``; the request is filed by ``desk.requests.file_request`` in one transaction.
The handlers are module-level functions; :func:`router` registers them, in order.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.filters import Filter, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
    TelegramObject,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import FormAnswer, FormEdit, FormRestart, FormResume, FormSubmit, RequestStart
from bot.dialogs.common import drop_buttons, mark_answered
from bot.dialogs.verify_phone import offer_sms_updates
from bot.documents import receive_file
from bot.forms import (
    answer_text,
    answered,
    button_answer,
    document_prompt,
    done_keyboard,
    nav_labels,
    offered_values,
    question,
    read_answer,
)
from bot.keyboards import main_menu
from bot.log_context import bind
from bot.metrics import REQUESTS_FILED
from bot.notifier import Notifier
from bot.platforms import Platform
from bot.render import Renderer
from bot.routing import governorate_id
from bot.states import Form, FormData
from catalog.index import NotInCatalogError
from catalog.loader import CatalogHolder
from catalog.schema import FieldType, ResolvedService
from config.settings import Settings
from desk.errors import MizError, NotFound, Throttled, ValidationError
from desk.guessing import track_by_code
from desk.persian import TEHRAN, format_jalali_date
from desk.requests import (
    DocumentInput,
    Submission,
    SubmitResult,
    Title,
    confirmation_keys,
    file_request,
    queue_confirmation,
    settle_confirmation,
)
from desk.throttle import Limiter
from desk.tracking import format_tracking_code, is_well_formed
from storage.columns import utcnow
from storage.files import DocumentStore
from storage.uow import unit_of_work

__all__ = [
    "OpenForm",
    "Submitting",
    "ask_first_question",
    "cancel",
    "offer_parked",
    "park_form",
    "parked_form",
    "router",
]

logger = logging.getLogger(__name__)


def _today() -> date:
    return datetime.now(TEHRAN).date()


def _service(catalogs: CatalogHolder, org_id: str, service_id: str) -> ResolvedService | None:
    try:
        return catalogs.catalog.service(org_id, service_id)
    except NotInCatalogError:
        return None


@dataclass(frozen=True, slots=True)
class OpenForm:
    """The request being filed: its data, and its service as the catalog offers it now."""

    data: FormData
    service: ResolvedService


def _open_form(catalogs: CatalogHolder, stored: dict[str, Any]) -> OpenForm | None:
    """The form in FSM data ``stored``; None when it cannot be read or its service is no longer offered."""
    data = FormData.read(stored)
    service = _service(catalogs, data.organization_id, data.service_id) if data is not None else None
    if data is None or service is None:
        return None
    return OpenForm(data, service)


class FormIsOpen(Filter):
    """Passes while the form can go on (its service still exists), handing the handler ``form: OpenForm``.

    Its inverse catches the form whose service was removed or changed shape in a catalog reload, or whose data
    cannot be read, so every handler below can rely on ``form``; that case is answered once, by ``form_gone``.
    """

    async def __call__(
        self, event: TelegramObject, state: FSMContext, catalogs: CatalogHolder
    ) -> bool | dict[str, Any]:
        form = _open_form(catalogs, await state.get_data())
        if form is None:
            return False
        current, step = await state.get_state(), form.data.step
        if current == Form.answering.state and not 0 <= step < len(form.service.form):
            return False
        if current == Form.documents.state and step >= len(form.service.documents):
            return False
        return {"form": form}


class Submitting:
    """The forms being filed right now, shared by every update (a Dispatcher keyword, ``submitting``): a second
    tap on "submit" that arrives meanwhile is told so and files nothing."""

    def __init__(self) -> None:
        self._keys: set[str] = set()

    @contextmanager
    def first(self, key: str) -> Iterator[bool]:
        """True for the first tap filing form ``key``, until it is done; False for any other meanwhile."""
        if key in self._keys:  # checked and taken with no await in between: one tap files
            yield False
            return
        self._keys.add(key)
        try:
            yield True
        finally:
            self._keys.discard(key)


async def _save(state: FSMContext, data: FormData) -> None:
    await state.update_data(data.stored())


async def _restart_politely(message: Message, r: Renderer, state: FSMContext) -> None:
    """The service of this form is gone (catalog edited): start over at the main menu."""
    await state.clear()
    await message.answer(r.text("bot.form.service_gone"), reply_markup=main_menu(r))


def _org_name(r: Renderer, catalogs: CatalogHolder, service: ResolvedService) -> str:
    return catalogs.catalog.organization(service.organization_id).name.get(r.lang)


async def _ask_question(message: Message, r: Renderer, form: OpenForm, lead: str | None = None) -> None:
    """Ask the form's question (its ``step``), after ``lead`` (the form's introduction) when given.

    A message carries one keyboard: the reply keyboard (back, cancel, skip, contact or location) or the
    inline answer buttons. A question with buttons therefore takes two messages; the introduction, when
    there is one, carries the reply keyboard, so starting a form costs no extra message.
    """
    text, keyboard, buttons = question(r, form.service, form.data.step, form.data.prefilled)
    if buttons is None:
        await message.answer(f"{lead}\n\n{text}" if lead else text, reply_markup=keyboard)
    elif lead:
        await message.answer(lead, reply_markup=keyboard)
        await message.answer(f"{text}\n\n{r.text('bot.form.pick_one')}", reply_markup=buttons)
    else:
        await message.answer(text, reply_markup=keyboard)
        await message.answer(r.text("bot.form.pick_one"), reply_markup=buttons)


async def _ask_document(
    message: Message, r: Renderer, service: ResolvedService, slot: int, docs: dict[str, Any]
) -> None:
    text, keyboard = document_prompt(r, service, slot, docs)
    await message.answer(text, reply_markup=keyboard)


def _button(text: str, data: CallbackData) -> list[InlineKeyboardButton]:
    """A row of one inline button."""
    return [InlineKeyboardButton(text=text, callback_data=data.pack())]


def _review_markup(r: Renderer, version: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            _button(r.plain("bot.review.submit"), FormSubmit(ver=version, action="go")),
            _button(r.plain("bot.review.edit"), FormSubmit(ver=version, action="edit")),
            _button(r.plain("bot.review.cancel"), FormSubmit(ver=version, action="cancel")),
        ]
    )


def _edit_markup(r: Renderer, service: ResolvedService) -> InlineKeyboardMarkup:
    """The edit list: a button per question and per document, and back to the review."""
    version = service.version
    return InlineKeyboardMarkup(
        inline_keyboard=[
            *(
                _button(f"✏️ {f.label.get(r.lang)}", FormEdit(ver=version, what="field", index=i))
                for i, f in enumerate(service.form)
            ),
            *(
                _button(f"📎 {d.title.get(r.lang)}", FormEdit(ver=version, what="doc", index=i))
                for i, d in enumerate(service.documents)
            ),
            _button(r.plain("bot.review.back"), FormSubmit(ver=version, action="review")),
        ]
    )


async def _show_review(
    message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext, form: OpenForm
) -> None:
    service, answers, docs = form.service, form.data.answers, form.data.docs
    await state.set_state(Form.review)
    text = r.template(
        "review.j2",
        title=service.title.get(r.lang),
        org=_org_name(r, catalogs, service),
        answers=[
            {"label": f.label.get(r.lang), "value": answer_text(r, f, answers.get(f.id))}
            for f in service.form
        ],
        documents=[
            {
                "title": d.title.get(r.lang)
                + (
                    " " + r.plain("bot.review.doc_files", count=r.digits(len(docs[d.id])))
                    if d.max_files > 1 and docs.get(d.id)
                    else ""
                ),
                "state": r.plain(
                    "bot.review.doc_received"
                    if d.id in docs
                    else ("bot.review.doc_missing" if d.required else "bot.review.doc_skipped")
                ),
            }
            for d in service.documents
        ],
    )
    await message.answer(r.text("bot.review.ready"), reply_markup=ReplyKeyboardRemove())
    await message.answer(text, reply_markup=_review_markup(r, service.version))


@dataclass(frozen=True, slots=True)
class Told:
    """What the chat carried of a request's confirmation: the outbox keys of its ``parts`` told, and when the
    rest may be tried (``due``: None for at once, later after a 429)."""

    keys: tuple[str, str]
    parts: tuple[str, ...]
    due: datetime | None = None

    @property
    def complete(self) -> bool:
        return len(self.parts) == len(self.keys)


async def _confirm(
    message: Message, r: Renderer, org_name: str, submission: Submission, result: SubmitResult
) -> Told:
    """Tell the citizen the request is filed, with its tracking code and the main menu, then the code alone to copy.

    A Bot API failure is not raised: the caller settles the queued confirmation, and the outbox delivers the parts
    the chat did not carry. Nothing is retried here, so the Bot API calls are those of the happy path.
    """
    keys = confirmation_keys(result.request_id)
    texts = (
        r.text(
            "bot.submitted",
            title=Title.of(submission.service_snapshot).text(r.lang),
            org=org_name,
            code=format_tracking_code(result.tracking_code, r.lang),
            deadline=format_jalali_date(result.deadline, r.lang),
        ),
        r.text("bot.submitted.copy", code=result.tracking_code),
    )
    told: list[str] = []
    try:
        for key, text in zip(keys, texts, strict=True):
            await message.answer(text, reply_markup=main_menu(r) if not told else None)
            told.append(key)
    except TelegramAPIError as error:
        logger.warning(
            "request %s: the chat did not take its confirmation (%s); the outbox delivers it",
            result.request_id,
            type(error).__name__,
        )
        if isinstance(error, TelegramRetryAfter):
            return Told(keys, tuple(told), utcnow() + timedelta(seconds=error.retry_after))
    return Told(keys, tuple(told))


def _is_own_contact(message: Message) -> bool:
    """A contact the citizen shared of themselves (the contact button): the messenger vouches for its number."""
    contact, user = message.contact, message.from_user
    return contact is not None and user is not None and contact.user_id == user.id


def _next_question(service: ResolvedService, data: FormData, start: int) -> int | None:
    """The first question from ``start`` on that was not answered before the form began, if any."""
    prefilled = set(data.prefilled)
    return next((i for i in range(start, len(service.form)) if service.form[i].id not in prefilled), None)


def _previous_question(service: ResolvedService, data: FormData, before: int) -> int | None:
    """The last question before ``before`` that was not answered before the form began, if any."""
    prefilled = set(data.prefilled)
    return next((i for i in reversed(range(before)) if service.form[i].id not in prefilled), None)


async def ask_first_question(
    message: Message,
    r: Renderer,
    service: ResolvedService,
    catalogs: CatalogHolder,
    state: FSMContext,
    lead: str | None = None,
) -> None:
    """Begin a form whose data is already set: its first unanswered question, or the documents; ``lead``
    (an introduction) is said first, in the same message as the question where it can be."""
    data = FormData.read(await state.get_data())
    if data is None:
        await _restart_politely(message, r, state)
        return
    await _begin(message, r, catalogs, state, OpenForm(data, service), lead)


async def _begin(
    message: Message,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    form: OpenForm,
    lead: str | None = None,
) -> None:
    data, service = form.data, form.service
    first = _next_question(service, data, 0)
    if first is not None:
        data.step = first
        await state.set_state(Form.answering)
        await _save(state, data)
        await _ask_question(message, r, form, lead)
        return
    if lead:
        await message.answer(lead)
    data.step = -1
    await state.set_state(Form.documents)
    await _save(state, data)
    await _advance(message, r, catalogs, state, form)


async def _advance(
    message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext, form: OpenForm
) -> None:
    """After an answer or a document: the next question, the next document, or the review."""
    data, service = form.data, form.service
    if data.adding is not None:  # the document's files are all in: a later visit starts it afresh
        data.adding = None
        await _save(state, data)
    if data.editing:
        data.editing = False
        await _save(state, data)
        await _show_review(message, r, catalogs, state, form)
        return
    step = data.step
    if await state.get_state() == Form.answering.state:
        following = _next_question(service, data, step + 1)
        if following is not None:
            data.step = following
            await _save(state, data)
            await _ask_question(message, r, form)
            return
        step = -1
    if step + 1 < len(service.documents):
        data.step = step + 1
        await state.set_state(Form.documents)
        await _save(state, data)
        await _ask_document(message, r, service, data.step, data.docs)
        return
    await _show_review(message, r, catalogs, state, form)


def _form_mark(data: FormData) -> str:
    """A short mark of one form (the start of its idempotency key), carried by the buttons that ask about it."""
    return (data.idempotency_key or "-")[:8]


def _worth_keeping(form: OpenForm | None) -> OpenForm | None:
    """``form``, if the citizen gave it an answer or a document that starting over would lose."""
    if form is None:
        return None
    given = set(form.data.answers) - set(form.data.prefilled)
    return form if given or form.data.docs else None


async def _unfinished_here(state: FSMContext, catalogs: CatalogHolder) -> OpenForm | None:
    """The form the conversation is filing now, if it is worth keeping."""
    if await state.get_state() not in (Form.answering.state, Form.documents.state, Form.review.state):
        return None
    return _worth_keeping(_open_form(catalogs, await state.get_data()))


async def _unfinished(state: FSMContext, catalogs: CatalogHolder) -> OpenForm | None:
    """The unfinished form starting another would lose: the one being filed, or else the one set aside."""
    return await _unfinished_here(state, catalogs) or await parked_form(state, catalogs)


# A command (``/start``, ``/help``, ``/track``...) may interrupt a form at any step. The form is not lost: it is
# set aside, with its conversation state, under a second storage key of the same chat (a "destiny" of aiogram's
# storage, kept in the database or Redis as the conversation is), offered again after the command's answer, and
# asked about when another request is started. One form is kept aside; a newer one replaces it.

PARKED_DESTINY = "parked_form"
"""The storage destiny of the form set aside."""
_PARKED_STATE, _PARKED_DATA = "state", "data"


def _parking(state: FSMContext) -> FSMContext:
    """The conversation's second slot, where a form set aside is kept."""
    return FSMContext(storage=state.storage, key=dataclasses.replace(state.key, destiny=PARKED_DESTINY))


async def parked_form(state: FSMContext, catalogs: CatalogHolder) -> OpenForm | None:
    """The form set aside, if it can still go on (its service is still offered)."""
    kept = await _parking(state).get_data()
    data = kept.get(_PARKED_DATA)
    return _worth_keeping(_open_form(catalogs, data)) if isinstance(data, dict) else None


async def _drop_parked(state: FSMContext) -> None:
    await _parking(state).set_data({})


async def park_form(state: FSMContext, catalogs: CatalogHolder) -> OpenForm | None:
    """Set the unfinished form being filed aside, with its step, and end the conversation; answers the form
    (None when there was none worth keeping: the conversation is ended all the same)."""
    form = await _unfinished_here(state, catalogs)
    if form is not None:
        await _parking(state).set_data(
            {_PARKED_STATE: await state.get_state(), _PARKED_DATA: await state.get_data()}
        )
    await state.clear()
    return form


async def _unpark(state: FSMContext) -> None:
    """Bring the form set aside back where it stood; the form being filed now, if worth keeping, takes its place
    aside (so going back to one form never loses the other)."""
    parking = _parking(state)
    kept = await parking.get_data()
    current, data = await state.get_state(), await state.get_data()
    in_form = current in (Form.answering.state, Form.documents.state, Form.review.state)
    await parking.set_data({_PARKED_STATE: current, _PARKED_DATA: data} if in_form else {})
    await state.set_state(kept.get(_PARKED_STATE))
    await state.set_data(dict(kept.get(_PARKED_DATA) or {}))


def _answered(form: OpenForm) -> int:
    return sum(1 for f in form.service.form if f.id in form.data.answers)


async def offer_parked(message: Message, r: Renderer, form: OpenForm) -> None:
    """Tell the citizen the form set aside is kept, with a button to go on with it."""
    markup = InlineKeyboardMarkup(
        inline_keyboard=[_button(r.plain("bot.form.resume"), FormResume(form=_form_mark(form.data)))]
    )
    await message.answer(
        r.text(
            "bot.form.parked",
            title=form.service.title.get(r.lang),
            answered=r.digits(_answered(form)),
            total=r.digits(len(form.service.form)),
        ),
        reply_markup=markup,
    )


async def _ask_continue_or_restart(
    message: Message, r: Renderer, form: OpenForm, service: ResolvedService
) -> None:
    """Ask whether to go on with ``form`` or start ``service`` afresh."""
    mark = _form_mark(form.data)
    restart = FormRestart(org=service.organization_id, svc=service.id, form=mark)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            _button(r.plain("bot.form.resume"), FormResume(form=mark)),
            _button(r.plain("bot.form.restart"), restart),
        ]
    )
    await message.answer(
        r.text(
            "bot.form.unfinished",
            title=form.service.title.get(r.lang),
            answered=r.digits(_answered(form)),
            total=r.digits(len(form.service.form)),
        ),
        reply_markup=keyboard,
    )


async def _ask_current_step(
    message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext, form: OpenForm
) -> None:
    """Ask again what the open form is waiting for: its question, its document, or its review."""
    current, step = await state.get_state(), form.data.step
    if current == Form.answering.state:
        await _ask_question(message, r, form)
    elif current == Form.documents.state and step >= 0:
        await _ask_document(message, r, form.service, step, form.data.docs)
    elif current == Form.documents.state:
        await _advance(message, r, catalogs, state, form)
    else:
        await _show_review(message, r, catalogs, state, form)


async def _start(
    message: Message,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    service: ResolvedService,
    replaces: str | None = None,
) -> None:
    """Start filing a request for ``service``; an unfinished form (other than ``replaces``, the mark of the one the
    citizen chose to drop) is not dropped silently: the citizen is asked first."""
    unfinished = await _unfinished(state, catalogs)
    if unfinished is not None and _form_mark(unfinished.data) != replaces:
        await _ask_continue_or_restart(message, r, unfinished, service)
        return
    parked = await parked_form(state, catalogs)
    if parked is not None and _form_mark(parked.data) == replaces:
        await _drop_parked(state)
    data = FormData.new(service.organization_id, service.id, service.version)
    await state.set_data(data.stored())
    intro = r.text(
        "bot.form.intro",
        title=service.title.get(r.lang),
        questions=r.digits(len(service.form)),
        documents=r.digits(len(service.documents)),
    )
    await _begin(message, r, catalogs, state, OpenForm(data, service), lead=intro)


# ------------------------------------------------------------------------------------------- handlers


async def start_form(
    callback: CallbackQuery,
    callback_data: RequestStart,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
) -> None:
    """A service card's "file a request"; a button of a service not offered (any more) is a stale one, and the
    form being filled in, if any, stays as it is."""
    service = _service(catalogs, callback_data.org, callback_data.svc)
    if service is None:
        await callback.answer(r.plain("bot.stale"), show_alert=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        await _start(callback.message, r, catalogs, state, service)


async def restart_form(
    callback: CallbackQuery,
    callback_data: FormRestart,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
) -> None:
    """Drop the unfinished form asked about and start the pressed service's; pressed late, it loses nothing:
    with no form open it just starts, and a newer unfinished form is asked about again."""
    service = _service(catalogs, callback_data.org, callback_data.svc)
    if service is None:
        await callback.answer(r.plain("bot.stale"), show_alert=True)
        return
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    await drop_buttons(callback.message)
    await _start(callback.message, r, catalogs, state, service, replaces=callback_data.form)


async def resume_form(
    callback: CallbackQuery,
    callback_data: FormResume,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    form: OpenForm,
) -> None:
    """Go on with the unfinished form: its current step, asked again. With no form open, the fallback's
    answer for stale buttons applies; a button about an earlier form re-asks the step of this one."""
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    if callback_data.form != _form_mark(form.data):
        await callback.answer(r.plain("bot.form.old_button"), show_alert=True)
    else:
        await callback.answer()
        await drop_buttons(callback.message)
    await _ask_current_step(callback.message, r, catalogs, state, form)


async def resume_parked(
    callback: CallbackQuery,
    callback_data: FormResume,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
) -> None:
    """Go on with the form set aside by a command: it comes back at the step where it stood. A button of
    any other form is left to :func:`resume_form` and the catch-all."""
    parked = await parked_form(state, catalogs)
    if parked is None or _form_mark(parked.data) != callback_data.form:
        raise SkipHandler
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    await drop_buttons(callback.message)
    await _unpark(state)
    await _ask_current_step(callback.message, r, catalogs, state, parked)


async def form_gone(event: Message | CallbackQuery, r: Renderer, state: FSMContext) -> None:
    """The service of this form is gone or changed shape (a catalog reload): start over politely."""
    message = event.message if isinstance(event, CallbackQuery) else event
    if isinstance(event, CallbackQuery):
        await event.answer()
    if isinstance(message, Message):
        await _restart_politely(message, r, state)


async def cancel(message: Message, r: Renderer, state: FSMContext) -> None:
    await state.clear()
    await message.answer(r.text("bot.form.cancelled"), reply_markup=main_menu(r))


async def back(message: Message, r: Renderer, state: FSMContext, form: OpenForm) -> None:
    data, service = form.data, form.service
    data.editing, data.vouching = False, None
    step = data.step
    if await state.get_state() == Form.documents.state:
        if step > 0:
            data.step = step - 1
            await _save(state, data)
            await _ask_document(message, r, service, data.step, data.docs)
            return
        step = len(service.form)
        await state.set_state(Form.answering)
    previous = _previous_question(service, data, step)
    if previous is not None:
        data.step = previous
        await _save(state, data)
        await _ask_question(message, r, form)
        return
    await state.clear()
    await message.answer(r.text("bot.form.left"), reply_markup=main_menu(r))


async def skip_answer(
    message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext, form: OpenForm
) -> None:
    data, service = form.data, form.service
    field = service.form[data.step]
    if field.required:
        await message.answer(r.text("bot.form.required"))
        await _ask_question(message, r, form)
        return
    data.answers.pop(field.id, None)
    data.vouching = None
    await _save(state, data)
    await _advance(message, r, catalogs, state, form)


async def answer(
    message: Message,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    form: OpenForm,
    platform: Platform,
    session_factory: async_sessionmaker[AsyncSession],
    throttle: Limiter,
    track_code_throttle: Limiter,
) -> None:
    data, service = form.data, form.service
    field = service.form[data.step]
    if field.type is FieldType.TRACKING_CODE:
        limits = (throttle, track_code_throttle)
        await _answer_tracking_code(message, r, catalogs, state, form, platform, session_factory, limits)
        return
    try:
        value = read_answer(message, field)
    except MizError as error:
        await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)))
        await _ask_question(message, r, form)
        return
    data.answers[field.id] = value
    if field.type is FieldType.MOBILE and _is_own_contact(message):
        # Someone else's contact (or a typed number) is only what the citizen says; this one is proved.
        data.own_phones = sorted({*data.own_phones, value})
    await _save(state, data)
    await _advance(message, r, catalogs, state, form)


async def _answer_tracking_code(
    message: Message,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    form: OpenForm,
    platform: Platform,
    session_factory: async_sessionmaker[AsyncSession],
    limits: tuple[Limiter, Limiter],
) -> None:
    """A tracking code answered (a complaint's related request): taken when the request is the citizen's own,
    else its national ID is asked next, as tracking asks it, behind the same guessing limits.

    A code alone is answered the same way whether a request has it or not, and so is a wrong national ID, so the
    question tells nobody whether someone else's code exists. Where the national ID is asked, a tracking code
    instead is a corrected code: it is looked up afresh.
    """
    data, field, text = form.data, form.service.form[form.data.step], message.text
    if text is None:
        await message.answer(
            r.text("bot.form.invalid", error=ValidationError("bot.form.need_text").render(r.lang))
        )
        return
    code, national_id = (data.vouching, text) if data.vouching and not is_well_formed(text) else (text, None)
    guesser, per_code = limits
    try:
        async with session_factory() as session:
            view = await track_by_code(
                session,
                code,
                platform=platform.value,
                user_id=message.from_user.id if message.from_user else 0,
                national_id=national_id,
                guesser=guesser,
                per_code=per_code,
            )
    except ValidationError as error:  # a mistyped code or national ID (not counted): the same step again
        await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)))
        if data.vouching is None:
            await _ask_question(message, r, form)
        return
    except (NotFound, Throttled) as error:
        data.vouching = code if national_id is None and isinstance(error, NotFound) else None
        await _save(state, data)
        if data.vouching is not None:
            await message.answer(r.text("bot.form.related.ask_national_id"))
            return
        refusal = (
            error.render(r.lang) if isinstance(error, Throttled) else r.plain("bot.form.related.not_found")
        )
        await message.answer(r.text("bot.form.invalid", error=refusal))
        await _ask_question(message, r, form)
        return
    data.vouching = None
    data.answers[field.id] = view.tracking_code
    await _save(state, data)
    await _advance(message, r, catalogs, state, form)


async def answer_button(
    callback: CallbackQuery,
    callback_data: FormAnswer,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    form: OpenForm,
) -> None:
    data, service = form.data, form.service
    if not isinstance(callback.message, Message):
        await callback.answer()
        return
    if callback_data.ver != service.version or callback_data.step != data.step:
        await callback.answer(r.plain("bot.form.old_button"), show_alert=True)
        await _ask_question(callback.message, r, form)
        return
    field = service.form[data.step]
    if callback_data.value not in offered_values(field):  # a forged press: no button of this question says it
        await callback.answer(r.plain("bot.form.old_button"), show_alert=True)
        await _ask_question(callback.message, r, form)
        return
    value = button_answer(field, callback_data.value)
    data.answers[field.id] = value
    await _save(state, data)
    await callback.answer(r.plain("bot.form.chosen", value=answer_text(r, field, value)))
    await mark_answered(callback.message, answered(r, field, value))
    await _advance(callback.message, r, catalogs, state, form)


async def skip_document(
    message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext, form: OpenForm
) -> None:
    data, service = form.data, form.service
    doc = service.documents[data.step]
    if doc.required and doc.id not in data.docs:
        await message.answer(r.text("bot.docs.required"))
        await _ask_document(message, r, service, data.step, data.docs)
        return
    await _advance(message, r, catalogs, state, form)


async def receive_document(
    message: Message,
    bot: Bot,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    documents: DocumentStore,
    form: OpenForm,
    album: list[Message] | None = None,
) -> None:
    """A photo or file (or an album) for the document being asked: kept, and acknowledged with the count of the
    document's files; then the next step once the document has all it takes (at once for a single file).

    A document of several files takes them until "done" or its ``max_files``; files beyond it are left out,
    and the citizen is told how many. A file refused (its kind, its size) is told and the others are kept.
    """
    data, service = form.data, form.service
    slot = service.documents[data.step]
    files = data.docs.get(slot.id, []) if data.adding == slot.id else []  # a later visit starts it afresh
    sent = album or [message]
    taken = sent[: slot.max_files - len(files)]
    kinds, before = [kind.value for kind in slot.kinds], len(files)
    for part in taken:
        try:
            files.append(await receive_file(part, bot, documents, kinds))
        except ValidationError as error:
            await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)))
    if len(files) == before:
        await _ask_document(message, r, service, data.step, data.docs)
        return
    data.docs[slot.id], data.adding = files, slot.id
    await _save(state, data)
    title, count = slot.title.get(r.lang), r.digits(len(files))
    if slot.max_files == 1:
        await message.answer(r.text("bot.docs.received", title=title))
    elif len(files) < slot.max_files:
        most = r.digits(slot.max_files)
        await message.answer(
            r.text("bot.docs.received_one_of", title=title, count=count, most=most),
            reply_markup=done_keyboard(r),
        )
        return
    else:
        await message.answer(r.text("bot.docs.received_all", title=title, count=count))
    if len(sent) > len(taken):
        await message.answer(r.text("bot.docs.left_out", count=r.digits(len(sent) - len(taken))))
    await _advance(message, r, catalogs, state, form)


async def not_a_document(message: Message, r: Renderer, form: OpenForm) -> None:
    await message.answer(r.text("bot.docs.not_a_file"))
    await _ask_document(message, r, form.service, form.data.step, form.data.docs)


async def review_text(
    message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext, form: OpenForm
) -> None:
    """Typing at the review: the review again, with its buttons (the old one may have lost them to a
    submit that failed half-way)."""
    await message.answer(r.text("bot.review.use_buttons"))
    await _ask_current_step(message, r, catalogs, state, form)


async def edit_list(callback: CallbackQuery, r: Renderer, form: OpenForm) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            r.text("bot.review.pick_edit"), reply_markup=_edit_markup(r, form.service)
        )


async def back_to_review(
    callback: CallbackQuery, r: Renderer, catalogs: CatalogHolder, state: FSMContext, form: OpenForm
) -> None:
    """The edit list's "back", or a review button pressed while changing an answer: the review, afresh."""
    if await state.get_state() != Form.review.state and not form.data.editing:
        raise SkipHandler  # a review of an earlier form, while this one is being filled in: a stale button
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    form.data.editing = False
    await _save(state, form.data)
    await _show_review(callback.message, r, catalogs, state, form)


async def edit_one(
    callback: CallbackQuery,
    callback_data: FormEdit,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    form: OpenForm,
) -> None:
    """Change one answer or document; also from an earlier edit list while already changing another one."""
    data, service = form.data, form.service
    if await state.get_state() != Form.review.state and not data.editing:
        raise SkipHandler  # an edit list of an earlier form, while this one is being filled in
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    items = service.form if callback_data.what == "field" else service.documents
    if callback_data.ver != service.version or not 0 <= callback_data.index < len(items):
        await callback.message.answer(r.plain("bot.form.old_button"))  # "...the current step again:"
        await _ask_current_step(callback.message, r, catalogs, state, form)
        return
    data.step, data.editing, data.vouching = callback_data.index, True, None
    await _save(state, data)
    if callback_data.what == "field":
        await state.set_state(Form.answering)
        await _ask_question(callback.message, r, form)
    else:
        await state.set_state(Form.documents)
        await _ask_document(callback.message, r, service, data.step, data.docs)


async def cancel_from_review(callback: CallbackQuery, r: Renderer, state: FSMContext) -> None:
    if await state.get_state() != Form.review.state:
        data = FormData.read(await state.get_data())
        if data is None or not data.editing:
            raise SkipHandler  # the review of an earlier form, while this one is being filled in
    await callback.answer()
    await state.clear()
    if callback.message is not None:
        await callback.message.answer(r.text("bot.form.cancelled"), reply_markup=main_menu(r))


def _submission(
    callback: CallbackQuery,
    message: Message,
    platform: Platform,
    catalogs: CatalogHolder,
    form: OpenForm,
    idempotency_key: str,
) -> Submission:
    """What the citizen's "submit" files: who, the service as the catalog offers it now, answers and documents."""
    user, service = callback.from_user, form.service
    return Submission(
        platform=platform.value,
        user_id=user.id,
        chat_id=message.chat.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        organization_id=service.organization_id,
        service_id=service.id,
        service_version=service.version,
        service_snapshot=service.model_dump(mode="json"),
        answers=dict(form.data.answers),
        documents=[
            DocumentInput(slot=slot, **stored) for slot, files in form.data.docs.items() for stored in files
        ],
        idempotency_key=idempotency_key,
        calendar=catalogs.catalog.calendar_for(service.organization_id),
        today=_today(),
        governorate_id=governorate_id(catalogs.catalog),
    )


async def submit(
    callback: CallbackQuery,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
    platform: Platform,
    outbox: Notifier,
    settings: Settings,
    submitting: Submitting,
    form: OpenForm,
) -> None:
    """File the request and tell the citizen its tracking code, which reaches them whatever the messenger does.

    The confirmation is queued in the outbox in the filing transaction, held back; it is told here at once
    (with the main menu), and the outbox then drops what the chat carried and delivers, with its retries, what
    it did not (a 500, a 429, a timeout), or all of it when the hold ends if the process died meanwhile. The
    form is cleared once the request is filed: filing the same request again soon after, while its
    confirmation was not told in the chat, finds the first request and tells its code again
    (``desk.requests.submit_request``); a second tap on "submit" files nothing either.
    """
    message = callback.message
    if not isinstance(message, Message):
        await callback.answer()
        return
    key = form.data.idempotency_key or uuid.uuid4().hex
    with submitting.first(key) as first:
        await callback.answer(r.plain("bot.review.sending"))
        if not first:
            return
        await drop_buttons(message)  # at once: the citizen sees the tap was taken, and cannot tap again
        submission = _submission(callback, message, platform, catalogs, form, key)
        org = catalogs.catalog.organization(submission.organization_id)
        try:
            async with unit_of_work(session_factory, write=True) as session:
                filed = await file_request(
                    session,
                    submission,
                    groups_of=catalogs.catalog.operator_groups,
                    lang=r.lang,
                    own_phones=form.data.own_phones,
                    offer_sms=settings.sms_provider != "none" and org.sms,
                )
        except ValidationError as error:
            await message.edit_reply_markup(reply_markup=_review_markup(r, submission.service_version))
            await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)))
            return
        result = filed.result
        bind(organization=result.organization_id, request_id=result.request_id)
        if result.created:
            REQUESTS_FILED.labels(result.organization_id).inc()
        current = FormData.read(await state.get_data())
        if not result.created and (current is None or current.idempotency_key != key):
            return  # another tap filed it and told the citizen (it cleared the form when it did)
        outbox.notify()
        await state.clear()
        handler = catalogs.catalog.organization(
            result.organization_id
        )  # the governorate, for an anonymous complaint
        told = await _confirm(message, r, handler.name.get(r.lang), submission, result)
        async with unit_of_work(session_factory, write=True) as session:
            if not told.complete:  # a request filed before: its confirmation may have left the outbox
                await queue_confirmation(session, submission, result, r.lang, due=told.due or utcnow())
            await settle_confirmation(session, told.keys, told=told.parts, due=told.due)
        if not told.complete:
            outbox.notify()
        elif filed.sms_offer is not None:
            await offer_sms_updates(message, r, result.request_id, filed.sms_offer)


def router() -> Router:
    """The request form's router: its handlers, in the order they are tried (a new Router each call: aiogram
    attaches a router once)."""
    r_ = Router(name="form")
    r_.message.filter(F.chat.type == "private")
    answering, documents, review = Form.answering, Form.documents, Form.review
    filling = StateFilter(answering, documents)
    on_message, on_press = r_.message.register, r_.callback_query.register

    on_press(start_form, RequestStart.filter())
    on_press(restart_form, FormRestart.filter())
    on_press(resume_parked, FormResume.filter())
    on_press(resume_form, StateFilter(Form), FormResume.filter(), FormIsOpen())
    on_message(form_gone, StateFilter(Form), ~FormIsOpen())
    on_press(form_gone, StateFilter(Form), ~FormIsOpen())

    for step in (review, documents, answering):
        on_message(cancel, step, F.text.in_(nav_labels("cancel")))
    for step in (documents, answering):
        on_message(back, step, F.text.in_(nav_labels("back")), FormIsOpen())
    on_message(skip_answer, answering, F.text.in_(nav_labels("skip")), FormIsOpen())
    on_message(answer, answering, FormIsOpen())
    on_press(answer_button, answering, FormAnswer.filter(), FormIsOpen())
    on_message(skip_document, documents, F.text.in_(nav_labels("skip") | nav_labels("done")), FormIsOpen())
    on_message(receive_document, documents, F.photo | F.document, FormIsOpen())
    on_message(not_a_document, documents, FormIsOpen())

    on_message(review_text, review, FormIsOpen())
    on_press(edit_list, review, FormSubmit.filter(F.action == "edit"), FormIsOpen())
    on_press(back_to_review, filling, FormSubmit.filter(F.action != "cancel"), FormIsOpen())
    on_press(back_to_review, review, FormSubmit.filter(F.action == "review"), FormIsOpen())
    on_press(edit_one, StateFilter(review, answering, documents), FormEdit.filter(), FormIsOpen())
    on_press(cancel_from_review, filling, FormSubmit.filter(F.action == "cancel"))
    on_press(cancel_from_review, review, FormSubmit.filter(F.action == "cancel"))
    on_press(submit, review, FormSubmit.filter(F.action == "go"), FormIsOpen())
    return r_
