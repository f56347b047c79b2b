"""The baseline: a bare aiogram bot that answers every message and every button press with one message."""

from __future__ import annotations

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bench._journey import ECHO_DATA

__all__ = ["echo_bot", "echo_dispatcher"]

_KEYBOARD = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="↩", callback_data=ECHO_DATA)]])


def echo_dispatcher() -> Dispatcher:
    """A Dispatcher with no storage use, no middleware, no database: one answer per update."""
    router = Router()

    @router.message()
    async def on_message(message: Message) -> None:
        await message.answer(message.text or "📍", reply_markup=_KEYBOARD)

    @router.callback_query()
    async def on_press(callback: CallbackQuery) -> None:
        await callback.answer()
        if isinstance(callback.message, Message):
            await callback.message.answer("↩", reply_markup=_KEYBOARD)

    dp = Dispatcher()
    dp.include_router(router)
    return dp


def echo_bot(token: str, api_base: str) -> Bot:
    """A plain aiogram Bot on aiogram's own aiohttp session (no Miz code at all)."""
    return Bot(token=token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
