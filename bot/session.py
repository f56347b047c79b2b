"""An aiogram HTTP session that survives the Bot API answers real servers give, Bale's above all.

Measured with aiogram 3.31 (see docs/ARCHITECTURE.md): a Bale callback query without ``chat_instance`` makes the whole
``getUpdates`` batch fail to deserialize, and aiogram then retries the same batch forever, so one such update
stops the bot for everyone; and Bale may answer ``editMessageText`` with a stub message that has only
``message_id``, which makes the call raise. This session repairs what it can (a missing ``chat_instance``;
a Bale sticker's missing ``is_animated`` and ``is_video``, which would otherwise drop a citizen's sticker
unanswered), turns stub edit results into ``True`` (the method's documented "edited an inline message" result), and
replaces an update that still cannot be parsed by a bare ``{"update_id": N}`` so polling confirms it and moves
on; :class:`bot.middlewares.SkipEmptyUpdates` drops those quietly.

It also sends a call without files as one JSON body instead of aiogram's url-encoded form: both Bot APIs accept
``application/json`` (Telegram documents it; Bale's own clients use it), and percent-encoding Persian text was
the costliest part of a call in ``make bench`` (``urllib.parse.quote_plus``: about a fifth of a call's CPU).

A *direct answer* (a call made while an update is handled, inside :func:`direct_answers`) is tried again instead
of failing the update: after a 429, once ``retry_after`` has passed (at most :data:`MAX_RETRY_AFTER` seconds at a
time, :data:`MAX_RETRY_WAIT` in all; the wait is stretched by up to a fifth, so answers held back together do not
come back together), and after a 5xx up to :data:`SERVER_ERROR_RETRIES` times. Every other call is made once:
the outbox (``bot.outbox``) has its own retry policy, and trying its sends here too could send a row twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    EditMessageCaption,
    EditMessageLiveLocation,
    EditMessageMedia,
    EditMessageReplyMarkup,
    EditMessageText,
    GetUpdates,
    StopMessageLiveLocation,
)
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InputFile, Update
from aiohttp import ClientError, ClientTimeout
from pydantic import ValidationError

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import TelegramMethod

__all__ = [
    "MAX_RETRY_AFTER",
    "MAX_RETRY_WAIT",
    "SERVER_ERROR_RETRIES",
    "ToleratingSession",
    "direct_answers",
    "make_session",
    "parse_update",
]

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER = 10.0
"""The longest ``retry_after`` a direct answer waits for; a longer one fails the call."""
MAX_RETRY_WAIT = 30.0
"""The longest a direct answer waits in all, over its 429 and 5xx retries."""
SERVER_ERROR_RETRIES = 2
"""How many times a direct answer is tried again after a 5xx answer."""

_DIRECT: ContextVar[bool] = ContextVar("miz_direct_answers", default=False)


@contextlib.contextmanager
def direct_answers() -> Iterator[None]:
    """Within this block (the handling of one update), Bot API calls are direct answers, retried on 429 and 5xx."""
    token = _DIRECT.set(True)
    try:
        yield
    finally:
        _DIRECT.reset(token)


_EDIT_METHODS = (
    EditMessageText,
    EditMessageReplyMarkup,
    EditMessageCaption,
    EditMessageMedia,
    EditMessageLiveLocation,
    StopMessageLiveLocation,
)


def _repair_sticker(message: Any) -> bool:
    """Give a Bale sticker (in a message or the message it replies to) the format flags aiogram requires.

    Bale's Sticker has no ``is_animated`` and ``is_video``; a sticker a person sends is a static image.
    """
    if not isinstance(message, dict):
        return False
    repaired = _repair_sticker(message.get("reply_to_message"))
    sticker = message.get("sticker")
    if isinstance(sticker, dict) and not {"is_animated", "is_video"} <= sticker.keys():
        sticker.setdefault("is_animated", False)
        sticker.setdefault("is_video", False)
        repaired = True
    return repaired


def _repair_update(raw: dict[str, Any]) -> bool:
    """Fill in what Bale leaves out and aiogram requires; True when something was repaired.

    A callback query gets a ``chat_instance``, a sticker its ``is_animated`` and ``is_video``.
    """
    repaired = _repair_sticker(raw.get("message")) | _repair_sticker(raw.get("edited_message"))
    callback = raw.get("callback_query")
    if isinstance(callback, dict) and "chat_instance" not in callback:
        message = callback.get("message") or {}
        chat_id = (message.get("chat") or {}).get("id", "")
        callback["chat_instance"] = f"repaired:{chat_id}"
        return True
    return repaired


def _is_stub_message(result: Any) -> bool:
    return isinstance(result, dict) and not ({"date", "chat"} <= result.keys())


_RESPONSE_TYPES: dict[Any, Any] = {}
"""Strong references to aiogram's ``Response[T]`` classes. aiogram builds ``Response[method.__returning__]`` on
every call and pydantic caches those parametrized classes only weakly: after a garbage collection each is
rebuilt, at about 10 ms of CPU (measured by ``make bench``: the most expensive function of a busy bot)."""


class ToleratingSession(AiohttpSession):
    """``AiohttpSession`` that never lets one odd answer stall polling or break an edit."""

    def json_body(self, bot: Bot, method: TelegramMethod[Any]) -> str | None:
        """The call as one JSON object, or None when it uploads a file (that needs multipart).

        The same values aiogram's ``prepare_value`` gives (None left out, bot defaults filled in), built
        faster: pydantic leaves out the None fields itself (a keyboard button has a dozen), and plain values
        are passed through by their exact type; anything else goes to aiogram's ``prepare_value``.
        """
        files: dict[str, InputFile] = {}
        body = self._prepared(method.model_dump(warnings=False, exclude_none=True), bot, files)
        return None if files else json.dumps(body, ensure_ascii=False)

    def _prepared(self, value: Any, bot: Bot, files: dict[str, InputFile]) -> Any:
        kind = type(value)
        if kind is str or kind is int or kind is bool or kind is float:
            return value
        if kind is dict:
            prepared_dict = {}
            for key, item in value.items():
                if item is not None and (prepared := self._prepared(item, bot, files)) is not None:
                    prepared_dict[key] = prepared
            return prepared_dict
        if kind is list:
            return [
                prepared
                for item in value
                if item is not None and (prepared := self._prepared(item, bot, files)) is not None
            ]
        return self.prepare_value(value, bot=bot, files=files, _dumps_json=False)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        if not _DIRECT.get() or isinstance(method, GetUpdates):
            return await self._request(bot, method, timeout)
        waited = 0.0
        server_errors = 0
        while True:
            try:
                return await self._request(bot, method, timeout)
            except TelegramRetryAfter as error:
                delay = error.retry_after * random.uniform(1.0, 1.2)
                if error.retry_after > MAX_RETRY_AFTER or waited + delay > MAX_RETRY_WAIT:
                    raise
            except TelegramServerError:
                server_errors += 1
                delay = 0.5 * server_errors
                if server_errors > SERVER_ERROR_RETRIES or waited + delay > MAX_RETRY_WAIT:
                    raise
            await asyncio.sleep(delay)
            waited += delay

    async def _request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        body = self.json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=body.encode(),
                headers={"Content-Type": "application/json"},
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as resp:
                raw_result = await resp.text()
        except TimeoutError as error:
            raise TelegramNetworkError(method=method, message="Request timeout error") from error
        except ClientError as error:
            raise TelegramNetworkError(method=method, message=f"{type(error).__name__}: {error}") from error
        response = self.check_response(bot=bot, method=method, status_code=resp.status, content=raw_result)
        return cast(TelegramType, response.result)

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        """A successful answer is parsed once and validated here; errors go to aiogram, which raises them."""
        returning = method.__returning__
        if returning not in _RESPONSE_TYPES:
            _RESPONSE_TYPES[returning] = Response[returning]  # type: ignore[valid-type]
        try:
            data = json.loads(content)
        except ValueError:
            data = None
        if not (isinstance(data, dict) and data.get("ok") is True and 200 <= status_code < 300):
            return super().check_response(bot=bot, method=method, status_code=status_code, content=content)
        result = data.get("result")
        if isinstance(method, GetUpdates):
            if isinstance(result, list):
                return cast("Response[TelegramType]", self._check_updates(bot, data, result))
        elif isinstance(method, _EDIT_METHODS) and _is_stub_message(result):
            data["result"] = True
        elif isinstance(result, dict):
            # Miz never reads back the keyboard of a message it sent, and building a model per button was a
            # tenth of a busy bot's CPU (make bench): the sent message comes back without it.
            result.pop("reply_markup", None)
        return cast("Response[TelegramType]", _validate(bot, _RESPONSE_TYPES[returning], data))

    def _check_updates(self, bot: Bot, data: dict[str, Any], results: list[Any]) -> Response[Any]:
        for raw in results:
            if isinstance(raw, dict):
                _repair_update(raw)
        response_type = _RESPONSE_TYPES[GetUpdates.__returning__]
        try:
            return response_type.model_validate(data, context={"bot": bot})  # type: ignore[no-any-return]
        except ValidationError:
            pass
        parseable = (self._parseable_or_bare(bot, raw) for raw in results)
        data["result"] = [raw for raw in parseable if raw is not None]
        return _validate(bot, response_type, data)

    @staticmethod
    def _parseable_or_bare(bot: Bot, raw: Any) -> Any:
        try:
            Update.model_validate(raw, context={"bot": bot})
        except ValidationError as error:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            # Only the field locations are logged: the update itself may hold a citizen's personal data.
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in error.errors()})
            logger.warning("skipping update %s that cannot be parsed (fields: %s)", update_id, fields)
            return {"update_id": update_id} if isinstance(update_id, int) else None
        return raw


def parse_update(bot: Bot, raw: dict[str, Any]) -> Update:
    """One update as a webhook delivers it, repaired as polling's are; an update that still cannot be parsed
    becomes a bare ``{"update_id": N}``, which :class:`bot.middlewares.SkipEmptyUpdates` drops quietly."""
    _repair_update(raw)
    parseable = ToleratingSession._parseable_or_bare(bot, raw)
    if parseable is None:
        raise ValueError("an update without an update_id")
    return Update.model_validate(parseable, context={"bot": bot})


def _validate(bot: Bot, response_type: Any, data: dict[str, Any]) -> Response[Any]:
    try:
        return response_type.model_validate(data, context={"bot": bot})  # type: ignore[no-any-return]
    except ValidationError as error:
        raise ClientDecodeError("Failed to deserialize object", error, data) from error


def make_session(api_base: str, timeout: float = 60.0) -> ToleratingSession:
    """A session talking to the Bot API at ``api_base`` (Telegram's, Bale's, or the local emulator's)."""
    return ToleratingSession(api=TelegramAPIServer.from_base(api_base.rstrip("/")), timeout=timeout)
