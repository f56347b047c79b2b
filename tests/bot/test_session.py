"""Odd answers from a Bot API server never stall polling or break an edit (docs/ARCHITECTURE.md, measured on aiogram 3.31)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    GetUpdates,
    SendLocation,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)

from bot.session import make_session


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    bot = Bot(
        "42:TEST",
        session=make_session("http://127.0.0.1:9"),
        default=DefaultBotProperties(parse_mode="HTML", link_preview_is_disabled=True),
    )
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


def test_bale_sticker_without_is_animated_and_is_video_is_delivered(bot: Bot) -> None:
    bale_sticker = {
        "file_id": "CAAC1",
        "file_unique_id": "AQAD1",
        "type": "regular",
        "width": 512,
        "height": 512,
    }
    message = {
        "message_id": 4,
        "date": 1,
        "chat": {"id": 7, "type": "private"},
        "from": {"id": 7, "is_bot": False, "first_name": "زهرا"},
        "sticker": dict(bale_sticker),
        "reply_to_message": {
            "message_id": 3,
            "date": 1,
            "chat": {"id": 7, "type": "private"},
            "sticker": bale_sticker,
        },
    }
    content = json.dumps({"ok": True, "result": [{"update_id": 12, "message": message}]})
    updates = bot.session.check_response(bot, GetUpdates(), 200, content).result
    assert updates is not None
    delivered = updates[0].message
    assert delivered is not None, "the sticker reaches the handlers, which answer it"
    assert delivered.sticker is not None
    assert (delivered.sticker.is_animated, delivered.sticker.is_video) == (False, False)
    assert delivered.reply_to_message is not None
    assert delivered.reply_to_message.sticker is not None


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


def _aiogram_values(bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
    """What aiogram's own session would send: every field through ``prepare_value``, None left out."""
    files: dict[str, Any] = {}
    values = {
        key: bot.session.prepare_value(value, bot=bot, files=files, _dumps_json=False)
        for key, value in method.model_dump(warnings=False).items()
    }
    return {key: value for key, value in values.items() if value is not None}


@pytest.mark.parametrize(
    "method",
    [
        SendMessage(
            chat_id=7,
            text="<b>سلام</b> «علی»",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="بعدی ◀️", callback_data="org:p:1")]]
            ),
            reply_parameters=ReplyParameters(message_id=3, allow_sending_without_reply=True),
        ),
        SendMessage(
            chat_id=-100,
            text="x",
            reply_markup=ReplyKeyboardMarkup(
                keyboard=[[KeyboardButton(text="📍 ارسال موقعیت", request_location=True)]],
                resize_keyboard=True,
                is_persistent=True,
            ),
        ),
        SendMessage(chat_id=7, text="y", reply_markup=ReplyKeyboardRemove()),
        EditMessageText(chat_id=7, message_id=3, text="تازه", reply_markup=None),
        EditMessageReplyMarkup(chat_id=7, message_id=3),
        AnswerCallbackQuery(callback_query_id="cb1", text="ثبت شد", show_alert=False),
        SendLocation(chat_id=7, latitude=32.55, longitude=51.51),
    ],
    ids=lambda m: type(m).__name__,
)
def test_a_call_is_sent_as_the_json_of_what_aiogram_would_send(bot: Bot, method: TelegramMethod[Any]) -> None:
    body = bot.session.json_body(bot, method)  # type: ignore[attr-defined]
    assert body is not None
    assert json.loads(body) == json.loads(json.dumps(_aiogram_values(bot, method)))


def test_a_call_with_a_file_is_left_to_multipart(bot: Bot) -> None:
    method = SendPhoto(chat_id=7, photo=BufferedInputFile(b"\x89PNG", filename="a.png"), caption="عکس")
    assert bot.session.json_body(bot, method) is None  # type: ignore[attr-defined]
