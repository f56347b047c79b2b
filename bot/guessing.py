"""What the dialogs that look something up by a guessable code (tracking, dues, certificates) share about the
guessing limits of ``desk.throttle``: whose tries a message spends, and the reply once they are spent."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.keyboards import main_menu
from bot.platforms import Platform
from bot.render import Renderer
from desk.errors import Throttled

__all__ = ["guesser_key", "refuse_for_now"]


def guesser_key(platform: Platform, message: Message) -> str:
    """The limiter key of the citizen who sent ``message``: ``'<platform>:<user id>'`` (no personal data)."""
    return f"{platform.value}:{message.from_user.id if message.from_user else 0}"


async def refuse_for_now(message: Message, r: Renderer, state: FSMContext, error: Throttled) -> None:
    """Too many wrong tries: say how long to wait, end the dialog and show the main menu."""
    await state.clear()
    await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)), reply_markup=main_menu(r))
