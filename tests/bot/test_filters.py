"""Every filter of Miz's routers runs in the event loop, never in aiogram's worker thread (see bot/filters.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Update

from bot.filters import route_callbacks_by_prefix, run_filters_inline


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


class _Pick(CallbackData, prefix="pick"):
    item: str


class _Page(CallbackData, prefix="page"):
    n: int


def _press(data: str) -> Update:
    user = {"id": 7, "is_bot": False, "first_name": "زهرا"}
    message = {"message_id": 3, "date": 1, "chat": {"id": 7, "type": "private"}, "text": "x"}
    return Update.model_validate(
        {
            "update_id": 1,
            "callback_query": {
                "id": "q",
                "from": user,
                "chat_instance": "c",
                "message": message,
                "data": data,
            },
        }
    )


async def test_a_press_goes_straight_to_the_router_of_its_prefix_and_a_catch_all_still_gets_the_rest() -> (
    None
):
    unpacked: list[str] = []

    class Counting(_Page, prefix="page"):
        @classmethod
        def unpack(cls, value: str) -> Any:
            unpacked.append(value)
            return super().unpack(value)

    pages, picks, stale = Router(name="pages"), Router(name="picks"), Router(name="stale")
    handled: list[str] = []

    @pages.callback_query(Counting.filter(F.n > 0))
    async def next_page(query: CallbackQuery) -> None:
        handled.append(f"page {query.data}")

    @pages.callback_query(Counting.filter(F.n == 0))
    async def first_page(query: CallbackQuery) -> None:
        handled.append(f"first {query.data}")

    @picks.callback_query(_Pick.filter())
    async def pick(query: CallbackQuery, callback_data: _Pick) -> None:
        handled.append(f"pick {callback_data.item}")

    @stale.callback_query(_Pick.filter())
    async def never(query: CallbackQuery) -> None:
        raise AssertionError("picks took it first")

    @stale.callback_query()
    async def old_button(query: CallbackQuery) -> None:
        handled.append(f"stale {query.data}")

    dp = Dispatcher()
    dp.include_routers(pages, picks, stale)
    assert route_callbacks_by_prefix(dp) == ["pages", "picks"]
    run_filters_inline(dp)
    bot = Bot("42:TEST")
    try:
        for data in ("pick:falavarjan", "page:2", "page:0", "old:1", "pagex:1"):
            await dp.feed_update(bot, _press(data))
    finally:
        await bot.session.close()

    assert handled == ["pick falavarjan", "page page:2", "first page:0", "stale old:1", "stale pagex:1"]
    # "pick", "old" and "pagex" presses were turned away by the pages router's prefix check, unparsed.
    assert unpacked == ["page:2", "page:0", "page:0"]
