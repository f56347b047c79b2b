"""Filing a request: the form one question at a time, the documents, the review, and the submission.

The whole conversation lives in the FSM data (kept in the database), so it survives a restart. Answers are
validated by ``desk``; the request is stored by ``desk.requests.submit_request`` in one transaction.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter
from aiogram.filters import Filter, StateFilter
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
from bot.dialogs.verify_phone import offer_sms_updates
from bot.documents import receive_file
from bot.forms import answer_text, document_prompt, nav_labels, question
from bot.keyboards import main_menu
from bot.notifier import Notifier
from bot.platforms import Platform
from bot.render import Renderer
from bot.routing import governorate_id
from bot.states import Form, FormKeys
from catalog.index import NotInCatalogError
from catalog.loader import CatalogHolder
from catalog.schema import FieldType, FormField, ResolvedService
from desk.errors import MizError, ValidationError
from desk.notifications import enqueue_card
from desk.persian import TEHRAN, format_jalali_date
from desk.requests import (
    DocumentInput,
    Submission,
    SubmitResult,
    Title,
    confirmation_keys,
    queue_confirmation,
    settle_confirmation,
    submit_request,
)
from desk.settings import Settings
from desk.tracking import format_tracking_code
from desk.validators import mobile, validate_field
from desk.verification import mobile_answers, phone_to_offer, record_shared_phone
from storage.columns import utcnow
from storage.files import DocumentStore
from storage.repositories import Citizens
from storage.uow import unit_of_work

__all__ = ["ask_first_question", "router"]

logger = logging.getLogger(__name__)


def _today() -> date:
    return datetime.now(TEHRAN).date()


def _service(catalogs: CatalogHolder, data: dict[str, Any]) -> ResolvedService | None:
    try:
        return catalogs.catalog.service(data.get(FormKeys.ORG, ""), data.get(FormKeys.SERVICE, ""))
    except NotInCatalogError:
        return None


async def _restart_politely(message: Message, r: Renderer, state: FSMContext) -> None:
    """The service of this form is gone (catalog edited): start over at the main menu."""
    await state.clear()
    await message.answer(r.text("bot.form.service_gone"), reply_markup=main_menu(r))


@dataclass(frozen=True, slots=True)
class OpenForm:
    """The request being filed: its FSM data and its service as the catalog offers it now."""

    data: dict[str, Any]
    service: ResolvedService

    @property
    def step(self) -> int:
        return int(self.data.get(FormKeys.STEP, 0))

    @property
    def docs(self) -> dict[str, Any]:
        return dict(self.data.get(FormKeys.DOCS, {}))


class FormIsOpen(Filter):
    """Passes while the form's service still exists, handing the handler ``form: OpenForm``.

    Its inverse catches the form whose service was removed or changed shape in a catalog reload, so every
    handler below can rely on ``form``; that case is answered once, by ``form_gone``.
    """

    async def __call__(
        self, event: TelegramObject, state: FSMContext, catalogs: CatalogHolder
    ) -> bool | dict[str, Any]:
        data = await state.get_data()
        service = _service(catalogs, data)
        if service is None:
            return False
        open_form = OpenForm(data, service)
        current = await state.get_state()
        if current == Form.answering.state and open_form.step >= len(service.form):
            return False
        if current == Form.documents.state and open_form.step >= len(service.documents):
            return False
        return {"form": open_form}


async def _ask_question(
    message: Message, r: Renderer, service: ResolvedService, step: int, lead: str | None = None
) -> None:
    """Ask question ``step``, after ``lead`` (the form's introduction) when given.

    A message carries one keyboard: the reply keyboard (back, cancel, skip, contact or location) or the
    inline answer buttons. A question with buttons therefore takes two messages; the introduction, when
    there is one, carries the reply keyboard, so starting a form costs no extra message.
    """
    text, keyboard, buttons = question(r, service, step)
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


def _review_markup(r: Renderer, version: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=r.plain("bot.review.submit"),
                    callback_data=FormSubmit(ver=version, action="go").pack(),
                )
            ],
            [
                InlineKeyboardButton(
                    text=r.plain("bot.review.edit"),
                    callback_data=FormSubmit(ver=version, action="edit").pack(),
                )
            ],
            [
                InlineKeyboardButton(
                    text=r.plain("bot.review.cancel"),
                    callback_data=FormSubmit(ver=version, action="cancel").pack(),
                )
            ],
        ]
    )


async def _show_review(
    message: Message,
    r: Renderer,
    service: ResolvedService,
    org_name: str,
    data: dict[str, Any],
    state: FSMContext,
) -> None:
    await state.set_state(Form.review)
    answers: dict[str, Any] = data.get(FormKeys.ANSWERS, {})
    docs: dict[str, Any] = data.get(FormKeys.DOCS, {})
    text = r.template(
        "review.j2",
        title=service.title.get(r.lang),
        org=org_name,
        answers=[
            {"label": f.label.get(r.lang), "value": answer_text(r, f, answers.get(f.id))}
            for f in service.form
        ],
        documents=[
            {
                "title": d.title.get(r.lang),
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


async def _drop_buttons(message: Message) -> None:
    """Remove a message's inline buttons; a second tap finding them already gone is no error."""
    try:
        await message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest as error:
        if "not modified" not in str(error):
            raise


async def _record_shared_phone(session: AsyncSession, submission: Submission, own_phones: set[str]) -> None:
    """Before filing: a mobile answer the citizen gave by sharing their own contact becomes their verified phone,
    so the SMS that announces the request already goes to it."""
    answers = mobile_answers(submission.service_snapshot, submission.answers)
    shared = next((phone for phone in answers if phone in own_phones), None)
    if shared is None:
        return
    citizen = await Citizens(session).get_or_create(
        submission.platform,
        submission.user_id,
        chat_id=submission.chat_id,
        first_name=submission.first_name,
        last_name=submission.last_name,
        username=submission.username,
    )
    await record_shared_phone(session, citizen, shared)


async def _phone_to_offer(session: AsyncSession, submission: Submission) -> str | None:
    """After filing: the request's mobile number to offer SMS updates on (None: none, or already verified)."""
    citizen = await Citizens(session).find(submission.platform, submission.user_id)
    if citizen is None:
        return None
    return phone_to_offer(citizen, submission.service_snapshot, submission.answers)


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


def _next_question(service: ResolvedService, data: dict[str, Any], start: int) -> int | None:
    """The first question from ``start`` on that was not answered before the form began, if any."""
    prefilled = set(data.get(FormKeys.PREFILLED, ()))
    return next((i for i in range(start, len(service.form)) if service.form[i].id not in prefilled), None)


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
    first = _next_question(service, await state.get_data(), 0)
    if first is not None:
        await state.set_state(Form.answering)
        await state.update_data({FormKeys.STEP: first})
        await _ask_question(message, r, service, first, lead)
        return
    if lead:
        await message.answer(lead)
    await state.set_state(Form.documents)
    await state.update_data({FormKeys.STEP: -1})
    await _advance(message, r, service, catalogs, state)


async def _advance(
    message: Message, r: Renderer, service: ResolvedService, catalogs: CatalogHolder, state: FSMContext
) -> None:
    """After an answer or a document: the next question, the next document, or the review."""
    data = await state.get_data()
    org_name = catalogs.catalog.organization(service.organization_id).name.get(r.lang)
    if data.get(FormKeys.EDITING):
        await state.update_data({FormKeys.EDITING: False})
        await _show_review(message, r, service, org_name, await state.get_data(), state)
        return
    current = await state.get_state()
    step = int(data.get(FormKeys.STEP, 0))
    if current == Form.answering.state:
        following = _next_question(service, data, step + 1)
        if following is not None:
            await state.update_data({FormKeys.STEP: following})
            await _ask_question(message, r, service, following)
            return
        step = -1
        await state.set_state(Form.documents)
    docs: dict[str, Any] = data.get(FormKeys.DOCS, {})
    if step + 1 < len(service.documents):
        await state.update_data({FormKeys.STEP: step + 1})
        await state.set_state(Form.documents)
        await _ask_document(message, r, service, step + 1, docs)
        return
    await _show_review(message, r, service, org_name, data, state)


def _form_mark(data: dict[str, Any]) -> str:
    """A short mark of one form (the start of its idempotency key), carried by the buttons that ask about it."""
    return str(data.get(FormKeys.IDEMPOTENCY) or "-")[:8]


async def _unfinished(state: FSMContext, catalogs: CatalogHolder) -> OpenForm | None:
    """The form being filed, if the citizen gave it an answer or a document that starting over would lose."""
    if await state.get_state() not in (Form.answering.state, Form.documents.state, Form.review.state):
        return None
    data = await state.get_data()
    service = _service(catalogs, data)
    if service is None:
        return None
    given = set(data.get(FormKeys.ANSWERS, {})) - set(data.get(FormKeys.PREFILLED, ()))
    if not given and not data.get(FormKeys.DOCS):
        return None
    return OpenForm(data, service)


async def _ask_continue_or_restart(
    message: Message, r: Renderer, form: OpenForm, org_id: str, service_id: str
) -> None:
    """Ask whether to go on with ``form`` or start service ``service_id`` of ``org_id`` afresh."""
    answers: dict[str, Any] = form.data.get(FormKeys.ANSWERS, {})
    mark = _form_mark(form.data)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=r.plain("bot.form.resume"), callback_data=FormResume(form=mark).pack()
                )
            ],
            [
                InlineKeyboardButton(
                    text=r.plain("bot.form.restart"),
                    callback_data=FormRestart(org=org_id, svc=service_id, form=mark).pack(),
                )
            ],
        ]
    )
    await message.answer(
        r.text(
            "bot.form.unfinished",
            title=form.service.title.get(r.lang),
            answered=r.digits(sum(1 for f in form.service.form if f.id in answers)),
            total=r.digits(len(form.service.form)),
        ),
        reply_markup=keyboard,
    )


