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
from aiogram.exceptions import TelegramBadRequest
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
from bot.forms import nav_labels
from bot.handlers.start import menu_labels
from bot.keyboards import MENU_KEYS, main_menu
from bot.notifier import Notifier
from bot.platforms import Platform
from bot.render import Renderer
from bot.states import PhoneKeys, VerifyPhone
from catalog.index import NotInCatalogError
from catalog.loader import CatalogHolder
from desk.i18n import LANGUAGES, translator
from desk.privacy import mask_mobile
from desk.settings import Settings
from desk.verification import (
    CODE_LENGTH,
    CODE_LIFETIME,
    CheckStatus,
    StartStatus,
    check_code,
    mobile_answers,
    start_verification,
)
from storage.columns import utcnow
from storage.repositories import Citizens, Requests
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


async def _drop_buttons(message: Message) -> None:
    try:
        await message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest as error:
        if "not modified" not in str(error):
            raise


async def _target(
    session: AsyncSession, platform: Platform, user_id: int, request_id: int
) -> tuple[int, str, str] | None:
    """Citizen id, mobile number and organization of the citizen's request ``request_id``; None if not theirs."""
    citizen = await Citizens(session).find(platform.value, user_id)
    request = await Requests(session).get(request_id)
    if citizen is None or citizen.id is None or request is None or request.citizen_id != citizen.id:
        return None
    phones = mobile_answers(request.service_snapshot, request.answers)
    return (citizen.id, phones[0], request.organization_id) if phones else None


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
    async with unit_of_work(session_factory, write=True) as session:
        target = await _target(session, platform, user_id, request_id)
        if target is None or settings.sms_provider == "none" or not _sends_sms(catalogs, target[2]):
            result = None
        else:
            citizen_id, phone, org_id = target
            secret = settings.sms_code_secret.get_secret_value()
            result = await start_verification(
                session,
                citizen_id,
                phone,
                org_id,
                now=utcnow(),
                secret=secret,
                org_limit=settings.sms_codes_per_org_hour,
            )
            if result.status is StartStatus.BUSY:
                logger.warning("phone verification: %s reached its hourly ceiling of SMS codes", org_id)
    if result is None:
        await state.clear()
        # No target: not this citizen's request, or no number in it (a forged or stale button).
        await message.answer(
            r.text("bot.stale" if target is None else "phone.unavailable"), reply_markup=main_menu(r)
        )
        return
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


def router() -> Router:
    """Handlers of the SMS offer and of the one-time code."""
    r_ = Router(name="verify_phone")
    r_.message.filter(F.chat.type == "private")
    resend = _resend_labels()
    other_buttons = set().union(*(menu_labels(key) for key in MENU_KEYS)) | nav_labels("cancel") | resend

    @r_.callback_query(SmsOffer.filter(F.act == "no"))
    async def not_now(callback: CallbackQuery, r: Renderer) -> None:
        await callback.answer()
        if isinstance(callback.message, Message):
            await _drop_buttons(callback.message)
            await callback.message.answer(r.text("phone.offer.declined"))

    # Only outside other conversations: a tap on an old offer must not wipe a half-filled form.
    @r_.callback_query(SmsOffer.filter(F.act == "yes"), StateFilter(None, VerifyPhone.code))
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
        await callback.answer()
        if not isinstance(callback.message, Message):
            return
        await _drop_buttons(callback.message)
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

    @r_.message(VerifyPhone.code, F.text.in_(nav_labels("cancel")))
    async def cancel(message: Message, r: Renderer, state: FSMContext) -> None:
        await state.clear()
        await message.answer(r.text("phone.cancelled"), reply_markup=main_menu(r))

    @r_.message(VerifyPhone.code, F.text.in_(resend))
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
            await state.clear()
            await message.answer(r.text("bot.menu.prompt"), reply_markup=main_menu(r))
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

    @r_.message(VerifyPhone.code, F.text, ~F.text.in_(other_buttons))
    async def code(
        message: Message,
        r: Renderer,
        platform: Platform,
        state: FSMContext,
        settings: Settings,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        data = await state.get_data()
        phone, request_id = data.get(PhoneKeys.PHONE), data.get(PhoneKeys.REQUEST)
        if not isinstance(phone, str) or not isinstance(request_id, int) or message.from_user is None:
            await state.clear()
            await message.answer(r.text("bot.menu.prompt"), reply_markup=main_menu(r))
            return
        async with unit_of_work(session_factory, write=True) as session:
            citizen = await Citizens(session).find(platform.value, message.from_user.id)
            result = (
                await check_code(
                    session,
                    citizen.id,
                    phone,
                    message.text or "",
                    now=utcnow(),
                    secret=settings.sms_code_secret.get_secret_value(),
                )
                if citizen is not None and citizen.id is not None
                else None
            )
        if result is None:
            await state.clear()
            await message.answer(r.text("bot.menu.prompt"), reply_markup=main_menu(r))
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

    @r_.message(VerifyPhone.code, ~F.text)
    async def not_text(message: Message, r: Renderer) -> None:
        await message.answer(r.text("phone.check.malformed", length=r.digits(CODE_LENGTH)))

    return r_
