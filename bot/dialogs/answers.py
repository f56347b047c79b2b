"""A citizen answers the organization: by the "✍️ answer" button, by replying to its message, or by just writing.

Every message from the organization about a request carries the button (``desk.notifications.answer_buttons``)
and is remembered with its request when sent, so a reply to it finds the request. A citizen who just writes
(no command, no menu button, nothing another dialog takes) answers the request whose organization wrote to
them last, within the answer window (``MIZ_ANSWER_WINDOW_HOURS``), or the one that needs information from them;
otherwise the catch-all shows the menu. Text, photos, files and albums go alike: kept with the request and
relayed under its card (``desk.bridge.citizen_reply``). Whose request it is, is decided in ``desk.bridge``.

Two routers: :func:`reply_router` (a reply to the organization's message, taken in any conversation state, and
the button) goes early; :func:`router` (the answer after the button, and free writing) goes just before the
catch-all, so every dialog and menu button is tried first.
"""

from __future__ import annotations

from datetime import timedelta

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import AnswerOrg
from bot.dialogs.common import typed_text
from bot.documents import receive_file
from bot.keyboards import cancel_keyboard, main_menu
from bot.notifier import Notifier
from bot.platforms import Platform
from bot.render import Renderer
from bot.states import ANSWER_KEY, Answering
from catalog.loader import CatalogHolder
from config.settings import Settings
from desk.bridge import Copied, Part, citizen_reply, open_conversation, own_request, replied_request
from desk.errors import MizError
from desk.tracking import format_tracking_code
from storage.columns import utcnow
from storage.files import DocumentStore
from storage.models import ServiceRequest
from storage.uow import unit_of_work

__all__ = ["reply_router", "router"]

ACCEPTED = ("photo", "pdf")
"""What a citizen may send the clerks besides text, as with the form's documents."""


def _written(message: Message) -> bool:
    """Text, a photo or a file that is no command (commands go to their handlers wherever they are typed)."""
    if message.text is not None:
        return not message.text.startswith("/")
    return bool(message.photo or message.document)


async def _parts(messages: list[Message], bot: Bot, documents: DocumentStore) -> list[Part]:
    """The citizen's message (or album) as parts of an answer, each file stored first (checked as the form's)."""
    parts = []
    for message in messages:
        if message.text is not None:
            parts.append(Part(text=message.text))
            continue
        stored = await receive_file(message, bot, documents, ACCEPTED)
        parts.append(
            Part(
                text=message.caption,
                copied=Copied(chat_id=message.chat.id, message_id=message.message_id),
                document=stored,
            )
        )
    return parts


async def _answer(
    message: Message,
    request: ServiceRequest,
    album: list[Message] | None,
    bot: Bot,
    r: Renderer,
    platform: Platform,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
    documents: DocumentStore,
) -> None:
    """Relay ``message`` (or its whole album) about ``request`` to the clerks and tell the citizen it went."""
    assert message.from_user is not None
    assert request.id is not None
    try:
        parts = await _parts(album or [message], bot, documents)
        async with unit_of_work(session_factory, write=True) as session:
            answered = await citizen_reply(
                session,
                request.id,
                parts,
                platform=platform.value,
                user_id=message.from_user.id,
                groups=catalogs.catalog.operator_groups(request.organization_id),
            )
    except MizError as error:
        await message.answer(
            r.text("bot.form.invalid", error=error.render(r.lang)), reply_markup=main_menu(r)
        )
        return
    outbox.notify()
    code = format_tracking_code(request.tracking_code, r.lang)
    done = "bot.followup.answer_sent" if answered else "bot.answer.sent"
    await message.answer(r.text(done, code=code), reply_markup=main_menu(r))


