"""SMS updates on a typed mobile number: the offer after a request is filed, the one-time code, and its check.

A mobile number the citizen typed (a relative's, or their own typed by hand) is not proved to be theirs, so no
SMS goes to it until they type back the code sent to it (``desk.verification``). After filing, the citizen is
offered that once (``offer_sms_updates``); "yes" sends a code and waits for it in ``VerifyPhone.code``, where a
wrong code says how many tries are left, a dead one (expired, used up) offers a new one, and too many codes (for
the number, the account, or the organization this hour) say when to try again. The request the number came with travels in the buttons and the FSM data: the citizen must
own it, and its organization pays for the SMS. Numbers are masked in the logs.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import SmsOffer
from bot.dialogs.common import back_to_menu, drop_buttons, typed_text
from bot.forms import nav_labels
from bot.keyboards import main_menu
from bot.notifier import Notifier
from bot.platforms import Platform
from bot.render import Renderer
from bot.states import PhoneKeys, VerifyPhone
from catalog.index import NotInCatalogError
from catalog.loader import CatalogHolder
from config.settings import Settings
from desk.errors import NotFound, ValidationError
from desk.i18n import LANGUAGES, translator
from desk.privacy import mask_mobile
from desk.verification import (
    CODE_LENGTH,
    CODE_LIFETIME,
    CheckStatus,
    StartResult,
    StartStatus,
    check_code_of,
    share_own_phone,
    sms_for_request,
    verify_phone_of_request,
)
from storage.columns import utcnow
from storage.uow import unit_of_work

__all__ = ["offer_sms_updates", "router"]

logger = logging.getLogger(__name__)

_LIFETIME_MINUTES = int(CODE_LIFETIME.total_seconds()) // 60


def _resend_labels() -> set[str]:
    return {translator(lang)("phone.resend") for lang in LANGUAGES}


def _offer_markup(r: Renderer, request_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=r.plain("phone.offer.yes"), callback_data=SmsOffer(req=request_id, act="yes").pack()
                ),
                InlineKeyboardButton(
                    text=r.plain("phone.offer.no"), callback_data=SmsOffer(req=request_id, act="no").pack()
                ),
            ]
        ]
    )


def _new_code_markup(r: Renderer, request_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=r.plain("phone.resend"), callback_data=SmsOffer(req=request_id, act="yes").pack()
                )
            ]
        ]
    )


def _code_keyboard(r: Renderer) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=r.plain("phone.resend"))],
            [KeyboardButton(text=r.plain("bot.form.cancel"))],
        ],
        resize_keyboard=True,
        is_persistent=True,
    )


async def offer_sms_updates(message: Message, r: Renderer, request_id: int, phone: str) -> None:
    """Ask whether stage updates of request ``request_id`` should also go by SMS to ``phone`` (after a code)."""
    await message.answer(
        r.text("phone.offer", phone=r.digits(phone), length=r.digits(CODE_LENGTH)),
        reply_markup=_offer_markup(r, request_id),
    )


def _sends_sms(catalogs: CatalogHolder, org_id: str) -> bool:
    """Whether the organization sends SMS (the catalog's switch; one gone from the catalog does not)."""
    try:
        return catalogs.catalog.organization(org_id).sms
    except NotInCatalogError:
        return False


async def _send_code(
    message: Message,
    r: Renderer,
    *,
    platform: Platform,
    user_id: int,
    request_id: int,
    state: FSMContext,
    settings: Settings,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """Send a code to the mobile number of request ``request_id`` and wait for it (or say why not)."""
    try:
        async with unit_of_work(session_factory, write=True) as session:
            result = await verify_phone_of_request(
                session,
                platform.value,
                user_id,
                request_id,
                sends_sms=lambda org_id: settings.sms_provider != "none" and _sends_sms(catalogs, org_id),
                now=utcnow(),
                secret=settings.sms_code_secret.get_secret_value(),
                org_limit=settings.sms_codes_per_org_hour,
            )
    except NotFound:  # not this citizen's request, or no number in it (a forged or stale button)
        await state.clear()
        await message.answer(r.text("bot.stale"), reply_markup=main_menu(r))
        return
    if result is None:  # no SMS from this organization, or no gateway at all
        await state.clear()
        await message.answer(r.text("phone.unavailable"), reply_markup=main_menu(r))
        return
    await _tell_started(message, r, state, result, request_id, outbox)


async def _tell_started(
    message: Message, r: Renderer, state: FSMContext, result: StartResult, request_id: int, outbox: Notifier
) -> None:
    """A code sent (then waited for), refused for now, or not needed (the number is verified already)."""
    phone = r.digits(result.phone)
    if result.status is StartStatus.SENT:
        outbox.notify()
        logger.info(
            "phone verification %s: code queued for %s", result.verification_id, mask_mobile(result.phone)
        )
        await state.set_state(VerifyPhone.code)
        await state.set_data({PhoneKeys.PHONE: result.phone, PhoneKeys.REQUEST: request_id})
        await message.answer(
            r.text(
                result.key, phone=phone, length=r.digits(CODE_LENGTH), minutes=r.digits(_LIFETIME_MINUTES)
            ),
            reply_markup=_code_keyboard(r),
        )
    elif result.status in (StartStatus.THROTTLED, StartStatus.BUSY):
        logger.info("phone verification %s for %s", result.status.value, mask_mobile(result.phone))
        # A code sent earlier may still be good: while one is awaited, keep waiting for it.
        waiting = await state.get_state() == VerifyPhone.code.state
        await message.answer(
            r.text(result.key, minutes=r.digits(result.retry_minutes)),
            reply_markup=_code_keyboard(r) if waiting else main_menu(r),
        )
    else:
        await state.clear()
        await message.answer(r.text(result.key, phone=phone), reply_markup=main_menu(r))


async def not_now(callback: CallbackQuery, r: Renderer) -> None:
    await callback.answer()
    if isinstance(callback.message, Message):
        await drop_buttons(callback.message)
        await callback.message.answer(r.text("phone.offer.declined"))


async def send_code(
    callback: CallbackQuery,
    callback_data: SmsOffer,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    settings: Settings,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """The offer accepted, or a new code asked for with the button under a dead one."""
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    await drop_buttons(callback.message)
    await _send_code(
        callback.message,
        r,
        platform=platform,
        user_id=callback.from_user.id,
        request_id=callback_data.req,
        state=state,
        settings=settings,
        catalogs=catalogs,
        session_factory=session_factory,
        outbox=outbox,
    )


def _number_keyboard(r: Renderer) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=r.plain("bot.form.share_contact"), request_contact=True)],
            [KeyboardButton(text=r.plain("bot.form.cancel"))],
        ],
        resize_keyboard=True,
        is_persistent=True,
    )


