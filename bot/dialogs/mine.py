""" "My requests", page by page, and each request's own page (``desk.mine``).

The list shows ``desk.mine.MINE_PAGE`` requests at a time, newest first, with newer and older buttons that turn
the page in the same message, and a button per request that opens its own page in a new message: where it stands,
its public history, the citizen's own answers and documents (the files sent again), its certificates and its
payments, and, while it is open, SMS updates for it (``bot.dialogs.verify_phone``) and a button to withdraw it,
confirmed first (``desk.handling.withdraw``). Every press is checked again in ``desk``: a request the presser did
not file is answered like a stale button, a finished one as closed.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import CompleteAnswers, MineOpen, MinePage, MineWithdraw, SmsOffer
from bot.dialogs.track import org_name, track_context
from bot.forms import answer_text
from bot.handlers.start import menu_labels
from bot.keyboards import main_menu
from bot.notifier import Notifier
from bot.platforms import Platform
from bot.render import Renderer
from catalog.loader import CatalogHolder
from catalog.schema import FormField
from config.settings import Settings
from desk.certificate_types import CertificateType
from desk.errors import MizError, NotFound
from desk.handling import withdraw
from desk.lifecycle import Status
from desk.mine import MinePage as Page
from desk.mine import OwnRequest, my_request, my_requests_page, own_request
from desk.persian import format_jalali_date, format_number
from desk.requests import Title, missing_answers
from desk.tracking import format_tracking_code
from storage.files import DocumentStore
from storage.uow import unit_of_work

__all__ = ["router"]

SessionFactory = async_sessionmaker[AsyncSession]

BUTTON_TITLE_MAX = 40
"""Longest title on a request's button; a longer one is cut with an ellipsis."""


def _title(title: Title, lang: str) -> str:
    return title.text(lang)


def _short(title: str) -> str:
    return title if len(title) <= BUTTON_TITLE_MAX else title[: BUTTON_TITLE_MAX - 1].rstrip() + "…"


def _list_text(r: Renderer, catalogs: CatalogHolder, shown: Page) -> str:
    first = shown.page * shown.size
    return r.template(
        "my_requests.j2",
        items=[
            {
                "n": r.digits(first + n),
                "title": _title(item.title, r.lang),
                "org": org_name(catalogs, item.organization_id, r.lang),
                "code": format_tracking_code(item.tracking_code, r.lang),
                "status": r.plain(Status(item.status).label_key),
                "submitted": format_jalali_date(item.submitted_at, r.lang) if item.submitted_at else "—",
                "deadline": format_jalali_date(item.deadline, r.lang) if item.deadline else "—",
            }
            for n, (_, item) in enumerate(shown.items, start=1)
        ],
        page=r.digits(shown.page + 1),
        pages=r.digits(shown.pages),
        total=r.digits(shown.total),
    )


def _list_markup(r: Renderer, shown: Page) -> InlineKeyboardMarkup:
    """A button per request (its own page), then the newer and older pages."""
    first = shown.page * shown.size
    rows = [
        [
            InlineKeyboardButton(
                text=r.plain(
                    "bot.mine.open", n=r.digits(first + n), title=_short(_title(item.title, r.lang))
                ),
                callback_data=MineOpen(req=request_id, page=shown.page).pack(),
            )
        ]
        for n, (request_id, item) in enumerate(shown.items, start=1)
    ]
    turns = [
        ("bot.mine.newer", shown.page - 1, shown.has_newer),
        ("bot.mine.older", shown.page + 1, shown.has_older),
    ]
    paging = [
        InlineKeyboardButton(text=r.plain(key), callback_data=MinePage(page=page).pack())
        for key, page, offered in turns
        if offered
    ]
    return InlineKeyboardMarkup(inline_keyboard=[*rows, *([paging] if paging else [])])


async def _list(
    r: Renderer, platform: Platform, user_id: int, page: int, catalogs: CatalogHolder, factory: SessionFactory
) -> tuple[str, InlineKeyboardMarkup] | None:
    """Page ``page`` of the citizen's requests and its buttons; None when they filed none."""
    async with factory() as session:
        shown = await my_requests_page(session, platform.value, user_id, page)
    if not shown.items:
        return None
    return _list_text(r, catalogs, shown), _list_markup(r, shown)


async def mine(
    message: Message,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    catalogs: CatalogHolder,
    session_factory: SessionFactory,
) -> None:
    """The first page of "my requests" (the newest)."""
    await state.clear()
    if message.from_user is None:
        return
    found = await _list(r, platform, message.from_user.id, 0, catalogs, session_factory)
    if found is None:
        await message.answer(r.text("bot.mine.empty"), reply_markup=main_menu(r))
        return
    await message.answer(found[0], reply_markup=found[1])


