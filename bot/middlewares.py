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
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.platforms import Platform
from bot.render import Renderer

__all__ = [
    "ALBUM_KEEP_SECONDS",
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
    part by part as before.

    With ``redis`` the parts are gathered there, so an album whose parts reach different ``miz serve`` workers is
    still one message: each part is filed under the album's key, and the update that filed the first one leads.
    Its update id is what is written down as the leader, so when its worker dies and another adopts the update
    (``bot.update_ledger``), that one leads in its place, with the parts already filed; once gathered, the parts
    are kept under the leader's update id until it has been handled. Without Redis (one worker), or while Redis
    cannot be reached, the parts are gathered in this process.
    """

    def __init__(self, quiet: float = 0.5, redis: Redis | None = None, *, prefix: str = "miz:album") -> None:
        self.quiet = quiet
        self._redis = redis
        self._prefix = prefix
        self._albums: dict[tuple[int, int, str], list[Message]] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        message = event.message if isinstance(event, Update) else None
        if message is None or message.media_group_id is None or message.chat.type != "private":
            return await handler(event, data)
        update_id = event.update_id if isinstance(event, Update) else 0
        bot: Bot = data["bot"]
        key = (bot.id, message.chat.id, message.media_group_id)
        shared = None
        if self._redis is not None:
            shared = _SharedAlbum(
                self._redis, f"{self._prefix}:{bot.id}:{message.chat.id}:{message.media_group_id}"
            )
            try:
                parts = await shared.gather(bot, update_id, message, self.quiet)
            except (RedisError, OSError) as error:
                logger.warning(
                    "album: Redis cannot be reached (%s); gathered in this worker", type(error).__name__
                )
                shared = None
                parts = await self._gather_here(key, message)
        else:
            parts = await self._gather_here(key, message)
        if parts is None:
            return None  # the album's leading update hands it on whole
        data[ALBUM_KEY] = sorted(parts, key=lambda part: part.message_id)
        try:
            return await handler(event, data)
        finally:
            if shared is not None:
                await shared.forget(update_id)

    async def _gather_here(self, key: tuple[int, int, str], message: Message) -> list[Message] | None:
        """This process's parts of the album, once quiet (for the update of its first part); None for the others."""
        parts = self._albums.get(key)
        if parts is not None:
            parts.append(message)
            return None
        parts = self._albums[key] = [message]
        try:
            seen = 0
            while seen < len(parts):
                seen = len(parts)
                await asyncio.sleep(self.quiet)
        finally:
            del self._albums[key]
        return parts


ALBUM_KEEP_SECONDS = 3600
"""How long an album's parts are kept in Redis: longer than a dead worker's updates take to be adopted."""

_FILE_PART = """
if redis.call('EXISTS', KEYS[3]) == 1 then
    return 2
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
local lead = redis.call('GET', KEYS[2])
if not lead then
    redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
    return 1
end
if lead == ARGV[3] then
    return 1
end
return 0
"""
"""File one part; 1 when its update leads the album, 0 when another does, 2 when it led and has gathered already."""

_TAKE_PARTS = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
    if redis.call('EXISTS', KEYS[1]) == 1 then
        redis.call('RENAME', KEYS[1], KEYS[3])
        redis.call('EXPIRE', KEYS[3], ARGV[2])
    end
    redis.call('DEL', KEYS[2])
end
return redis.call('HVALS', KEYS[3])
"""
"""The leader takes every part filed, under its own update id; a part coming later starts an album of its own."""


class _SharedAlbum:
    """One album's parts in Redis, under ``base``: ``:parts`` (message id -> message), ``:lead`` (the leading
    update's id) and ``:taken:<update id>`` (the parts the leader took)."""

    def __init__(self, redis: Redis, base: str) -> None:
        self._redis = redis
        self._base = base

    def _taken(self, update_id: int) -> str:
        return f"{self._base}:taken:{update_id}"

    async def gather(self, bot: Bot, update_id: int, message: Message, quiet: float) -> list[Message] | None:
        """Every part, once no part has come for ``quiet`` seconds, for the leading update; None for the others."""
        parts, lead = f"{self._base}:parts", f"{self._base}:lead"
        role = await self._redis.eval(
            _FILE_PART,
            3,
            parts,
            lead,
            self._taken(update_id),
            message.message_id,
            message.model_dump_json(by_alias=True, exclude_none=True),
            update_id,
            ALBUM_KEEP_SECONDS,
        )
        if int(role) == 0:
            return None
        if int(role) == 1:
            seen, filed = 0, 1
            while seen < filed:
                seen = filed
                await asyncio.sleep(quiet)
                filed = int(await self._redis.hlen(parts))
        found = await self._redis.eval(
            _TAKE_PARTS, 3, parts, lead, self._taken(update_id), update_id, ALBUM_KEEP_SECONDS
        )
        gathered = [Message.model_validate_json(raw, context={"bot": bot}) for raw in found or []]
        return gathered or [message]

    async def forget(self, update_id: int) -> None:
        """The album has been handled: its parts go."""
        try:
            await self._redis.delete(self._taken(update_id))
        except (RedisError, OSError) as error:
            logger.warning("album: parts not cleared in Redis (%s); they expire", type(error).__name__)


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
