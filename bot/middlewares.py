"""Outer middlewares on ``dp.update``: they give every handler the per-update objects, and nothing else."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update

from bot.platforms import Platform
from bot.render import Renderer

__all__ = ["ContextMiddleware", "FlushConversations", "LocaleStore", "SkipEmptyUpdates"]

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class LocaleStore(Protocol):
    """Where each user's chosen language (``fa``/``en``) is kept."""

    async def get(self, platform: Platform, user_id: int) -> str | None: ...

    async def set(self, platform: Platform, user_id: int, lang: str) -> None: ...


class Flushable(Protocol):
    """A conversation storage that keeps changes in memory until told to store them."""

    async def flush(self) -> None: ...


class FlushConversations(BaseMiddleware):
    """Stores the conversation states an update changed once it has been handled (see ``bot.fsm``).

    The outermost middleware, so the state is stored after every handler, error handlers included.
    """

    def __init__(self, storage: Flushable) -> None:
        self._storage = storage

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        finally:
            await self._storage.flush()


class SkipEmptyUpdates(BaseMiddleware):
    """Drop the bare ``{"update_id": N}`` left by :mod:`bot.session` for an update that could not be parsed."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Update) and not (event.model_fields_set - {"update_id"}):
            logger.info("dropped unparseable update %s", event.update_id)
            return None
        return await handler(event, data)


class ContextMiddleware(BaseMiddleware):
    """Puts ``platform``, ``lang`` and a ``r`` renderer for that platform and language into handler data."""

    def __init__(self, platforms: Mapping[int, Platform], default_locale: str, locales: LocaleStore) -> None:
        self._platforms = platforms
        self._default_locale = default_locale
        self._locales = locales

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        bot: Bot = data["bot"]
        platform = self._platforms.get(bot.id, Platform.TELEGRAM)
        user = data.get("event_from_user")
        lang = (await self._locales.get(platform, user.id) if user else None) or self._default_locale
        data["platform"] = platform
        data["lang"] = lang
        data["r"] = Renderer.get(platform, lang)
        return await handler(event, data)
