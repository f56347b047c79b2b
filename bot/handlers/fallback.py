"""The catch-all of private chats, included last: anything unexpected leads back to the menu."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from bot.keyboards import main_menu
from bot.render import Renderer

__all__ = ["router"]


async def anything(message: Message, r: Renderer) -> None:
    await message.answer(r.text("bot.menu.prompt"), reply_markup=main_menu(r))


async def stale_button(callback: CallbackQuery, r: Renderer) -> None:
    await callback.answer(r.plain("bot.stale"), show_alert=True)


def router() -> Router:
    """Unknown text, stickers or media in a private chat, and buttons of conversations that no longer exist."""
    r = Router(name="fallback")
    r.message.register(anything, F.chat.type == "private")
    r.callback_query.register(stale_button)
    return r