async def _sms_for_request(
    message: Message,
    r: Renderer,
    *,
    platform: Platform,
    user_id: int,
    request_id: int,
    phone: str | None,
    state: FSMContext,
    settings: Settings,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """Stage SMS for request ``request_id`` (``desk.verification.sms_for_request``): on at once, a code sent and
    waited for, a number asked for, or why not."""
    try:
        async with unit_of_work(session_factory, write=True) as session:
            result = await sms_for_request(
                session,
                platform.value,
                user_id,
                request_id,
                phone=phone,
                sends_sms=lambda org_id: settings.sms_provider != "none" and _sends_sms(catalogs, org_id),
                now=utcnow(),
                secret=settings.sms_code_secret.get_secret_value(),
                org_limit=settings.sms_codes_per_org_hour,
            )
    except NotFound:  # not this citizen's request, or closed (a forged or stale button)
        await state.clear()
        await message.answer(r.text("bot.stale"), reply_markup=main_menu(r))
        return
    except ValidationError as error:  # a mistyped number: asked again
        await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)))
        return
    if result is None:
        await state.clear()
        await message.answer(r.text("phone.unavailable"), reply_markup=main_menu(r))
        return
    if result.status is StartStatus.NEEDS_NUMBER:
        await state.set_state(VerifyPhone.number)
        await state.set_data({PhoneKeys.REQUEST: request_id})
        await message.answer(r.text(result.key), reply_markup=_number_keyboard(r))
        return
    await _tell_started(message, r, state, result, request_id, outbox)


