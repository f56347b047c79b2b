"""The one error handler: log what failed (never personal data) and answer the citizen politely in Persian."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent

from bot.render import Renderer

__all__ = ["router"]

logger = logging.getLogger(__name__)


def router() -> Router:
    """The error router, included first so it sees every other router's errors."""
    r_ = Router(name="errors")

    @r_.error()
    async def on_error(event: ErrorEvent, r: Renderer | None = None) -> None:
        update = event.update
        logger.error(
            "update %s failed: %s", update.update_id, type(event.exception).__name__, exc_info=event.exception
        )
        if r is None:
            return
        text = r.text("bot.error.generic")
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(r.plain("bot.error.generic"), show_alert=True)
            elif update.message is not None and update.message.chat.type == "private":
                await update.message.answer(text)
        except Exception:  # the apology itself failed (network): the log line above is what remains
            logger.warning("could not tell the user about the failure of update %s", update.update_id)

    return r_
