"""Odd answers from a Bot API server never stall polling or break an edit (DESIGN.md, measured on aiogram 3.31)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.methods import EditMessageText, GetUpdates

from bot.session import make_session


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    bot = Bot("42:TEST", session=make_session("http://127.0.0.1:9"))
    yield bot
    await bot.session.close()


def _callback_update(update_id: int, *, chat_instance: bool) -> dict[str, object]:
    query: dict[str, object] = {
        "id": "cb1",
        "from": {"id": 7, "is_bot": False, "first_name": "زهرا"},
        "data": "org:falavarjan",
        "message": {"message_id": 3, "date": 1, "chat": {"id": 7, "type": "private"}, "text": "x"},
    }
    if chat_instance:
        query["chat_instance"] = "abc"
    return {"update_id": update_id, "callback_query": query}


def test_bale_callback_without_chat_instance_is_delivered(bot: Bot) -> None:
    content = json.dumps({"ok": True, "result": [_callback_update(10, chat_instance=False)]})
    updates = bot.session.check_response(bot, GetUpdates(), 200, content).result
    assert updates is not None
    assert updates[0].callback_query is not None
    assert updates[0].callback_query.data == "org:falavarjan"


def test_an_unparseable_update_is_confirmed_not_retried_forever(bot: Bot) -> None:
    broken = {"update_id": 11, "message": {"message_id": "not a number"}}
    content = json.dumps({"ok": True, "result": [_callback_update(10, chat_instance=True), broken]})
    updates = bot.session.check_response(bot, GetUpdates(), 200, content).result
    assert updates is not None
    # Both ids come back, so polling's offset moves past the broken one; the good one is intact.
    assert [u.update_id for u in updates] == [10, 11]
    assert updates[0].callback_query is not None
    assert updates[1].model_fields_set == {"update_id"}


@pytest.mark.parametrize("stub", [{"message_id": 3}, True])
def test_bale_stub_edit_result_counts_as_success(bot: Bot, stub: object) -> None:
    content = json.dumps({"ok": True, "result": stub})
    method = EditMessageText(chat_id=7, message_id=3, text="تازه")
    assert bot.session.check_response(bot, method, 200, content).result is True