async def start_answer(
    callback: CallbackQuery,
    callback_data: AnswerOrg,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """ "✍️ answer": if the request is the citizen's own, their next message answers it."""
    try:
        async with session_factory() as session:
            request = await own_request(session, callback_data.req, platform.value, callback.from_user.id)
    except MizError as error:
        await callback.answer(error.render(r.lang), show_alert=True)
        return
    await callback.answer()
    await state.set_state(Answering.writing)
    await state.update_data({ANSWER_KEY: callback_data.req})
    if callback.message is not None:
        code = format_tracking_code(request.tracking_code, r.lang)
        await callback.message.answer(r.text("bot.answer.prompt", code=code), reply_markup=cancel_keyboard(r))


async def answer_after_button(
    message: Message,
    bot: Bot,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
    documents: DocumentStore,
    album: list[Message] | None = None,
) -> None:
    """The message written after "✍️ answer" (checked again: the request must still be the citizen's own)."""
    request_id = int((await state.get_data()).get(ANSWER_KEY, 0))
    await state.clear()
    if message.from_user is None or request_id <= 0:
        return
    try:
        async with session_factory() as session:
            request = await own_request(session, request_id, platform.value, message.from_user.id)
    except MizError as error:
        await message.answer(
            r.text("bot.form.invalid", error=error.render(r.lang)), reply_markup=main_menu(r)
        )
        return
    await _answer(message, request, album, bot, r, platform, catalogs, session_factory, outbox, documents)


async def not_an_answer(message: Message, r: Renderer) -> None:
    """After "✍️ answer", something the clerks cannot read (a sticker, a location): ask again."""
    await message.answer(r.text("bot.answer.not_text"), reply_markup=cancel_keyboard(r))


async def cancel_answer(message: Message, r: Renderer, state: FSMContext) -> None:
    await state.clear()
    await message.answer(r.text("bot.menu.prompt"), reply_markup=main_menu(r))


async def answer_by_reply(
    message: Message,
    bot: Bot,
    r: Renderer,
    platform: Platform,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
    documents: DocumentStore,
    album: list[Message] | None = None,
) -> None:
    """A reply to a message the organization sent about one of the citizen's requests answers that request,
    whatever dialog the citizen is in (which stays as it was)."""
    replied = message.reply_to_message
    if replied is None or message.from_user is None or not _written(message):
        raise SkipHandler
    async with session_factory() as session:
        request = await replied_request(
            session, platform.value, message.from_user.id, message.chat.id, replied.message_id
        )
    if request is None:
        raise SkipHandler  # a reply to another message: what it would be without the reply
    await _answer(message, request, album, bot, r, platform, catalogs, session_factory, outbox, documents)


async def answer_by_writing(
    message: Message,
    bot: Bot,
    r: Renderer,
    platform: Platform,
    settings: Settings,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
    documents: DocumentStore,
    album: list[Message] | None = None,
) -> None:
    """Free writing answers the request the organization wrote about last, within the answer window, or the one
    that needs information; with none, the catch-all shows the menu."""
    if message.from_user is None or not _written(message):
        raise SkipHandler
    since = utcnow() - timedelta(hours=settings.answer_window_hours)
    async with session_factory() as session:
        request = await open_conversation(session, platform.value, message.from_user.id, spoken_since=since)
    if request is None:
        raise SkipHandler  # not an answer: the catch-all shows the menu
    await _answer(message, request, album, bot, r, platform, catalogs, session_factory, outbox, documents)


def reply_router() -> Router:
    """The "✍️ answer" button, and replies to the organization's messages, in private chats (include early)."""
    r = Router(name="answers-replies")
    r.message.filter(F.chat.type == "private")
    r.callback_query.register(start_answer, AnswerOrg.filter())
    r.message.register(answer_by_reply, F.reply_to_message)
    return r


def router() -> Router:
    """The answer after "✍️ answer", and free writing to the organization (include just before the catch-all)."""
    r = Router(name="answers")
    r.message.filter(F.chat.type == "private")
    r.message.register(cancel_answer, Answering.writing, ~typed_text() & F.text)
    r.message.register(answer_after_button, Answering.writing, typed_text() | F.photo | F.document)
    r.message.register(not_an_answer, Answering.writing)
    r.message.register(answer_by_writing, StateFilter(None), typed_text() | F.photo | F.document)
    return r