async def turn_page(
    callback: CallbackQuery,
    callback_data: MinePage,
    r: Renderer,
    platform: Platform,
    catalogs: CatalogHolder,
    session_factory: SessionFactory,
) -> None:
    """Newer or older requests: in the same message, or in a new one from under a request's page (``fresh``)."""
    await callback.answer()
    found = await _list(r, platform, callback.from_user.id, callback_data.page, catalogs, session_factory)
    message = callback.message
    if found is None or not isinstance(message, Message):
        return
    if callback_data.fresh:
        await message.answer(found[0], reply_markup=found[1])
    else:
        await message.edit_text(found[0], reply_markup=found[1])


def _answers(r: Renderer, own: OwnRequest) -> list[dict[str, str]]:
    """The citizen's answers as filed, each read as the review showed it; unanswered questions left out."""
    shown = []
    for question in own.form:
        value = own.answers.get(str(question.get("id")))
        if value is None:
            continue
        field = FormField.model_validate(question)
        shown.append({"label": field.label.get(r.lang), "value": answer_text(r, field, value)})
    return shown


def _document_titles(r: Renderer, own: OwnRequest) -> list[str]:
    slots = {
        str(d.get("id")): d.get("title") or {} for d in own.request.service_snapshot.get("documents") or []
    }
    titles = []
    for document in own.documents:
        title = slots.get(document.slot, {})
        titles.append(str(title.get(r.lang) or title.get("fa") or document.slot))
    return titles


def _certificates(r: Renderer, own: OwnRequest) -> list[dict[str, str]]:
    shown = []
    for certificate in own.certificates:
        if certificate.status == "revoked":
            state = r.plain("bot.mine.certificate.revoked")
        elif certificate.valid_until is not None:
            until = format_jalali_date(certificate.valid_until, r.lang)
            state = r.plain("bot.mine.certificate.valid_until", date=until)
        else:
            state = r.plain("bot.mine.certificate.valid")
        kind = r.plain(CertificateType(certificate.type).label_key)
        shown.append({"type": kind, "code": certificate.verification_code, "state": state})
    return shown


def _payments(r: Renderer, own: OwnRequest) -> list[dict[str, str]]:
    shown = []
    for payment in own.payments:
        if payment.status == "paid" and payment.paid_at is not None:
            state = r.plain(
                "bot.mine.payment.paid",
                date=format_jalali_date(payment.paid_at, r.lang),
                reference=payment.provider_transaction_id or payment.payment_id,
            )
        else:
            key = (
                "bot.mine.payment.cancelled" if payment.status == "cancelled" else "bot.mine.payment.pending"
            )
            state = r.plain(key)
        shown.append({"amount": format_number(payment.amount_rials, r.lang), "state": state})
    return shown


def render_own_request(r: Renderer, own: OwnRequest, catalogs: CatalogHolder) -> str:
    """A request's own page: tracking's view, then the citizen's answers, documents, certificates, payments."""
    return r.template(
        "my_request.j2",
        **track_context(r, own.view, catalogs),
        answers=_answers(r, own),
        documents=_document_titles(r, own),
        certificates=_certificates(r, own),
        payments=_payments(r, own),
    )


