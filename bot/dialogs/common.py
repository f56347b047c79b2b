"""What the citizen dialogs share: the way back to the menu, typed text that is no button, an answered message's
buttons removed or replaced by the answer, and the reply once a guesser's tries are spent."""

from __future__ import annotations

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from magic_filter import MagicFilter

from bot.forms import nav_labels
from bot.handlers.start import menu_labels
from bot.keyboards import MENU_KEYS, main_menu
from bot.render import Renderer
from desk.errors import Throttled

__all__ = ["back_to_menu", "drop_buttons", "mark_answered", "refuse_for_now", "typed_text"]


def typed_text(*more: str) -> MagicFilter:
    """Text typed into a dialog: not a main menu button nor "cancel" (nor one of ``more``), which go to their
    own handlers even in the middle of a dialog, never read as an answer."""
    buttons = set().union(*(menu_labels(key) for key in MENU_KEYS)) | nav_labels("cancel") | set(more)
    return F.text & ~F.text.in_(buttons)


async def back_to_menu(message: Message, r: Renderer, state: FSMContext) -> None:
    """End the dialog and show the main menu ("cancel", or a dialog whose data is gone)."""
    await state.clear()
    await message.answer(r.text("bot.menu.prompt"), reply_markup=main_menu(r))


async def drop_buttons(message: Message) -> None:
    """Remove an answered message's buttons; a second tap finding them already gone is no error."""
    try:
        await message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest as error:
        if "not modified" not in str(error):
            raise


async def mark_answered(message: Message, text: str) -> None:
    """Replace an answered question's buttons with the answer chosen (``text``, ready to send), so the chat's
    history keeps what was picked; a second tap finding it already so is no error."""
    try:
        await message.edit_text(text, reply_markup=None)
    except TelegramBadRequest as error:
        if "not modified" not in str(error):
            raise


async def refuse_for_now(message: Message, r: Renderer, state: FSMContext, error: Throttled) -> None:
    """Too many wrong tries: say how long to wait, end the dialog and show the main menu."""
    await state.clear()
    await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)), reply_markup=main_menu(r))