async def _ask_current_step(
    message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext, form: OpenForm
) -> None:
    """Ask again what the open form is waiting for: its question, its document, or its review."""
    current = await state.get_state()
    if current == Form.answering.state:
        await _ask_question(message, r, form.service, form.step)
    elif current == Form.documents.state and form.step >= 0:
        await _ask_document(message, r, form.service, form.step, form.docs)
    elif current == Form.documents.state:
        await _advance(message, r, form.service, catalogs, state)
    else:
        org_name = catalogs.catalog.organization(form.service.organization_id).name.get(r.lang)
        await _show_review(message, r, form.service, org_name, form.data, state)


async def _start(
    message: Message,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    org_id: str,
    service_id: str,
    replaces: str | None = None,
) -> None:
    """Start filing a request for a service; an unfinished form (other than ``replaces``, the mark of the one the
    citizen chose to drop) is not dropped silently: the citizen is asked first."""
    unfinished = await _unfinished(state, catalogs)
    if unfinished is not None and _form_mark(unfinished.data) != replaces:
        await _ask_continue_or_restart(message, r, unfinished, org_id, service_id)
        return
    try:
        service = catalogs.catalog.service(org_id, service_id)
    except NotInCatalogError:
        await _restart_politely(message, r, state)
        return
    await state.set_data(
        {
            FormKeys.ORG: org_id,
            FormKeys.SERVICE: service_id,
            FormKeys.VERSION: service.version,
            FormKeys.STEP: 0,
            FormKeys.ANSWERS: {},
            FormKeys.DOCS: {},
            FormKeys.IDEMPOTENCY: uuid.uuid4().hex,
        }
    )
    intro = r.text(
        "bot.form.intro",
        title=service.title.get(r.lang),
        questions=r.digits(len(service.form)),
        documents=r.digits(len(service.documents)),
    )
    await ask_first_question(message, r, service, catalogs, state, lead=intro)