def _own_markup(r: Renderer, own: OwnRequest, page: int, *, sms: bool) -> InlineKeyboardMarkup:
    """SMS updates when they can be had; the questions a move to another service left unanswered, while it is
    open (``bot.dialogs.completion``); withdrawing it, while it is open; back to the list."""
    rows: list[list[InlineKeyboardButton]] = []
    if own.is_open and missing_answers(own.request.service_snapshot, own.answers):
        rows.append(
            [
                InlineKeyboardButton(
                    text=r.plain("notify.complete_answers"),
                    callback_data=CompleteAnswers(req=own.request_id).pack(),
                )
            ]
        )
    if sms:
        rows.append(
            [
                InlineKeyboardButton(
                    text=r.plain("bot.mine.sms"), callback_data=SmsOffer(req=own.request_id, act="on").pack()
                )
            ]
        )
    if own.is_open:
        give_up = MineWithdraw(req=own.request_id, act="ask", page=page)
        rows.append([InlineKeyboardButton(text=r.plain("bot.mine.withdraw"), callback_data=give_up.pack())])
    back = MinePage(page=page, fresh=True)
    rows.append([InlineKeyboardButton(text=r.plain("bot.mine.back"), callback_data=back.pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def _send_documents_again(
    bot: Bot, chat_id: int, platform: Platform, own: OwnRequest, store: DocumentStore, r: Renderer
) -> None:
    """The citizen's own files again, each with its document's title: by the messenger's file id when it came
    by the same messenger, else read from the document store."""
    for document, title in zip(own.documents, _document_titles(r, own), strict=True):
        file: Any = (
            document.platform_file_id
            if document.platform == platform.value
            else BufferedInputFile(
                store.read(document.stored_path), filename=document.stored_path.rsplit("/", 1)[-1]
            )
        )
        caption = r.text("bot.mine.document", title=title)
        if document.kind == "photo":
            await bot.send_photo(chat_id, file, caption=caption)
        else:
            await bot.send_document(chat_id, file, caption=caption)


def _sends_sms(settings: Settings, catalogs: CatalogHolder, org_id: str) -> bool:
    """Whether stage SMS can be had for a request of ``org_id``: a gateway, and the organization sends them."""
    if settings.sms_provider == "none" or not catalogs.catalog.has_organization(org_id):
        return False
    return catalogs.catalog.organization(org_id).sms


async def open_request(
    callback: CallbackQuery,
    callback_data: MineOpen,
    r: Renderer,
    platform: Platform,
    catalogs: CatalogHolder,
    session_factory: SessionFactory,
    documents: DocumentStore,
    settings: Settings,
) -> None:
    """A request's own page in a new message, its documents after it; refused like a stale button when the
    presser did not file it (a forged id)."""
    try:
        async with session_factory() as session:
            own = await my_request(session, platform.value, callback.from_user.id, callback_data.req)
    except NotFound:
        await callback.answer(r.plain("bot.stale"), show_alert=True)
        return
    await callback.answer()
    message = callback.message
    if not isinstance(message, Message) or callback.bot is None:
        return
    sms = own.is_open and _sends_sms(settings, catalogs, own.request.organization_id)
    markup = _own_markup(r, own, callback_data.page, sms=sms)
    await message.answer(render_own_request(r, own, catalogs), reply_markup=markup)
    await _send_documents_again(callback.bot, message.chat.id, platform, own, documents, r)


async def ask_withdraw(
    callback: CallbackQuery,
    callback_data: MineWithdraw,
    r: Renderer,
    platform: Platform,
    session_factory: SessionFactory,
) -> None:
    """ "🗑 withdraw" on a request's own page: what it means, and yes or no, in a new message."""
    try:
        async with session_factory() as session:
            own = await my_request(session, platform.value, callback.from_user.id, callback_data.req)
    except NotFound:
        await callback.answer(r.plain("bot.stale"), show_alert=True)
        return
    if not own.is_open:
        await callback.answer(r.plain("bot.mine.withdraw.closed"), show_alert=True)
        return
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    code = format_tracking_code(own.request.tracking_code, r.lang)
    yes_no = [
        InlineKeyboardButton(
            text=r.plain(f"bot.mine.withdraw.{act}"),
            callback_data=MineWithdraw(req=own.request_id, act=act, page=callback_data.page).pack(),
        )
        for act in ("yes", "no")
    ]
    markup = InlineKeyboardMarkup(inline_keyboard=[yes_no])
    await callback.message.answer(r.text("bot.mine.withdraw.confirm", code=code), reply_markup=markup)


async def answer_withdraw(
    callback: CallbackQuery,
    callback_data: MineWithdraw,
    r: Renderer,
    platform: Platform,
    catalogs: CatalogHolder,
    session_factory: SessionFactory,
    outbox: Notifier,
) -> None:
    """Yes: withdraw it in ``desk`` (the clerks' card is redrawn through the outbox), say so in place of the
    question, and show the request's page again, finished; no: keep it. A second tap finds it closed."""
    message = callback.message
    if callback_data.act == "no":
        await callback.answer()
        if isinstance(message, Message):
            await message.edit_text(r.text("bot.mine.withdraw.kept"), reply_markup=None)
        return
    try:
        async with unit_of_work(session_factory, write=True) as session:
            request = await own_request(session, platform.value, callback.from_user.id, callback_data.req)
            await withdraw(
                session,
                callback_data.req,
                platform.value,
                callback.from_user.id,
                groups=catalogs.catalog.operator_groups(request.organization_id),
            )
    except NotFound:
        await callback.answer(r.plain("bot.stale"), show_alert=True)
        return
    except MizError as error:
        await callback.answer(error.render(r.lang), show_alert=True)
        return
    outbox.notify()
    await callback.answer()
    if not isinstance(message, Message):
        return
    code = format_tracking_code(request.tracking_code, r.lang)
    await message.edit_text(r.text("bot.mine.withdraw.done", code=code), reply_markup=None)
    async with session_factory() as session:
        own = await my_request(session, platform.value, callback.from_user.id, callback_data.req)
    markup = _own_markup(r, own, callback_data.page, sms=False)
    await message.answer(render_own_request(r, own, catalogs), reply_markup=markup)


def router() -> Router:
    """Handlers of "my requests" and of a request's own page."""
    r = Router(name="mine")
    r.message.filter(F.chat.type == "private")
    r.message.register(mine, F.text.in_(menu_labels("bot.menu.my_requests")))
    r.callback_query.register(turn_page, MinePage.filter())
    r.callback_query.register(open_request, MineOpen.filter())
    r.callback_query.register(ask_withdraw, MineWithdraw.filter(F.act == "ask"))
    r.callback_query.register(answer_withdraw, MineWithdraw.filter(F.act != "ask"))
    return r
