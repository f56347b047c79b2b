"""Private chat basics: the welcome, the main menu, help and the language switch."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import MenuOpen
from bot.keyboards import main_menu
from bot.middlewares import LocaleStore
from bot.platforms import Platform
from bot.render import Renderer
from desk.i18n import LANGUAGES, translator

__all__ = ["help_", "menu_labels", "router", "welcome"]


def menu_labels(key: str) -> set[str]:
    """A menu button's label in every language, so a keyboard shown before a language switch still works."""
    return {translator(lang)(key) for lang in LANGUAGES}


async def welcome(message: Message, r: Renderer) -> None:
    """The welcome, with the main menu (``/start``: ``bot.handlers.commands``)."""
    name = message.from_user.first_name if message.from_user else ""
    await message.answer(r.text("bot.start.welcome", name=name), reply_markup=main_menu(r))


async def help_(message: Message, r: Renderer) -> None:
    await message.answer(r.text("bot.help.text"), reply_markup=main_menu(r))


async def switch_language(message: Message, platform: Platform, lang: str, locales: LocaleStore) -> None:
    if message.from_user is None:
        return
    new_lang = "en" if lang == "fa" else "fa"
    await locales.set(platform, message.from_user.id, new_lang)
    r = Renderer.get(platform, new_lang)
    await message.answer(r.text("bot.language.changed"), reply_markup=main_menu(r))


async def open_menu(callback: CallbackQuery, state: FSMContext, r: Renderer) -> None:
    await state.clear()
    await callback.answer()
    if callback.message is not None:
        await callback.message.answer(r.text("bot.menu.prompt"), reply_markup=main_menu(r))


def router() -> Router:
    """Handlers of the main menu's help and language entries, and the menu callback (the commands are
    ``bot.handlers.commands``')."""
    r = Router(name="start")
    r.message.filter(F.chat.type == "private")
    r.message.register(help_, F.text.in_(menu_labels("bot.menu.help")))
    r.message.register(switch_language, F.text.in_(menu_labels("bot.menu.language")))
    r.callback_query.register(open_menu, MenuOpen.filter())
    return r