def router() -> Router:
    """Handlers of the request form, its documents, its review and its submission."""
    r_ = Router(name="form")
    r_.message.filter(F.chat.type == "private")

    @r_.callback_query(RequestStart.filter())
    async def start_form(
        callback: CallbackQuery,
        callback_data: RequestStart,
        r: Renderer,
        catalogs: CatalogHolder,
        state: FSMContext,
    ) -> None:
        await callback.answer()
        if isinstance(callback.message, Message):
            await _start(callback.message, r, catalogs, state, callback_data.org, callback_data.svc)

    @r_.callback_query(FormRestart.filter())
    async def restart_form(
        callback: CallbackQuery,
        callback_data: FormRestart,
        r: Renderer,
        catalogs: CatalogHolder,
        state: FSMContext,
    ) -> None:
        """Drop the unfinished form asked about and start the pressed service's; pressed late, it loses nothing:
        with no form open it just starts, and a newer unfinished form is asked about again."""
        await callback.answer()
        if not isinstance(callback.message, Message):
            return
        await _drop_buttons(callback.message)
        await _start(
            callback.message,
            r,
            catalogs,
            state,
            callback_data.org,
            callback_data.svc,
            replaces=callback_data.form,
        )

    @r_.callback_query(StateFilter(Form), FormResume.filter(), FormIsOpen())
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
            await _drop_buttons(callback.message)
        await _ask_current_step(callback.message, r, catalogs, state, form)

    @r_.message(StateFilter(Form), ~FormIsOpen())
    @r_.callback_query(StateFilter(Form), ~FormIsOpen())
    async def form_gone(event: Message | CallbackQuery, r: Renderer, state: FSMContext) -> None:
        """The service of this form is gone or changed shape (a catalog reload): start over politely."""
        message = event.message if isinstance(event, CallbackQuery) else event
        if isinstance(event, CallbackQuery):
            await event.answer()
        if isinstance(message, Message):
            await _restart_politely(message, r, state)

    @r_.message(Form.answering, F.text.in_(nav_labels("cancel")))
    @r_.message(Form.documents, F.text.in_(nav_labels("cancel")))
    @r_.message(Form.review, F.text.in_(nav_labels("cancel")))
    async def cancel(message: Message, r: Renderer, state: FSMContext) -> None:
        await state.clear()
        await message.answer(r.text("bot.form.cancelled"), reply_markup=main_menu(r))

    @r_.message(Form.answering, F.text.in_(nav_labels("back")), FormIsOpen())
    @r_.message(Form.documents, F.text.in_(nav_labels("back")), FormIsOpen())
    async def back(message: Message, r: Renderer, state: FSMContext, form: OpenForm) -> None:
        service, step = form.service, form.step
        await state.update_data({FormKeys.EDITING: False})
        if await state.get_state() == Form.documents.state:
            if step > 0:
                await state.update_data({FormKeys.STEP: step - 1})
                await _ask_document(message, r, service, step - 1, form.docs)
                return
            step = len(service.form)
            await state.set_state(Form.answering)
        if step > 0:
            await state.update_data({FormKeys.STEP: step - 1})
            await _ask_question(message, r, service, step - 1)
            return
        await state.clear()
        await message.answer(r.text("bot.form.left"), reply_markup=main_menu(r))

    @r_.message(Form.answering, F.text.in_(nav_labels("skip")), FormIsOpen())
    async def skip_answer(
        message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext, form: OpenForm
    ) -> None:
        service, step = form.service, form.step
        field = service.form[step]
        if field.required:
            await message.answer(r.text("bot.form.required"))
            await _ask_question(message, r, service, step)
            return
        answers = dict(form.data.get(FormKeys.ANSWERS, {}))
        answers.pop(field.id, None)
        await state.update_data({FormKeys.ANSWERS: answers})
        await _advance(message, r, service, catalogs, state)

    @r_.message(Form.answering, FormIsOpen())
    async def answer(
        message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext, form: OpenForm
    ) -> None:
        service, step = form.service, form.step
        field = service.form[step]
        try:
            value = _read_answer(message, field)
        except MizError as error:
            await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)))
            await _ask_question(message, r, service, step)
            return
        answers = dict(form.data.get(FormKeys.ANSWERS, {}))
        answers[field.id] = value
        await state.update_data({FormKeys.ANSWERS: answers})
        if field.type is FieldType.MOBILE and _is_own_contact(message):
            # Someone else's contact (or a typed number) is only what the citizen says; this one is proved.
            own = set(form.data.get(FormKeys.OWN_PHONES, ())) | {value}
            await state.update_data({FormKeys.OWN_PHONES: sorted(own)})
        await _advance(message, r, service, catalogs, state)

    @r_.callback_query(Form.answering, FormAnswer.filter(), FormIsOpen())
    async def answer_button(
        callback: CallbackQuery,
        callback_data: FormAnswer,
        r: Renderer,
        catalogs: CatalogHolder,
        state: FSMContext,
        form: OpenForm,
    ) -> None:
        service, step = form.service, form.step
        if not isinstance(callback.message, Message):
            await callback.answer()
            return
        if callback_data.ver != service.version or callback_data.step != step:
            await callback.answer(r.plain("bot.form.old_button"), show_alert=True)
            await _ask_question(callback.message, r, service, step)
            return
        field = service.form[step]
        value = callback_data.value == "yes" if field.type is FieldType.YES_NO else callback_data.value
        answers = dict(form.data.get(FormKeys.ANSWERS, {}))
        answers[field.id] = value
        await state.update_data({FormKeys.ANSWERS: answers})
        await callback.answer(r.plain("bot.form.chosen", value=answer_text(r, field, value)))
        await _drop_buttons(callback.message)
        await _advance(callback.message, r, service, catalogs, state)

    @r_.message(Form.documents, F.text.in_(nav_labels("skip")), FormIsOpen())
    async def skip_document(
        message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext, form: OpenForm
    ) -> None:
        doc = form.service.documents[form.step]
        if doc.required and doc.id not in form.docs:
            await message.answer(r.text("bot.docs.required"))
            await _ask_document(message, r, form.service, form.step, form.docs)
            return
        await _advance(message, r, form.service, catalogs, state)

    @r_.message(Form.documents, F.photo | F.document, FormIsOpen())
    async def receive_document(
        message: Message,
        bot: Bot,
        r: Renderer,
        catalogs: CatalogHolder,
        state: FSMContext,
        documents: DocumentStore,
        form: OpenForm,
    ) -> None:
        service, step, docs = form.service, form.step, form.docs
        slot = service.documents[step]
        try:
            docs[slot.id] = await receive_file(message, bot, documents, [kind.value for kind in slot.kinds])
        except ValidationError as error:
            await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)))
            await _ask_document(message, r, service, step, docs)
            return
        await state.update_data({FormKeys.DOCS: docs})
        await message.answer(r.text("bot.docs.received", title=slot.title.get(r.lang)))
        await _advance(message, r, service, catalogs, state)

    @r_.message(Form.documents, FormIsOpen())
    async def not_a_document(message: Message, r: Renderer, form: OpenForm) -> None:
        await message.answer(r.text("bot.docs.not_a_file"))
        await _ask_document(message, r, form.service, form.step, form.docs)

    @r_.message(Form.review, FormIsOpen())
    async def review_text(
        message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext, form: OpenForm
    ) -> None:
        """Typing at the review: the review again, with its buttons (the old one may have lost them to a
        submit that failed half-way)."""
        await message.answer(r.text("bot.review.use_buttons"))
        await _ask_current_step(message, r, catalogs, state, form)

    @r_.callback_query(Form.review, FormSubmit.filter(F.action == "edit"), FormIsOpen())
    async def edit_list(callback: CallbackQuery, r: Renderer, form: OpenForm) -> None:
        service = form.service
        await callback.answer()
        if not isinstance(callback.message, Message):
            return
        rows = [
            [
                InlineKeyboardButton(
                    text=f"✏️ {f.label.get(r.lang)}",
                    callback_data=FormEdit(ver=service.version, what="field", index=i).pack(),
                )
            ]
            for i, f in enumerate(service.form)
        ] + [
            [
                InlineKeyboardButton(
                    text=f"📎 {d.title.get(r.lang)}",
                    callback_data=FormEdit(ver=service.version, what="doc", index=i).pack(),
                )
            ]
            for i, d in enumerate(service.documents)
        ]
        rows.append(
            [
                InlineKeyboardButton(
                    text=r.plain("bot.review.back"),
                    callback_data=FormSubmit(ver=service.version, action="review").pack(),
                )
            ]
        )
        await callback.message.answer(
            r.text("bot.review.pick_edit"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )

    @r_.callback_query(Form.review, FormSubmit.filter(F.action == "review"), FormIsOpen())
    @r_.callback_query(
        StateFilter(Form.answering, Form.documents), FormSubmit.filter(F.action != "cancel"), FormIsOpen()
    )
    async def back_to_review(
        callback: CallbackQuery, r: Renderer, catalogs: CatalogHolder, state: FSMContext, form: OpenForm
    ) -> None:
        """The edit list's "back", or a review button pressed while changing an answer: the review, afresh."""
        if await state.get_state() != Form.review.state and not form.data.get(FormKeys.EDITING):
            raise SkipHandler  # a review of an earlier form, while this one is being filled in: a stale button
        await callback.answer()
        if not isinstance(callback.message, Message):
            return
        await state.update_data({FormKeys.EDITING: False})
        org_name = catalogs.catalog.organization(form.service.organization_id).name.get(r.lang)
        await _show_review(callback.message, r, form.service, org_name, await state.get_data(), state)

    @r_.callback_query(
        StateFilter(Form.review, Form.answering, Form.documents), FormEdit.filter(), FormIsOpen()
    )
    async def edit_one(
        callback: CallbackQuery,
        callback_data: FormEdit,
        r: Renderer,
        catalogs: CatalogHolder,
        state: FSMContext,
        form: OpenForm,
    ) -> None:
        """Change one answer or document; also from an earlier edit list while already changing another one."""
        service = form.service
        if await state.get_state() != Form.review.state and not form.data.get(FormKeys.EDITING):
            raise SkipHandler  # an edit list of an earlier form, while this one is being filled in
        await callback.answer()
        if not isinstance(callback.message, Message):
            return
        items = service.form if callback_data.what == "field" else service.documents
        if callback_data.ver != service.version or not 0 <= callback_data.index < len(items):
            await callback.message.answer(r.plain("bot.form.old_button"))  # "...the current step again:"
            await _ask_current_step(callback.message, r, catalogs, state, form)
            return
        await state.update_data({FormKeys.STEP: callback_data.index, FormKeys.EDITING: True})
        if callback_data.what == "field":
            await state.set_state(Form.answering)
            await _ask_question(callback.message, r, service, callback_data.index)
        else:
            await state.set_state(Form.documents)
            await _ask_document(callback.message, r, service, callback_data.index, form.docs)

    @r_.callback_query(Form.review, FormSubmit.filter(F.action == "cancel"))
    @r_.callback_query(StateFilter(Form.answering, Form.documents), FormSubmit.filter(F.action == "cancel"))
    async def cancel_from_review(callback: CallbackQuery, r: Renderer, state: FSMContext) -> None:
        if await state.get_state() != Form.review.state and not (await state.get_data()).get(
            FormKeys.EDITING
        ):
            raise SkipHandler  # the review of an earlier form, while this one is being filled in
        await callback.answer()
        await state.clear()
        if callback.message is not None:
            await callback.message.answer(r.text("bot.form.cancelled"), reply_markup=main_menu(r))

    submitting: set[str] = set()
    """Forms being filed right now: a second tap that arrives meanwhile is told so and sends nothing."""

    @r_.callback_query(Form.review, FormSubmit.filter(F.action == "go"), FormIsOpen())
    async def submit(
        callback: CallbackQuery,
        r: Renderer,
        catalogs: CatalogHolder,
        state: FSMContext,
        session_factory: async_sessionmaker[AsyncSession],
        platform: Platform,
        outbox: Notifier,
        settings: Settings,
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
        data, service = form.data, form.service
        message = callback.message
        if not isinstance(message, Message):
            await callback.answer()
            return
        idempotency_key = str(data.get(FormKeys.IDEMPOTENCY) or uuid.uuid4().hex)
        if idempotency_key in submitting:  # checked and taken with no await in between: one tap files
            await callback.answer(r.plain("bot.review.sending"))
            return
        submitting.add(idempotency_key)
        try:
            await callback.answer(r.plain("bot.review.sending"))
            await _drop_buttons(message)  # at once: the citizen sees the tap was taken, and cannot tap again
            user = callback.from_user
            submission = Submission(
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
                answers=dict(data.get(FormKeys.ANSWERS, {})),
                documents=[
                    DocumentInput(slot=slot, **stored)
                    for slot, stored in dict(data.get(FormKeys.DOCS, {})).items()
                ],
                idempotency_key=idempotency_key,
                calendar=catalogs.catalog.calendar_for(service.organization_id),
                today=_today(),
                governorate_id=governorate_id(catalogs.catalog),
            )
            org = catalogs.catalog.organization(service.organization_id)
            sms = settings.sms_provider != "none" and org.sms
            try:
                async with unit_of_work(session_factory, write=True) as session:
                    await _record_shared_phone(session, submission, set(data.get(FormKeys.OWN_PHONES, ())))
                    result = await submit_request(session, submission)
                    if result.created:
                        groups = catalogs.catalog.operator_groups(result.organization_id)
                        for group_platform, chat_id in groups.items():
                            await enqueue_card(
                                session,
                                platform=group_platform,
                                chat_id=chat_id,
                                organization_id=result.organization_id,
                                request_id=result.request_id,
                                dedupe_key=f"request:{result.request_id}:card:{group_platform}",
                            )
                        await queue_confirmation(session, submission, result, r.lang)
                    offer = await _phone_to_offer(session, submission) if sms else None
            except ValidationError as error:
                await message.edit_reply_markup(reply_markup=_review_markup(r, service.version))
                await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)))
                return
            if not result.created and (await state.get_data()).get(FormKeys.IDEMPOTENCY) != idempotency_key:
                return  # another tap filed it and told the citizen (it cleared the form when it did)
            outbox.notify()
            await state.clear()
            told = await _confirm(message, r, org.name.get(r.lang), submission, result)
            async with unit_of_work(session_factory, write=True) as session:
                if not told.complete:  # a request filed before: its confirmation may have left the outbox
                    await queue_confirmation(session, submission, result, r.lang, due=told.due or utcnow())
                await settle_confirmation(session, told.keys, told=told.parts, due=told.due)
            if not told.complete:
                outbox.notify()
            elif offer is not None:
                await offer_sms_updates(message, r, result.request_id, offer)
        finally:
            submitting.discard(idempotency_key)

    return r_


def _read_answer(message: Message, field: FormField) -> Any:
    """The answer in ``message`` to ``field``, validated and normalized by ``desk`` (a date by its rule too)."""
    kind = field.type
    if kind is FieldType.LOCATION:
        if message.location is None:
            raise ValidationError("bot.form.need_location")
        return {"latitude": message.location.latitude, "longitude": message.location.longitude}
    if kind is FieldType.MOBILE and message.contact is not None:
        return mobile(message.contact.phone_number)
    if kind in (FieldType.CHOICE, FieldType.YES_NO):
        raise ValidationError("desk.field.use_buttons")
    if message.text is None:
        raise ValidationError("bot.form.need_text")
    value = validate_field(kind.value, message.text, date_rule=field.date_rule)
    return value.isoformat() if isinstance(value, date) else value
