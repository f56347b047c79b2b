"""Dues look-up: organization (buttons), property or business code or car plate, national ID; then how to pay each
unpaid due.

Look-ups that find nothing are throttled like tracking (``desk.dues.dues_throttle``): a code or a national ID
refused by its format or checksum is not counted, a well-formed pair that matches no due is.

On Bale, when the bot has a wallet provider token, a message with buttons follows the list: one button to pay
the single due in the Bale wallet, or one per due (period and amount, the first ``PAY_BUTTONS_MAX``). A press
queues an invoice (``desk.payments.offer_due_payment``); ``bot/payments.py`` answers the wallet and records
the payment like a request's. The look-up's answer proved the citizen holds these dues, so each button carries
a key tied to the citizen and the due (:func:`pay_key`), and a forged button never reveals another's due.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Final

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import DuesOrgPage, DuesOrgPick, DuesPay
from bot.dialogs.common import back_to_menu, refuse_for_now, typed_text
from bot.forms import nav_labels
from bot.handlers.start import menu_labels
from bot.keyboards import Choice, cancel_keyboard, main_menu, paged
from bot.notifier import Notifier
from bot.platforms import Platform
from bot.render import Renderer
from bot.states import Dues, DuesKeys
from catalog.index import Catalog, NotInCatalogError
from catalog.loader import CatalogHolder
from catalog.schema import Organization
from config.settings import Settings
from desk import payments
from desk.dues import DuesView, names_a_plate, read_code
from desk.errors import MizError, NotFound, Throttled, ValidationError
from desk.guessing import look_up_dues
from desk.persian import format_identifier, format_number, ltr
from desk.plates import EXAMPLE as PLATE_EXAMPLE
from desk.throttle import Limiter
from storage.repositories import Citizens
from storage.uow import unit_of_work

__all__ = ["CODE_EXAMPLE", "PAY_BUTTONS_MAX", "USSD_EXAMPLE", "pay_key", "router"]

PAY_BUTTONS_MAX: Final = 8
"""Most dues offered for payment in the wallet under one look-up; the rest are paid with their bank IDs."""

CODE_EXAMPLE = "12-34-567"
"""The shape of a property or business code, shown when one is asked for."""
USSD_EXAMPLE = "*780#"
"""A bill-payment USSD code most Iranian phones can dial (Asan Pardakht's), named as an example only."""


def _billed(catalog: Catalog) -> list[Organization]:
    """The organizations whose dues can be looked up: those with a company code for bill IDs."""
    return [org for org in catalog.organizations if org.billing is not None]


def _find(catalog: Catalog, org_id: str) -> Organization | None:
    try:
        org = catalog.organization(org_id)
    except NotInCatalogError:
        return None
    return org if org.billing is not None else None


def _org_keyboard(r: Renderer, catalog: Catalog, page: int) -> InlineKeyboardMarkup:
    choices = [Choice(org.name.get(r.lang), DuesOrgPick(org=org.id)) for org in _billed(catalog)]
    return paged(r, choices, page, lambda p: DuesOrgPage(page=p))


def render_dues(r: Renderer, view: DuesView, org: Organization, code: str, *, plate: bool = False) -> str:
    """The unpaid dues with their IDs (ASCII digits, so any bank app accepts a pasted copy) and how to pay;
    ``plate`` when ``code`` is a car's plate."""
    return r.template(
        "dues.j2",
        title="bot.dues.title_plate" if plate else "bot.dues.title",
        org=org.name.get(r.lang),
        code=code,
        dues=[
            {
                "kind": r.plain(due.kind.label_key),
                "period": due.period.label(r.lang),
                "amount": format_number(due.amount_rials, r.lang),
                "bill_id": due.bill_id,
                "payment_id": due.payment_id,
                "barcode": due.barcode,
            }
            for due in view.unpaid
        ],
        total=format_number(view.total_rials, r.lang),
        # In a code span, as the phone's keypad dials it: a tap copies the ASCII star, which dials. Bale's Markdown
        # reads no marker inside a code span, so the star needs no look-alike there (a constant, never typed text).
        ussd=Markup(ltr(USSD_EXAMPLE)),
    )


def pay_key(bot_token: str, user_id: int, due_id: int, payment_id: str) -> str:
    """The key of a pay button: an HMAC of the user and the due with the bot's token (12 characters)."""
    message = f"dues-pay:{user_id}:{due_id}:{payment_id}".encode()
    digest = hmac.new(bot_token.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()


def _pay_keyboard(r: Renderer, view: DuesView, bot_token: str, user_id: int) -> InlineKeyboardMarkup:
    payable = [due for due in view.unpaid if due.due_id is not None][:PAY_BUTTONS_MAX]
    rows: list[list[InlineKeyboardButton]] = []
    for due in payable:
        assert due.due_id is not None
        label = (
            r.plain("bot.dues.pay_one")
            if len(view.unpaid) == 1
            else r.plain(
                "bot.dues.pay_due",
                period=due.period.label(r.lang),
                amount=format_number(due.amount_rials, r.lang),
            )
        )
        key = pay_key(bot_token, user_id, due.due_id, due.payment_id)
        data = DuesPay(due=due.due_id, pid=due.payment_id, key=key)
        rows.append([InlineKeyboardButton(text=label, callback_data=data.pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _wallet(platform: Platform, settings: Settings) -> bool:
    """Whether dues may be paid in the chat: on Bale, with a wallet provider token."""
    return platform.spec.invoices and settings.bale_provider_token is not None


async def start(message: Message, r: Renderer, state: FSMContext, catalogs: CatalogHolder) -> None:
    await state.clear()
    await message.answer(r.text("bot.dues.choose_org"), reply_markup=_org_keyboard(r, catalogs.catalog, 0))


async def page(
    callback: CallbackQuery, callback_data: DuesOrgPage, r: Renderer, catalogs: CatalogHolder
) -> None:
    await callback.answer()
    markup = _org_keyboard(r, catalogs.catalog, callback_data.page)
    if isinstance(callback.message, Message):
        await callback.message.edit_text(r.text("bot.dues.choose_org"), reply_markup=markup)


async def pick(
    callback: CallbackQuery,
    callback_data: DuesOrgPick,
    r: Renderer,
    state: FSMContext,
    catalogs: CatalogHolder,
) -> None:
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    org = _find(catalogs.catalog, callback_data.org)
    if org is None:  # the catalog changed since the button was drawn
        await state.clear()
        await callback.message.answer(r.text("bot.dues.org_gone"), reply_markup=main_menu(r))
        return
    await state.set_state(Dues.code)
    await state.set_data({DuesKeys.ORG: org.id})
    await callback.message.answer(
        r.text(
            "bot.dues.ask_code",
            org=org.name.get(r.lang),
            example=format_identifier(CODE_EXAMPLE, r.lang),
            plate=PLATE_EXAMPLE.shown(r.lang),
        ),
        reply_markup=cancel_keyboard(r),
    )


async def code(message: Message, r: Renderer, state: FSMContext) -> None:
    try:
        written, _keys = read_code(message.text or "")
    except ValidationError as error:
        await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)))
        return
    await state.update_data({DuesKeys.CODE: written})
    await state.set_state(Dues.national_id)
    await message.answer(r.text("bot.dues.ask_national_id"), reply_markup=cancel_keyboard(r))


async def national_id(
    message: Message,
    r: Renderer,
    bot: Bot,
    platform: Platform,
    settings: Settings,
    state: FSMContext,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    dues_throttle: Limiter,
) -> None:
    """The national ID closes the look-up: the unpaid dues and how to pay them, or why none are shown."""
    data = await state.get_data()
    org = _find(catalogs.catalog, str(data.get(DuesKeys.ORG, "")))
    code_text = str(data.get(DuesKeys.CODE, ""))
    if org is None or not code_text:  # a conversation from before a catalog change or a restart
        await state.clear()
        await message.answer(r.text("bot.dues.org_gone"), reply_markup=main_menu(r))
        return
    user_id = message.from_user.id if message.from_user else 0
    plate = names_a_plate(code_text)
    try:
        async with session_factory() as session:
            view = await look_up_dues(
                session,
                org.id,
                code_text,
                message.text or "",
                platform=platform.value,
                user_id=user_id,
                limiter=dues_throttle,
            )
    except Throttled as error:
        await refuse_for_now(message, r, state, error)
        return
    except ValidationError as error:  # a mistyped national ID (not counted): asked again
        await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)))
        return
    except NotFound:
        await state.clear()
        key = "bot.dues.not_found_plate" if plate else "bot.dues.not_found"
        await message.answer(r.text(key, org=org.name.get(r.lang)), reply_markup=main_menu(r))
        return
    await state.clear()
    if not view.unpaid:
        key = "bot.dues.all_paid_plate" if plate else "bot.dues.all_paid"
        text = r.text(key, org=org.name.get(r.lang), count=r.digits(view.paid_count))
    else:
        text = render_dues(r, view, org, format_identifier(code_text, r.lang), plate=plate)
    await message.answer(text, reply_markup=main_menu(r))
    if view.unpaid and _wallet(platform, settings):
        prompt = (
            r.text("bot.dues.pay_prompt")
            if len(view.unpaid) <= PAY_BUTTONS_MAX
            else r.text("bot.dues.pay_prompt_some", count=r.digits(PAY_BUTTONS_MAX))
        )
        await message.answer(prompt, reply_markup=_pay_keyboard(r, view, bot.token, user_id))


