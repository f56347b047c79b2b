"""The one Dispatcher of Miz, serving both bots, each on its own.

aiogram's ``start_polling`` asks every bot's ``getMe`` as it starts, and one failure ends the polling of all:
Telegram unreachable at start stopped Bale too. :class:`MizDispatcher` asks each bot's ``getMe`` in that bot's
own polling task, again and again with backoff until it answers, logging each failure under the platform's name;
meanwhile the other bot serves. Once it answers, the bot's command menus are set (``bot.command_menus``). Once polling has started, aiogram already keeps trying ``getUpdates`` through an
outage, with the same backoff.

It also marks the handling of each update (:meth:`MizDispatcher.feed_update`: middlewares, handlers and the error
handler) as direct answers, which the session tries again after a 429 or a 5xx (:func:`bot.session.direct_answers`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig

from bot.command_menus import publish_command_menus
from bot.log_context import log_context
from bot.metrics import timed_update
from bot.platforms import Platform
from bot.session import direct_answers

__all__ = ["START_BACKOFF", "MizDispatcher"]

logger = logging.getLogger(__name__)

START_BACKOFF = BackoffConfig(min_delay=1.0, max_delay=30.0, factor=1.5, jitter=0.1)
"""How long a bot whose Bot API cannot be reached at start waits before it asks again."""


class MizDispatcher(Dispatcher):
    """A Dispatcher whose bots start independently and whose updates are answered with retries."""

    def __init__(self, *, platforms: Mapping[int, Platform], default_lang: str = "fa", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._platforms = platforms
        self._default_lang = default_lang
        self.usernames: dict[str, str] = {}
        """Each platform's bot username, once its Bot API answered ``getMe`` (for the links in SMS)."""

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        platform = self._platforms.get(bot.id, Platform.TELEGRAM).value
        try:
            kind = update.event_type
        except Exception:  # aiogram raises for a kind it does not know (or the bare update of bot.session)
            kind = "other"
        with (
            direct_answers(),
            timed_update(platform, kind),
            log_context(update_id=update.update_id, platform=platform),
        ):
            return await super().feed_update(bot, update, **kwargs)

    async def _polling(self, bot: Bot, *args: Any, **kwargs: Any) -> None:
        await self.start_bot(bot)
        await super()._polling(bot, *args, **kwargs)

    async def start_bot(self, bot: Bot) -> None:
        """Return once ``bot`` answers ``getMe`` (:meth:`_reach`), with its command menus set; before polling it,
        or pointing its webhook here (``bot.serve``)."""
        await self._reach(bot)
        await publish_command_menus(bot, self._platforms.get(bot.id, Platform.TELEGRAM), self._default_lang)

    async def _reach(self, bot: Bot) -> None:
        """Return once ``bot``'s Bot API has answered ``getMe``; until then ask again with backoff."""
        name = self._platforms.get(bot.id, Platform.TELEGRAM).value
        backoff = Backoff(config=START_BACKOFF)
        while True:
            try:
                me = await bot.me()
            except Exception as error:  # unreachable, 5xx, a token refused: this bot only
                logger.error(
                    "%s: cannot reach the Bot API at start (%s: %s); the other platform keeps serving, "
                    "trying again in %.0f s",
                    name,
                    type(error).__name__,
                    error,
                    backoff.next_delay,
                )
                await backoff.asleep()
                continue
            if backoff.counter:
                logger.info("%s: the Bot API answered after %d tries; serving", name, backoff.counter + 1)
            if me.username:
                self.usernames[name] = me.username
            return