async def sms_on_request_page(
    callback: CallbackQuery,
    callback_data: SmsOffer,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    settings: Settings,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """🔔 on an open request's own page: stage SMS for it, whether or not its form asked for a mobile number."""
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    await _sms_for_request(
        callback.message,
        r,
        platform=platform,
        user_id=callback.from_user.id,
        request_id=callback_data.req,
        phone=None,
        state=state,
        settings=settings,
        catalogs=catalogs,
        session_factory=session_factory,
        outbox=outbox,
    )


async def number(
    message: Message,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    settings: Settings,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """The number asked for from a request's page: the citizen's own contact is proved by the messenger (SMS on
    at once); a typed number, or someone else's contact, gets a code."""
    request_id = (await state.get_data()).get(PhoneKeys.REQUEST)
    user = message.from_user
    if not isinstance(request_id, int) or user is None:
        await back_to_menu(message, r, state)
        return
    contact = message.contact
    if contact is not None and contact.user_id == user.id:
        async with unit_of_work(session_factory, write=True) as session:
            phone = await share_own_phone(session, platform.value, user.id, contact.phone_number)
        await state.clear()
        await message.answer(r.text("phone.check.verified", phone=r.digits(phone)), reply_markup=main_menu(r))
        return
    typed = contact.phone_number if contact is not None else (message.text or "")
    await _sms_for_request(
        message,
        r,
        platform=platform,
        user_id=user.id,
        request_id=request_id,
        phone=typed,
        state=state,
        settings=settings,
        catalogs=catalogs,
        session_factory=session_factory,
        outbox=outbox,
    )


async def cancel(message: Message, r: Renderer, state: FSMContext) -> None:
    await state.clear()
    await message.answer(r.text("phone.cancelled"), reply_markup=main_menu(r))


async def resend_code(
    message: Message,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    settings: Settings,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    request_id = (await state.get_data()).get(PhoneKeys.REQUEST)
    if not isinstance(request_id, int) or message.from_user is None:
        await back_to_menu(message, r, state)
        return
    await _send_code(
        message,
        r,
        platform=platform,
        user_id=message.from_user.id,
        request_id=request_id,
        state=state,
        settings=settings,
        catalogs=catalogs,
        session_factory=session_factory,
        outbox=outbox,
    )


async def code(
    message: Message,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The code typed back: verified, wrong (tries left), malformed, or dead (a new one offered)."""
    data = await state.get_data()
    phone, request_id = data.get(PhoneKeys.PHONE), data.get(PhoneKeys.REQUEST)
    if not isinstance(phone, str) or not isinstance(request_id, int) or message.from_user is None:
        await back_to_menu(message, r, state)
        return
    try:
        async with unit_of_work(session_factory, write=True) as session:
            result = await check_code_of(
                session,
                platform.value,
                message.from_user.id,
                phone,
                message.text or "",
                now=utcnow(),
                secret=settings.sms_code_secret.get_secret_value(),
            )
    except NotFound:
        await back_to_menu(message, r, state)
        return
    shown = r.digits(phone)
    if result.status is CheckStatus.VERIFIED:
        logger.info("phone verification: %s verified", mask_mobile(phone))
        await state.clear()
        await message.answer(r.text(result.key, phone=shown), reply_markup=main_menu(r))
    elif result.status is CheckStatus.WRONG:
        await message.answer(r.text(result.key, left=r.digits(result.tries_left)))
    elif result.status is CheckStatus.MALFORMED:
        await message.answer(r.text(result.key, length=r.digits(CODE_LENGTH)))
    else:  # dead: expired, used up by wrong tries, or none waiting
        await message.answer(
            r.text(result.key, minutes=r.digits(_LIFETIME_MINUTES)),
            reply_markup=_new_code_markup(r, request_id),
        )


async def not_text(message: Message, r: Renderer) -> None:
    await message.answer(r.text("phone.check.malformed", length=r.digits(CODE_LENGTH)))


def router() -> Router:
    """Handlers of the SMS offer and of the one-time code."""
    r = Router(name="verify_phone")
    r.message.filter(F.chat.type == "private")
    resend = _resend_labels()
    r.callback_query.register(not_now, SmsOffer.filter(F.act == "no"))
    # Only outside other conversations: a tap on an old offer must not wipe a half-filled form.
    r.callback_query.register(send_code, SmsOffer.filter(F.act == "yes"), StateFilter(None, VerifyPhone.code))
    r.callback_query.register(
        sms_on_request_page, SmsOffer.filter(F.act == "on"), StateFilter(None, VerifyPhone)
    )
    r.message.register(cancel, VerifyPhone.code, F.text.in_(nav_labels("cancel")))
    r.message.register(cancel, VerifyPhone.number, F.text.in_(nav_labels("cancel")))
    r.message.register(number, VerifyPhone.number, F.contact | typed_text())
    r.message.register(resend_code, VerifyPhone.code, F.text.in_(resend))
    r.message.register(code, VerifyPhone.code, typed_text(*resend))
    r.message.register(not_text, VerifyPhone.code, ~F.text)
    return r
