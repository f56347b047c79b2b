"""Every filter of Miz's routers runs in the event loop, never in aiogram's worker thread (see bot/filters.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram import F, Router
from aiogram.dispatcher.event.handler import FilterObject

from bot.filters import run_filters_inline


async def test_a_magic_filter_gives_the_same_answer_without_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    router = Router()
    router.message.filter(F.chat.type == "private")

    @router.message(F.text.in_({"سلام", "hello"}), F.text.as_("said"))
    async def greet(said: str) -> None: ...

    assert run_filters_inline(router) == 3

    async def no_thread(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a filter went to a worker thread")

    monkeypatch.setattr(asyncio, "to_thread", no_thread)

    class Chat:
        type = "private"

    class Message:
        chat = Chat()
        text = "سلام"

    handler = router.message.handlers[0]
    filters: list[FilterObject] = handler.filters or []
    assert [await f.call(Message()) for f in filters] == [True, {"said": "سلام"}]
    Message.text = "bye"
    assert not await filters[0].call(Message())
    assert await router.message._handler.filters[0].call(Message())  # type: ignore[index]
