"""An aiogram HTTP session that survives the Bot API answers real servers give, Bale's above all.

Measured with aiogram 3.31 (see DESIGN.md): a Bale callback query without ``chat_instance`` makes the whole
``getUpdates`` batch fail to deserialize, and aiogram then retries the same batch forever, so one such update
stops the bot for everyone; and Bale may answer ``editMessageText`` with a stub message that has only
``message_id``, which makes the call raise. This session repairs what it can (a missing ``chat_instance``),
turns stub edit results into ``True`` (the method's documented "edited an inline message" result), and
replaces an update that still cannot be parsed by a bare ``{"update_id": N}`` so polling confirms it and moves
on; :class:`bot.middlewares.SkipEmptyUpdates` drops those quietly.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import ClientDecodeError
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
from aiogram.types import Update
from pydantic import ValidationError

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import TelegramMethod

__all__ = ["ToleratingSession", "make_session"]

logger = logging.getLogger(__name__)

_EDIT_METHODS = (
    EditMessageText,
    EditMessageReplyMarkup,
    EditMessageCaption,
    EditMessageMedia,
    EditMessageLiveLocation,
    StopMessageLiveLocation,
)


def _repair_update(raw: dict[str, Any]) -> None:
    callback = raw.get("callback_query")
    if isinstance(callback, dict) and "chat_instance" not in callback:
        message = callback.get("message") or {}
        chat_id = (message.get("chat") or {}).get("id", "")
        callback["chat_instance"] = f"repaired:{chat_id}"


def _is_stub_message(result: Any) -> bool:
    return isinstance(result, dict) and not ({"date", "chat"} <= result.keys())


_RESPONSE_TYPES: dict[Any, Any] = {}
"""Strong references to aiogram's ``Response[T]`` classes. aiogram builds ``Response[method.__returning__]`` on
every call and pydantic caches those parametrized classes only weakly: after a garbage collection each is
rebuilt, at about 10 ms of CPU (measured by ``make bench``: the most expensive function of a busy bot)."""


class ToleratingSession(AiohttpSession):
    """``AiohttpSession`` that never lets one odd answer stall polling or break an edit."""

    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in _RESPONSE_TYPES:
            _RESPONSE_TYPES[returning] = Response[returning]  # type: ignore[valid-type]
        if isinstance(method, GetUpdates):
            return cast("Response[TelegramType]", self._check_updates(bot, method, status_code, content))
        if isinstance(method, _EDIT_METHODS):
            content = self._unstub_edit(content)
        return super().check_response(bot=bot, method=method, status_code=status_code, content=content)

    def _unstub_edit(self, content: str) -> str:
        try:
            data = json.loads(content)
        except ValueError:
            return content
        if isinstance(data, dict) and data.get("ok") and _is_stub_message(data.get("result")):
            data["result"] = True
            return json.dumps(data)
        return content

    def _check_updates(self, bot: Bot, method: GetUpdates, status_code: int, content: str) -> Response[Any]:
        try:
            data = json.loads(content)
        except ValueError:
            return super().check_response(bot=bot, method=method, status_code=status_code, content=content)
        results = data.get("result") if isinstance(data, dict) else None
        if not isinstance(results, list):
            return super().check_response(bot=bot, method=method, status_code=status_code, content=content)
        for raw in results:
            if isinstance(raw, dict):
                _repair_update(raw)
        try:
            return super().check_response(
                bot=bot, method=method, status_code=status_code, content=json.dumps(data)
            )
        except ClientDecodeError:
            pass
        repaired = (self._parseable_or_bare(bot, raw) for raw in results)
        data["result"] = [raw for raw in repaired if raw is not None]
        return super().check_response(
            bot=bot, method=method, status_code=status_code, content=json.dumps(data)
        )

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


def make_session(api_base: str, timeout: float = 60.0) -> ToleratingSession:
    """A session talking to the Bot API at ``api_base`` (Telegram's, Bale's, or the local emulator's)."""
    return ToleratingSession(api=TelegramAPIServer.from_base(api_base.rstrip("/")), timeout=timeout)
