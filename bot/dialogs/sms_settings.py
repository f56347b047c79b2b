"""The citizen's SMS setting: see where stage SMS go, and turn them off or on again (menu and ``/sms``)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import SmsSwitch
from bot.handlers.start import menu_labels
from bot.keyboards import main_menu
from bot.platforms import Platform
from bot.render import Renderer
from config.settings import Settings
from desk.persian import format_identifier
from desk.privacy import mask_mobile
from desk.sms import switch_sms
from storage.models import Citizen
from storage.repositories import Citizens
from storage.uow import unit_of_work

__all__ = ["router", "show"]


def _shown_phone(phone: str, lang: str) -> str:
    return format_identifier(mask_mobile(phone), lang)


def _screen(
    r: Renderer, citizen: Citizen | None, settings: Settings
) -> tuple[str, InlineKeyboardMarkup | None]:
    """What the setting looks like now, and the button that changes it."""
    if settings.sms_provider == "none":
        return r.text("bot.sms.unavailable"), None
    if citizen is None or not citizen.phone or not citizen.phone_verified:
        return r.text("bot.sms.no_phone"), None
    phone = _shown_phone(citizen.phone, r.lang)
    if citizen.sms_enabled:
        text, button, on = r.text("bot.sms.on", phone=phone), r.plain("bot.sms.turn_off"), False
    else:
        text, button, on = r.text("bot.sms.off", phone=phone), r.plain("bot.sms.turn_on"), True
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=button, callback_data=SmsSwitch(on=on).pack())]]
    )
    return text, markup


async def show(
    message: Message,
    r: Renderer,
    platform: Platform,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    if message.from_user is None:
        return
    async with session_factory() as session:
        citizen = await Citizens(session).find(platform.value, message.from_user.id)
    text, markup = _screen(r, citizen, settings)
    await message.answer(text, reply_markup=markup or main_menu(r))


async def switch(
    callback: CallbackQuery,
    callback_data: SmsSwitch,
    r: Renderer,
    platform: Platform,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(session_factory, write=True) as session:
        if settings.sms_provider == "none":  # nothing to switch: the screen says SMS are unavailable
            citizen = await Citizens(session).find(platform.value, callback.from_user.id)
        else:
            citizen = await switch_sms(session, platform.value, callback.from_user.id, callback_data.on)
    text, markup = _screen(r, citizen, settings)
    await callback.answer(r.plain("bot.sms.saved"))
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text, reply_markup=markup)


def router() -> Router:
    """The menu's SMS entry and its on/off button (``/sms`` is ``bot.handlers.commands``')."""
    r = Router(name="sms_settings")
    r.message.filter(F.chat.type == "private")
    r.message.register(show, F.text.in_(menu_labels("bot.menu.sms")))
    r.callback_query.register(switch, SmsSwitch.filter())
    return r
