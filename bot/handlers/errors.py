"""The one error handler: log what failed (never personal data) and answer the person politely, in any case.

A failure because the database or Redis cannot be reached (an outage) is answered "the service is busy, try again
in a minute" and logged in one line, since an outage fails every update alike; anything else is answered with a
generic apology and logged with its traceback. Both answers are rendered without the database: the failure may
have come before the person's language was looked up (the conversation state is read first), so the platform comes
from the bot and the language from what is known in memory, else the default. Every button press is answered, so
no button is left spinning.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import redis.exceptions
import sqlalchemy.exc
from aiogram import Bot, Router
from aiogram.types import ErrorEvent, User

from bot.metrics import ERRORS
from bot.middlewares import LocaleStore
from bot.platforms import Platform
from bot.render import Renderer

__all__ = ["is_outage", "router"]

logger = logging.getLogger(__name__)

_OUTAGES = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,  # no connection free in the pool
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,  # refused or reset: asyncpg raises it as it is when it cannot connect
    TimeoutError,
)


def is_outage(error: BaseException) -> bool:
    """True when ``error`` (or what caused it) says the database or Redis cannot be reached."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, _OUTAGES):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def router(platforms: Mapping[int, Platform], default_locale: str) -> Router:
    """The error router, included first so it sees every other router's errors.

    ``platforms`` maps a bot's id to its platform, as :class:`bot.middlewares.ContextMiddleware` has it.
    """
    r_ = Router(name="errors")

    @r_.error()
    async def on_error(
        event: ErrorEvent,
        bot: Bot,
        r: Renderer | None = None,
        locales: LocaleStore | None = None,
        event_from_user: User | None = None,
    ) -> None:
        update = event.update
        error = event.exception
        outage = is_outage(error)
        ERRORS.labels("outage" if outage else "handler").inc()
        if outage:
            logger.warning(
                "update %s failed: the database or Redis is unreachable (%s: %s)",
                update.update_id,
                type(error).__name__,
                error,
            )
        else:
            logger.error("update %s failed: %s", update.update_id, type(error).__name__, exc_info=error)
        if r is None:
            platform = platforms.get(bot.id, Platform.TELEGRAM)
            known = locales.known(platform, event_from_user.id) if locales and event_from_user else None
            r = Renderer.get(platform, known or default_locale)
        key = "bot.error.busy" if outage else "bot.error.generic"
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(r.plain(key), show_alert=True)
            elif update.message is not None and update.message.chat.type == "private":
                await update.message.answer(r.text(key))
        except Exception:  # the apology itself failed (network): the log line above is what remains
            logger.warning("could not tell the user about the failure of update %s", update.update_id)

    return r_
