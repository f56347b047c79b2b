"""Every filter of Miz's routers runs in the event loop, never in aiogram's worker thread (see bot/filters.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.dispatcher.event.handler import FilterObject
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery, Message, Update

from bot.filters import route_by_state, route_callbacks_by_prefix, run_filters_inline


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


class _Form(StatesGroup):
    answering = State()
    review = State()


def _text(text: str) -> Update:
    user = {"id": 7, "is_bot": False, "first_name": "زهرا"}
    message = {"message_id": 4, "date": 1, "chat": {"id": 7, "type": "private"}, "from": user, "text": text}
    return Update.model_validate({"update_id": 2, "message": message})


async def test_a_message_skips_the_routers_waiting_for_other_states() -> None:
    checked: list[str] = []

    def spy(name: str) -> Any:
        def seen(message: Message) -> bool:
            checked.append(name)
            return True

        return seen

    form, search, any_state = Router(name="form"), Router(name="search"), Router(name="any")
    handled: list[str] = []

    @form.message(spy("answer"), _Form.answering)  # the spy first: it runs whenever the handler is tried
    async def answer(message: Message) -> None:
        handled.append(f"answer {message.text}")

    @form.message(spy("in form"), StateFilter(_Form))
    async def in_form(message: Message) -> None:
        handled.append(f"form {message.text}")

    @search.message(StateFilter(None, "Browse:search"), spy("search"))
    async def find(message: Message) -> None:
        handled.append(f"search {message.text}")

    @any_state.message(StateFilter("*"))
    async def anything(message: Message) -> None:
        handled.append(f"any {message.text}")

    dp = Dispatcher()
    dp.include_routers(form, search, any_state)
    assert route_by_state(dp) == ["form.message", "search.message"]
    run_filters_inline(dp)
    bot = Bot("42:TEST")
    key = StorageKey(bot_id=42, chat_id=7, user_id=7)
    try:
        await dp.feed_update(bot, _text("گزارش"))
        await dp.storage.set_state(key, _Form.review)
        await dp.feed_update(bot, _text("بله"))
        await dp.storage.set_state(key, "Other:state")
        await dp.feed_update(bot, _text("سلام"))
    finally:
        await bot.session.close()

    assert handled == ["search گزارش", "form بله", "any سلام"]
    # The form's handlers were tried only in a form state; the search's only out of one.
    assert checked == ["search", "answer", "in form"]
