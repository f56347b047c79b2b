"""What the dialogs that look something up by a guessable code (tracking, dues, certificates) share about the
guessing limits of ``desk.throttle``: whose tries a message spends, which code it guesses at, a guess counted
against several limits at once, and the reply once the tries are spent."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.keyboards import main_menu
from bot.platforms import Platform
from bot.render import Renderer
from desk.errors import Throttled
from desk.throttle import Attempt, Limiter
from desk.tracking import normalize_tracking_code

__all__ = ["Guess", "guesser_key", "refuse_for_now", "tracking_code_key"]


def guesser_key(platform: Platform, message: Message) -> str:
    """The limiter key of the citizen who sent ``message``: ``'<platform>:<user id>'`` (no personal data)."""
    return f"{platform.value}:{message.from_user.id if message.from_user else 0}"


def tracking_code_key(text: str) -> str:
    """The per-code limiter key of the tracking code in ``text``: the code as 12 ASCII digits, however typed.

    Raises ``ValidationError`` for a mistyped code (as ``desk.requests.track`` would, before any look-up)."""
    return normalize_tracking_code(text)


class Guess:
    """One guess counted against each limit it must pass (the guesser's, then the code's) before its look-up.

    ``count`` raises ``Throttled`` at a limit already reached; what was counted before stays counted (the guess
    was made) until ``give_back``, which uncounts all of it: a right guess, or a typo caught before the look-up.
    """

    def __init__(self) -> None:
        self._counted: list[tuple[Limiter, Attempt]] = []

    async def count(self, limiter: Limiter, key: str) -> None:
        """Count this guess against ``limiter`` under ``key``, or raise ``Throttled``."""
        self._counted.append((limiter, await limiter.attempt(key)))

    async def give_back(self) -> None:
        """Uncount this guess from every limit that counted it."""
        counted, self._counted = self._counted, []
        for limiter, attempt in counted:
            await limiter.give_back(attempt)


async def refuse_for_now(message: Message, r: Renderer, state: FSMContext, error: Throttled) -> None:
    """Too many wrong tries: say how long to wait, end the dialog and show the main menu."""
    await state.clear()
    await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)), reply_markup=main_menu(r))
