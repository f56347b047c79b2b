"""Outer middlewares on ``dp.update``: they give every handler the per-update objects, and turn floods away."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message, TelegramObject, Update

from bot.platforms import Platform
from bot.render import Renderer

__all__ = [
    "ALBUM_KEY",
    "AlbumCollector",
    "ContextMiddleware",
    "FloodControl",
    "FlushConversations",
    "LocaleStore",
    "SkipEmptyUpdates",
]

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class LocaleStore(Protocol):
    """Where each user's chosen language (``fa``/``en``) is kept."""

    async def get(self, platform: Platform, user_id: int) -> str | None: ...

    async def set(self, platform: Platform, user_id: int, lang: str) -> None: ...

    def known(self, platform: Platform, user_id: int) -> str | None:
        """The user's language if it is known without asking the database (for answers during an outage)."""
        ...


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


ALBUM_KEY = "album"
"""Handler data key: every message of an album (oldest first), given to the handler of its first message."""


class AlbumCollector(BaseMiddleware):
    """Several photos or files a citizen sends at once (an album) come as one update each, sharing a
    ``media_group_id``; a handler sees them as one message.

    The update of an album's first part waits until no further part has come for ``quiet`` seconds, then goes
    to the handlers with every part under ``data["album"]`` (:data:`ALBUM_KEY`, in the order sent); the other
    parts' updates end here. Both platforms send an album's parts together, one after the other, and updates
    are handled concurrently, so the wait is short. Only private chats: a clerk's album in a group is relayed
    part by part as before. Albums are kept in this process, as conversations are (one process polls a bot).
    """

    def __init__(self, quiet: float = 0.5) -> None:
        self.quiet = quiet
        self._albums: dict[tuple[int, int, str], list[Message]] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        message = event.message if isinstance(event, Update) else None
        if message is None or message.media_group_id is None or message.chat.type != "private":
            return await handler(event, data)
        bot: Bot = data["bot"]
        key = (bot.id, message.chat.id, message.media_group_id)
        parts = self._albums.get(key)
        if parts is not None:
            parts.append(message)
            return None  # the album's first update hands it on whole
        parts = self._albums[key] = [message]
        try:
            seen = 0
            while seen < len(parts):
                seen = len(parts)
                await asyncio.sleep(self.quiet)
        finally:
            del self._albums[key]
        data[ALBUM_KEY] = sorted(parts, key=lambda part: part.message_id)
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


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    quiet_until: float = -math.inf


_PRUNE_AT = 1024
"""Forget the people gone quiet when this many are known (and then at twice as many as remain)."""


class FloodControl(BaseMiddleware):
    """Per-person flood control of incoming messages and button presses: one warning, then silence for a while.

    Each person (platform and user id) has a token bucket of ``burst`` updates refilled at ``rate`` a second:
    an album of ten photos or a few quick taps pass, a script sending hundreds does not. The update that finds
    the bucket empty gets "you are going too fast" (in a private chat, or as a button's toast; nothing in a
    group) and one log line; the person's updates are then dropped unanswered for ``quiet_seconds``, and for
    another ``quiet_seconds`` each time the bucket is still empty when the quiet ends (no second warning).
    ``rate`` defaults to one a second, about what Telegram lets a bot send into one chat anyway.

    It lives in memory, per process, also when ``MIZ_REDIS_URL`` is set: long polling lets one process only
    take a bot's updates (a second ``getUpdates`` is refused), so every update of a person reaches the same
    process and a count there is exact. It costs no round trip per update and keeps working while Redis is
    down; a restart forgets it, which only shortens a flood's silence. Payments (``successful_payment``,
    pre-checkout queries) are never counted nor dropped.
    """

    def __init__(
        self,
        *,
        burst: int,
        quiet_seconds: float,
        rate: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < 1 or rate <= 0 or quiet_seconds <= 0:
            raise ValueError("burst must be at least 1, rate and quiet_seconds positive")
        self.burst = burst
        self.rate = rate
        self.quiet_seconds = quiet_seconds
        self._clock = clock
        self._buckets: dict[tuple[Platform, int], _Bucket] = {}
        self._prune_at = _PRUNE_AT

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        if user is None or not _counted(event):
            return await handler(event, data)
        platform: Platform = data["platform"]
        verdict = self.admit(platform, user.id)
        if verdict == "pass":
            return await handler(event, data)
        if verdict == "warn":
            logger.warning(
                "flood: %s user %s sent more than %d updates at once; unanswered for %.0f s",
                platform.value,
                user.id,
                self.burst,
                self.quiet_seconds,
            )
            await self._warn(event, data["r"])
        return None

    def admit(self, platform: Platform, user_id: int) -> str:
        """``"pass"`` the update, ``"warn"`` the person (the flood begins), or ``"drop"`` it quietly."""
        now = self._clock()
        key = (platform, user_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._prune_at:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if now < bucket.quiet_until:
            bucket.tokens = max(0.0, bucket.tokens - 1)
            return "drop"
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return "pass"
        still_flooding = now - bucket.quiet_until < self.quiet_seconds
        bucket.quiet_until = now + self.quiet_seconds
        return "drop" if still_flooding else "warn"

    def _prune(self, now: float) -> None:
        full = self.burst / self.rate
        self._buckets = {
            key: bucket
            for key, bucket in self._buckets.items()
            if now - bucket.at < full or now - bucket.quiet_until < self.quiet_seconds
        }
        self._prune_at = max(_PRUNE_AT, 2 * len(self._buckets))

    async def _warn(self, event: TelegramObject, r: Renderer) -> None:
        assert isinstance(event, Update)
        minutes = r.digits(math.ceil(self.quiet_seconds / 60))
        try:
            if event.callback_query is not None:
                await event.callback_query.answer(
                    r.plain("bot.flood.slow_down", minutes=minutes), show_alert=True
                )
            elif event.message is not None and event.message.chat.type == "private":
                await event.message.answer(r.text("bot.flood.slow_down", minutes=minutes))
        except TelegramAPIError as error:
            logger.warning("flood: could not tell the user to slow down (%s)", type(error).__name__)


def _counted(event: TelegramObject) -> bool:
    """Messages (but payments), edited messages and button presses: what a person can send in bulk."""
    if not isinstance(event, Update):
        return False
    if event.message is not None:
        return event.message.successful_payment is None
    return event.edited_message is not None or event.callback_query is not None