async def pay(
    callback: CallbackQuery,
    callback_data: DuesPay,
    r: Renderer,
    bot: Bot,
    platform: Platform,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """A pay button of a look-up: an invoice for that due in the Bale wallet (queued in the outbox)."""
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    user = callback.from_user
    expected = pay_key(bot.token, user.id, callback_data.due, callback_data.pid)
    if not _wallet(platform, settings) or not hmac.compare_digest(callback_data.key, expected):
        await callback.message.answer(r.text("bot.dues.pay_stale"))
        return
    try:
        async with unit_of_work(session_factory, write=True) as session:
            citizen = await Citizens(session).get_or_create(
                platform.value, user.id, chat_id=callback.message.chat.id, first_name=user.first_name
            )
            await payments.offer_due_payment(
                session, callback_data.due, citizen, payment_id=callback_data.pid
            )
    except MizError as error:  # paid meanwhile, or replaced by a newer import
        await callback.message.answer(r.text(error.key, **error.params))
        return
    outbox.notify()


def router() -> Router:
    """Handlers of the dues look-up."""
    r = Router(name="dues")
    r.message.filter(F.chat.type == "private")
    r.message.register(start, F.text.in_(menu_labels("bot.menu.dues")))
    r.callback_query.register(page, DuesOrgPage.filter())
    r.callback_query.register(pick, DuesOrgPick.filter())
    cancel = F.text.in_(nav_labels("cancel"))
    r.message.register(back_to_menu, Dues.national_id, cancel)
    r.message.register(back_to_menu, Dues.code, cancel)
    r.message.register(code, Dues.code, typed_text())
    r.message.register(national_id, Dues.national_id, typed_text())
    r.callback_query.register(pay, DuesPay.filter())
    return r
