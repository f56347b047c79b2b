"""Inquiries in the operator groups: the asking clerk's dialog from a card, the agency's answers, ``/inquiries``.

The asking clerk presses "🏢 inquiry" on a card, ticks the agencies (the service's usual ones first), writes the
question, ticks the request's documents to attach and may send new files (photos or PDFs, kept in the document
store like a citizen's), and types the letter number and date or sends without. An agency's group gets the inquiry
card (``bot.inquiry_cards``) and answers with its buttons: "answer" (texts and files, one message at a time, until
"done"), "need more" (a question back, which the asking clerk answers with the button under
it), "not ours" (a reason). For an agency without a group the clerk records the answer by hand from the card.

Who may press what is decided by ``IsClerk`` (the group's own staff) and again by ``desk.inquiries`` (the agency
asked, or the organization asking): a forged button from anyone else is "not found". Each step keeps its data in
the clerk's own conversation state in that group, so two clerks can write inquiries at once.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import (
    CardAction,
    InquiryAgency,
    InquiryAnswerDone,
    InquiryButton,
    InquiryDocument,
    InquiryOpen,
    InquiryPage,
    InquiryRecord,
    InquiryRecordNow,
    InquiryStep,
)
from bot.documents import receive_file
from bot.filters import IsClerk
from bot.inquiry_cards import agency_of
from bot.notifier import Notifier
from bot.platforms import GROUP_CHAT_TYPES, Platform
from bot.render import Renderer
from bot.transfers import org_label
from catalog.loader import CatalogHolder
from catalog.schema import Clerk, Organization
from desk import inquiries
from desk.errors import MizError, ValidationError
from desk.handling import ActorRef
from desk.inquiries import InquiryAct
from desk.lifecycle import Status
from desk.persian import TEHRAN, format_jalali_date
from storage.files import KINDS, DocumentStore
from storage.models import Inquiry
from storage.uow import unit_of_work

__all__ = ["InquiryStates", "router"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

Where = Message | InaccessibleMessage | None
"""Where to answer: a message of the group (a pressed button's may be inaccessible, then nothing is sent)."""

PICKER_MAX = 16
"""Most organizations offered as buttons on one page of the picker (the service's usual ones and the agencies come
first; the municipalities, dehyaris and the governorate on the next pages)."""


class InquiryStates(StatesGroup):
    """A clerk writing an inquiry (``agencies`` → ``question`` → ``documents`` → ``letter``), an agency's staff
    member or the asking clerk answering one (``reply``), and the letter of an answer recorded by hand."""

    agencies = State()
    question = State()
    documents = State()
    letter = State()
    reply = State()
    answer_letter = State()


def router() -> Router:
    """The inquiries' handlers; placed before the operator router, whose card buttons they take over."""
    r = Router(name="inquiries")
    r.message.filter(F.chat.type.in_(GROUP_CHAT_TYPES))
    r.callback_query.filter(F.message.chat.type.in_(GROUP_CHAT_TYPES))
    clerk = IsClerk()
    r.callback_query.register(start, CardAction.filter(F.act == "inquire"), clerk)
    r.callback_query.register(record_start, CardAction.filter(F.act == "record_answer"), clerk)
    r.callback_query.register(tick_agency, InquiryAgency.filter(), InquiryStates.agencies, clerk)
    r.callback_query.register(turn_page, InquiryPage.filter(), InquiryStates.agencies, clerk)
    r.callback_query.register(tick_document, InquiryDocument.filter(), InquiryStates.documents, clerk)
    r.callback_query.register(step, InquiryStep.filter(), clerk)
    r.callback_query.register(button, InquiryButton.filter(), clerk)
    r.callback_query.register(record_pick, InquiryRecord.filter(), clerk)
    r.callback_query.register(record_now, InquiryRecordNow.filter(), InquiryStates.answer_letter, clerk)
    r.callback_query.register(answer_done, InquiryAnswerDone.filter(), InquiryStates.reply, clerk)
    r.callback_query.register(open_card, InquiryOpen.filter(), clerk)
    r.callback_query.register(
        stale,
        F.data.func(
            lambda data: (
                str(data).split(":", 1)[0]
                in {"inqto", "inqpg", "inqdoc", "inqgo", "inqrec", "inqnow", "inqdone", "inqcard", "inq"}
            )
        ),
    )
    r.message.register(cancel, Command("cancel"), InquiryStates.question)
    r.message.register(cancel, Command("cancel"), InquiryStates.letter)
    r.message.register(cancel, Command("cancel"), InquiryStates.reply)
    r.message.register(cancel, Command("cancel"), InquiryStates.answer_letter)
    r.message.register(question, InquiryStates.question, F.text, clerk)
    r.message.register(attach, InquiryStates.documents, clerk)
    r.message.register(typed_letter, InquiryStates.letter, F.text, clerk)
    r.message.register(reply, InquiryStates.reply, clerk)
    r.message.register(typed_letter, InquiryStates.answer_letter, F.text, clerk)
    r.message.register(list_open, Command("inquiries"), clerk)
    return r


async def _run(
    factory: async_sessionmaker[AsyncSession], outbox: Notifier, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """``work`` in one write transaction, then wake the outbox sender for what it queued."""
    async with unit_of_work(factory, write=True) as session:
        result = await work(session)
    outbox.notify()
    return result


Letter = tuple[str, date] | None
"""A letter's number and date as the clerk typed them, or None when the inquiry or answer goes without one."""


@dataclass(frozen=True, slots=True)
class _Desk:
    """What the last step of a dialog needs of the update: the group's organization, who acts, how to say it, the
    catalog, and the database with the outbox to wake."""

    org: Organization
    actor: ActorRef
    r: Renderer
    catalogs: CatalogHolder
    session_factory: async_sessionmaker[AsyncSession]
    outbox: Notifier

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """``work`` in one write transaction, then wake the outbox sender for what it queued."""
        return await _run(self.session_factory, self.outbox, work)


Finish = Callable[[_Desk, dict[str, Any], Letter], Awaitable[str]]
"""The last step of a dialog: writes what the dialog's data and letter say, and answers what to tell the clerk."""


async def _conclude(
    message: Where, desk: _Desk, state: FSMContext, finish: Finish, letter_given: Letter
) -> None:
    """End the dialog kept in ``state`` with ``finish`` (sending the inquiry, or the answer): the dialog is over
    either way, and a refusal from ``desk`` is said instead of the outcome."""
    data = await state.get_data()
    await state.clear()
    try:
        done = await finish(desk, data, letter_given)
    except MizError as error:
        await _reply(message, desk.r.text("op.invalid", error=error.render(desk.r.lang)))
        return
    await _reply(message, done)


def _today() -> date:
    return datetime.now(TEHRAN).date()


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


async def _alert(callback: CallbackQuery, r: Renderer, error: MizError) -> None:
    await callback.answer(error.render(r.lang), show_alert=True)


async def _reply(message: Where, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    if isinstance(message, Message):
        await message.answer(text, reply_markup=markup)


# The asking clerk's dialog.


def _pages(targets: list[str]) -> int:
    return max(1, -(-len(targets) // PICKER_MAX))


def _agency_markup(
    r: Renderer,
    catalogs: CatalogHolder,
    request_id: int,
    targets: list[str],
    picked: list[str],
    page: int = 0,
) -> InlineKeyboardMarkup:
    """A page of the organizations to tick (those ticked on other pages stay ticked), with the way to the others."""
    shown = targets[page * PICKER_MAX : (page + 1) * PICKER_MAX]
    buttons = [
        _button(
            ("✅ " if org_id in picked else "") + org_label(catalogs.catalog, org_id),
            InquiryAgency(req=request_id, org=org_id).pack(),
        )
        for org_id in shown
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(_button(r.plain("bot.nav.prev"), InquiryPage(req=request_id, page=page - 1).pack()))
    if page + 1 < _pages(targets):
        nav.append(_button(r.plain("bot.nav.next"), InquiryPage(req=request_id, page=page + 1).pack()))
    if nav:
        rows.append(nav)
    rows.append(
        [
            _button(r.plain("op.inquiry.next"), InquiryStep(req=request_id, step="question").pack()),
            _button(r.plain("op.inquiry.cancel"), InquiryStep(req=request_id, step="cancel").pack()),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _document_markup(
    r: Renderer, request_id: int, documents: list[list[Any]], picked: list[int]
) -> InlineKeyboardMarkup:
    rows = [
        [
            _button(
                ("✅ " if doc_id in picked else "")
                + r.plain("op.inquiry.document", n=r.digits(n), title=title),
                InquiryDocument(req=request_id, doc=doc_id).pack(),
            )
        ]
        for n, (doc_id, title) in enumerate(documents, start=1)
    ]
    rows.append([_button(r.plain("op.inquiry.next"), InquiryStep(req=request_id, step="letter").pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def start(
    callback: CallbackQuery,
    callback_data: CardAction,
    clerk: Clerk,
    org: Organization,
    actor: ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """ "🏢 inquiry" on a card: the organizations to ask, as buttons to tick."""
    try:
        async with session_factory() as session:
            asking = await inquiries.prepare(
                session, callback_data.req, actor, seen_status=callback_data.seen
            )
    except MizError as error:
        await _alert(callback, r, error)
        return
    targets = [o.id for o in catalogs.catalog.inquiry_targets(org.id, asking.service_id)]
    await state.set_state(InquiryStates.agencies)
    await state.set_data(
        {
            "req": asking.request_id,
            "seen": callback_data.seen.value,
            "targets": targets,
            "picked": [],
            "documents": [list(item) for item in asking.documents],
        }
    )
    await callback.answer()
    markup = _agency_markup(r, catalogs, asking.request_id, targets, [])
    await _reply(callback.message, r.text("op.inquiry.pick", clerk=clerk.name.get("fa")), markup)


async def tick_agency(
    callback: CallbackQuery,
    callback_data: InquiryAgency,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    targets = list(data.get("targets", []))
    if data.get("req") != callback_data.req or callback_data.org not in targets:
        await callback.answer(r.plain("op.inquiry.stale"), show_alert=True)
        return
    picked = list(data.get("picked", []))
    picked = (
        [o for o in picked if o != callback_data.org]
        if callback_data.org in picked
        else [*picked, callback_data.org]
    )
    await state.update_data({"picked": picked})
    await callback.answer()
    if isinstance(callback.message, Message):
        page = int(data.get("page", 0))
        await callback.message.edit_reply_markup(
            reply_markup=_agency_markup(r, catalogs, callback_data.req, targets, picked, page)
        )


async def turn_page(
    callback: CallbackQuery,
    callback_data: InquiryPage,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
) -> None:
    """Another page of the organizations to ask; a forged page number shows the nearest real one."""
    data = await state.get_data()
    if data.get("req") != callback_data.req:
        await callback.answer(r.plain("op.inquiry.stale"), show_alert=True)
        return
    targets = list(data.get("targets", []))
    page = min(callback_data.page, _pages(targets) - 1)
    await callback.answer()
    if page == int(data.get("page", 0)):
        return  # nothing to redraw (a messenger refuses an edit that changes nothing)
    await state.update_data({"page": page})
    if isinstance(callback.message, Message):
        picked = list(data.get("picked", []))
        await callback.message.edit_reply_markup(
            reply_markup=_agency_markup(r, catalogs, callback_data.req, targets, picked, page)
        )


async def tick_document(
    callback: CallbackQuery, callback_data: InquiryDocument, r: Renderer, state: FSMContext
) -> None:
    data = await state.get_data()
    documents = list(data.get("documents", []))
    if data.get("req") != callback_data.req or callback_data.doc not in [d[0] for d in documents]:
        await callback.answer(r.plain("op.inquiry.stale"), show_alert=True)
        return
    chosen = list(data.get("attach", []))
    chosen = (
        [d for d in chosen if d != callback_data.doc]
        if callback_data.doc in chosen
        else [*chosen, callback_data.doc]
    )
    await state.update_data({"attach": chosen})
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(
            reply_markup=_document_markup(r, callback_data.req, documents, chosen)
        )


async def step(
    callback: CallbackQuery,
    callback_data: InquiryStep,
    clerk: Clerk,
    org: Organization,
    actor: ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """The dialog's buttons: on to the question, on to the letter, send without a letter, cancel."""
    data = await state.get_data()
    if data.get("req") != callback_data.req:
        await callback.answer(r.plain("op.inquiry.stale"), show_alert=True)
        return
    if callback_data.step == "cancel":
        await state.clear()
        await callback.answer(r.plain("op.cancelled"))
        return
    if callback_data.step == "question":
        if not data.get("picked"):
            await callback.answer(r.plain("op.inquiry.pick_one"), show_alert=True)
            return
        await state.set_state(InquiryStates.question)
        await callback.answer()
        await _reply(callback.message, r.text("op.inquiry.ask_question", clerk=clerk.name.get("fa")))
        return
    if callback_data.step == "letter":
        await state.set_state(InquiryStates.letter)
        await callback.answer()
        await _ask_letter(callback.message, r, callback_data.req)
        return
    await callback.answer()
    desk = _Desk(org, actor, r, catalogs, session_factory, outbox)
    await _conclude(callback.message, desk, state, _send, None)


async def _ask_letter(message: Where, r: Renderer, request_id: int) -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(r.plain("op.inquiry.send_without"), InquiryStep(req=request_id, step="send").pack())]
        ]
    )
    await _reply(message, r.text("op.inquiry.ask_letter"), markup)


async def question(message: Message, r: Renderer, state: FSMContext) -> None:
    """The question: next the request's documents to tick and new files to send (then the letter)."""
    text = (message.text or "").strip()
    if not text:
        await message.reply(r.text("op.inquiry.ask_question_again"))
        return
    await state.update_data({"question": text})
    data = await state.get_data()
    request_id = int(data["req"])
    documents = list(data.get("documents", []))
    await state.set_state(InquiryStates.documents)
    await message.answer(
        r.text("op.inquiry.ask_documents" if documents else "op.inquiry.ask_files"),
        reply_markup=_document_markup(r, request_id, documents, []),
    )


_locks: weakref.WeakValueDictionary[tuple[int, int], asyncio.Lock] = weakref.WeakValueDictionary()


def _lock_of(message: Message) -> asyncio.Lock:
    """One clerk's lock in one group: the parts of an album arrive as updates handled at once, and each adds its
    file to the same conversation state (read, then written back), so they take turns. Kept while held."""
    key = (message.chat.id, message.from_user.id if message.from_user else 0)
    lock = _locks.get(key)
    if lock is None:
        lock = asyncio.Lock()
        _locks[key] = lock
    return lock


async def _keep_file(
    message: Message, bot: Bot, store: DocumentStore, actor: ActorRef, r: Renderer, kept: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The message's photo or PDF kept in the document store, with where it was sent (to copy it on, where it
    can be); None, with the clerk told why (a sticker, a file too large, one too many), when it is refused."""
    try:
        if len(kept) >= inquiries.FILES_MAX:
            raise ValidationError("desk.inquiry.too_many_files", limit=inquiries.FILES_MAX)
        stored = await receive_file(message, bot, store, KINDS)
    except ValidationError as error:
        await message.reply(r.text("op.invalid", error=error.render(r.lang)))
        return None
    return {
        **stored,
        "platform": actor.platform,
        "chat_id": message.chat.id,
        "message_id": message.message_id,
    }


async def attach(
    message: Message, bot: Bot, actor: ActorRef, r: Renderer, state: FSMContext, documents: DocumentStore
) -> None:
    """A new photo or PDF sent while the request's documents are being ticked: kept, to go with the inquiry."""
    if not (message.photo or message.document):
        await message.reply(r.text("op.inquiry.not_a_file"))
        return
    async with _lock_of(message):
        data = await state.get_data()
        files = list(data.get("files", []))
        kept = await _keep_file(message, bot, documents, actor, r, files)
        if kept is None:
            return
        files.append(kept)
        await state.update_data({"files": files})
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(r.plain("op.inquiry.next"), InquiryStep(req=int(data["req"]), step="letter").pack())]
        ]
    )
    await message.answer(r.text("op.inquiry.file_received", count=r.digits(len(files))), reply_markup=markup)


async def typed_letter(
    message: Message,
    org: Organization,
    actor: ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
    raw_state: str | None,
) -> None:
    """A letter's number and date as typed (``۱۲۳۴/ش ۱۴۰۵/۰۹/۱۴``): the clerk's outgoing letter sends the inquiry;
    an answer's letter (the agency's, or the incoming one a clerk records by hand) sends the answer."""
    try:
        given = inquiries.parse_letter(message.text or "", _today())
    except MizError as error:
        await message.reply(r.text("op.invalid", error=error.render(r.lang)))
        return
    finish = _send if raw_state == InquiryStates.letter.state else _record
    await _conclude(message, _Desk(org, actor, r, catalogs, session_factory, outbox), state, finish, given)


async def _send(desk: _Desk, data: dict[str, Any], letter_given: Letter) -> str:
    """The inquiry the clerk wrote goes to every organization they ticked; what to tell them."""
    r, catalog = desk.r, desk.catalogs.catalog
    agencies = [agency_of(desk.catalogs, o) for o in data.get("picked", []) if catalog.has_organization(o)]
    sent = await desk.run(
        lambda s: inquiries.send_inquiries(
            s,
            int(data["req"]),
            desk.actor,
            agencies,
            str(data.get("question", "")),
            document_ids=[int(d) for d in data.get("attach", [])],
            files=list(data.get("files", [])),
            letter_number=letter_given[0] if letter_given else None,
            letter_date=letter_given[1] if letter_given else None,
            seen_status=Status(str(data["seen"])),
            groups=catalog.operator_groups(desk.org.id),
            today=_today(),
        ),
    )
    lines = [
        r.plain(
            "op.inquiry.sent_line",
            number=r.digits(item.id or 0),
            agency=org_label(catalog, item.agency_id),
            due=format_jalali_date(item.due_date, r.lang),
            how=r.plain(
                "op.inquiry.by_group" if catalog.operator_groups(item.agency_id) else "op.inquiry.by_hand"
            ),
        )
        for item in sent
    ]
    return r.text("op.inquiry.sent", lines="\n".join(lines))


# Answers: the agency's buttons, the asking clerk's reply to "need more", an answer recorded by hand.


async def button(
    callback: CallbackQuery,
    callback_data: InquiryButton,
    clerk: Clerk,
    org: Organization,
    r: Renderer,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """An inquiry's button: checked at once (only the agency asked, or the asking organization for "more"), then
    the text (or file) it needs is asked for."""
    act = callback_data.act
    try:
        async with session_factory() as session:
            if act is InquiryAct.MORE:
                found = await inquiries.get_for_asker(session, callback_data.inq, org.id)
            else:
                found = await inquiries.get_for_agency(session, callback_data.inq, org.id)
            inquiries.check_pressable(found, act)
    except MizError as error:
        logger.warning("refused inquiry button %s:%s in %s", callback_data.inq, act.value, org.id)
        await _alert(callback, r, error)
        return
    await state.set_state(InquiryStates.reply)
    await state.set_data({"inq": found.id, "act": act.value})
    await callback.answer()
    await _reply(
        callback.message,
        r.text(f"op.inquiry.prompt.{act.value}", clerk=clerk.name.get("fa"), number=r.digits(found.id or 0)),
    )


async def record_start(
    callback: CallbackQuery,
    callback_data: CardAction,
    actor: ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """ "📥 record an answer" on a card: the request's open inquiries, to pick the one answered."""
    try:
        async with session_factory() as session:
            found = await inquiries.open_of_request(session, callback_data.req, actor)
    except MizError as error:
        await _alert(callback, r, error)
        return
    if not found:
        await callback.answer(r.plain("op.inquiry.none_open"), show_alert=True)
        return
    await callback.answer()
    rows = [
        [
            _button(
                r.plain(
                    "op.inquiry.record_label",
                    number=r.digits(item.id or 0),
                    agency=org_label(catalogs.catalog, item.agency_id),
                ),
                InquiryRecord(inq=item.id or 0).pack(),
            )
        ]
        for item in found
    ]
    await _reply(
        callback.message, r.text("op.inquiry.record_pick"), InlineKeyboardMarkup(inline_keyboard=rows)
    )


async def record_pick(
    callback: CallbackQuery,
    callback_data: InquiryRecord,
    clerk: Clerk,
    org: Organization,
    r: Renderer,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    try:
        async with session_factory() as session:
            found = await inquiries.get_for_asker(session, callback_data.inq, org.id)
    except MizError as error:
        await _alert(callback, r, error)
        return
    await state.set_state(InquiryStates.reply)
    await state.set_data({"inq": found.id, "act": InquiryAct.ANSWER.value, "by_hand": True})
    await callback.answer()
    await _reply(
        callback.message,
        r.text("op.inquiry.prompt.by_hand", clerk=clerk.name.get("fa"), number=r.digits(found.id or 0)),
    )


async def reply(
    message: Message,
    bot: Bot,
    org: Organization,
    actor: ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
    documents: DocumentStore,
) -> None:
    """The text an inquiry's button asked for; for an answer, each of its texts and files until "done"."""
    data = await state.get_data()
    inquiry_id = int(data.get("inq", 0))
    act = InquiryAct(str(data.get("act")))
    if act is InquiryAct.ANSWER:
        await _gather(message, bot, actor, r, state, documents, inquiry_id)
        return
    text = message.text or message.caption or ""  # a blank one (a sticker) is refused by desk, to write again
    files: list[dict[str, Any]] = []
    try:
        async with session_factory() as session:
            found = await _inquiry_for(session, act, inquiry_id, org.id)
        work = _work(act, found, actor, text, files, catalogs)
        await _run(session_factory, outbox, work)
    except MizError as error:
        if not error.key.startswith("desk.text."):  # a blank or long text may be written again
            await state.clear()
        await message.reply(r.text("op.invalid", error=error.render(r.lang)))
        return
    await state.clear()
    await message.reply(r.text(f"op.inquiry.done.{act.value}"))


async def _gather(
    message: Message,
    bot: Bot,
    actor: ActorRef,
    r: Renderer,
    state: FSMContext,
    store: DocumentStore,
    inquiry_id: int,
) -> None:
    """One message of an answer: its text (or a file's caption) and its photo or PDF, kept until "done"."""
    text = (message.text or message.caption or "").strip()
    if not (text or message.photo or message.document):
        await message.reply(r.text("op.inquiry.ask_answer_again"))
        return
    async with _lock_of(message):
        data = await state.get_data()
        texts, files = list(data.get("texts", [])), list(data.get("files", []))
        if message.photo or message.document:
            kept = await _keep_file(message, bot, store, actor, r, files)
            if kept is None:
                return  # its caption goes with it: the clerk sends the file again, or another
            files.append(kept)
        if text:
            texts.append(text)
        await state.update_data({"texts": texts, "files": files})
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(r.plain("op.inquiry.answer_done"), InquiryAnswerDone(inq=inquiry_id).pack())]
        ]
    )
    await message.answer(
        r.text("op.inquiry.answer_received", texts=r.digits(len(texts)), files=r.digits(len(files))),
        reply_markup=markup,
    )


async def answer_done(
    callback: CallbackQuery, callback_data: InquiryAnswerDone, r: Renderer, state: FSMContext
) -> None:
    """ "done" under an answer: its letter's number and date are asked for next (offices number their letters)."""
    data = await state.get_data()
    if data.get("inq") != callback_data.inq or data.get("act") != InquiryAct.ANSWER.value:
        await callback.answer(r.plain("op.inquiry.stale"), show_alert=True)
        return
    texts, files = list(data.get("texts", [])), list(data.get("files", []))
    if not texts and not files:
        await callback.answer(r.plain("op.inquiry.answer_empty"), show_alert=True)
        return
    await state.set_state(InquiryStates.answer_letter)
    await state.update_data({"text": "\n\n".join(texts), "files": files})
    await callback.answer()
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(r.plain("op.inquiry.record_without"), InquiryRecordNow(inq=callback_data.inq).pack())]
        ]
    )
    await _reply(callback.message, r.text("op.inquiry.ask_answer_letter"), markup)


async def _inquiry_for(session: AsyncSession, act: InquiryAct, inquiry_id: int, org_id: str) -> Inquiry:
    if act is InquiryAct.MORE:
        return await inquiries.get_for_asker(session, inquiry_id, org_id)
    return await inquiries.get_for_agency(session, inquiry_id, org_id)


def _work(
    act: InquiryAct,
    inquiry: Inquiry,
    actor: ActorRef,
    text: str,
    files: list[dict[str, Any]],
    catalogs: CatalogHolder,
) -> Callable[[AsyncSession], Awaitable[Any]]:
    """The use case of ``act`` on ``inquiry``, with the catalog's names and groups it needs."""
    assert inquiry.id is not None
    inquiry_id = inquiry.id
    catalog = catalogs.catalog
    name = org_label(catalog, inquiry.agency_id)
    asking = catalog.operator_groups(inquiry.asking_organization_id)
    if act is InquiryAct.ANSWER:
        return lambda s: inquiries.answer(
            s, inquiry_id, actor, text, agency_name=name, files=files, asking_groups=asking
        )
    if act is InquiryAct.NOT_OURS:
        return lambda s: inquiries.not_ours(
            s, inquiry_id, actor, text, agency_name=name, asking_groups=asking
        )
    if act is InquiryAct.NEED_MORE:
        return lambda s: inquiries.ask_more(
            s, inquiry_id, actor, text, agency_name=name, asking_groups=asking
        )
    agency_groups = catalog.operator_groups(inquiry.agency_id)
    return lambda s: inquiries.more_info(s, inquiry_id, actor, text, agency_groups=agency_groups)


async def _record(desk: _Desk, data: dict[str, Any], letter_given: Letter) -> str:
    """The answer gathered goes to the asking organization (the agency's, or recorded by hand by the asking
    clerk); what to tell them."""
    inquiry_id = int(data.get("inq", 0))
    by_hand = bool(data.get("by_hand"))
    catalog = desk.catalogs.catalog
    async with desk.session_factory() as session:
        if by_hand:
            found = await inquiries.get_for_asker(session, inquiry_id, desk.org.id)
        else:
            found = await inquiries.get_for_agency(session, inquiry_id, desk.org.id)
    await desk.run(
        lambda s: inquiries.answer(
            s,
            inquiry_id,
            desk.actor,
            str(data.get("text", "")),
            agency_name=org_label(catalog, found.agency_id),
            files=list(data.get("files", [])),
            letter_number=letter_given[0] if letter_given else None,
            letter_date=letter_given[1] if letter_given else None,
            asking_groups=catalog.operator_groups(found.asking_organization_id),
            by_hand=by_hand,
        ),
    )
    return desk.r.text("op.inquiry.done.by_hand" if by_hand else "op.inquiry.done.answer")


async def record_now(
    callback: CallbackQuery,
    callback_data: InquiryRecordNow,
    org: Organization,
    actor: ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """The answer without a letter number."""
    data = await state.get_data()
    if data.get("inq") != callback_data.inq:
        await callback.answer(r.plain("op.inquiry.stale"), show_alert=True)
        return
    await callback.answer()
    desk = _Desk(org, actor, r, catalogs, session_factory, outbox)
    await _conclude(callback.message, desk, state, _record, None)


async def open_card(
    callback: CallbackQuery,
    callback_data: InquiryOpen,
    actor: ActorRef,
    r: Renderer,
    platform: Platform,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """A button of the agency's ``/open`` list: the inquiry's card again, with its buttons and files, in this group
    (``desk.inquiries.show_card`` decides whether the presser's organization may have it)."""
    message = callback.message
    assert message is not None  # the router takes presses on a group's message only
    try:
        await _run(
            session_factory,
            outbox,
            lambda s: inquiries.show_card(
                s, callback_data.inq, actor, platform=platform.value, chat_id=message.chat.id
            ),
        )
    except MizError as error:
        logger.warning("refused inquiry card %s in %s", callback_data.inq, actor.organization_id)
        await _alert(callback, r, error)
        return
    await callback.answer(r.plain("op.inquiry.worklist.opened"))


async def stale(callback: CallbackQuery, r: Renderer) -> None:
    """An inquiry's button pressed by someone who is not staff of this group, or for a dialog that is over."""
    await callback.answer(r.plain("op.inquiry.stale"), show_alert=True)


async def cancel(message: Message, r: Renderer, state: FSMContext) -> None:
    await state.clear()
    await message.reply(r.text("op.cancelled"))


async def list_open(
    message: Message,
    org: Organization,
    r: Renderer,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """``/inquiries``: the group's open inquiries, those it asked and those it was asked, the earliest due first."""
    async with session_factory() as session:
        found = await inquiries.open_inquiries(session, org.id)
    if not found:
        await message.answer(r.text("op.inquiry.list.empty"))
        return
    today = _today()
    lines = [r.text("op.inquiry.list.title", count=r.digits(len(found)))]
    for item in found[:30]:
        asked = item.asking_organization_id == org.id
        lines.append(
            r.text(
                "op.inquiry.list.asked" if asked else "op.inquiry.list.received",
                number=r.digits(item.id or 0),
                other=org_label(catalogs.catalog, item.agency_id if asked else item.asking_organization_id),
                due=format_jalali_date(item.due_date, r.lang),
                late=r.plain("op.inquiry.list.late") if item.due_date < today else "",
                state=r.plain(f"op.inquiry.state.{item.state}"),
            )
        )
    await message.answer("\n".join(lines))
