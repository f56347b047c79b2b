"""aiogram imported the way Miz imports it (``bot.aiogram_import``): fast, and every type and method still works.

Each check runs in a new interpreter, so that the import is the one ``miz run`` makes, whatever this test
process imported before.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_BUILD_EVERYTHING = """
import json, time
started = time.perf_counter()
import bot
imported = time.perf_counter() - started
import aiogram.methods, aiogram.types
from pydantic import BaseModel

def models(module):
    for name in module.__all__:
        value = getattr(module, name)
        if isinstance(value, type) and issubclass(value, BaseModel) and not getattr(value, "__abstractmethods__", None):
            yield name, value

def build(model, depth=8):
    # pydantic looks a few frames up for names when it builds a model on first use; a handler is always
    # deeper than that in the event loop, a script's top level is not.
    if depth:
        return build(model, depth - 1)
    model.__pydantic_validator__.validate_python  # a deferred model is built here, as on first use
    model.__pydantic_serializer__.to_python

waiting = [name for name, model in models(aiogram.types) if not model.__pydantic_complete__]
failed = {}
for module in (aiogram.types, aiogram.methods):
    for name, model in models(module):
        try:
            build(model)
        except Exception as exc:
            failed[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"imported_s": imported, "waiting": len(waiting), "failed": failed}))
"""

_ROUND_TRIP = """
import json
import bot
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Update

update = Update.model_validate({
    "update_id": 7,
    "callback_query": {
        "id": "q", "chat_instance": "c", "data": "track:1",
        "from": {"id": 5, "is_bot": False, "first_name": "زهرا"},
        "message": {
            "message_id": 3, "date": 1764900000, "chat": {"id": 5, "type": "private"}, "text": "کد رهگیری",
            "entities": [{"type": "text_mention", "offset": 0, "length": 2,
                          "user": {"id": 9, "is_bot": False, "first_name": "کارمند"}}],
            "reply_markup": {"inline_keyboard": [[{"text": "پیگیری", "callback_data": "track:1"}]]},
        },
    },
})
message = update.callback_query.message
sent = SendMessage(
    chat_id=message.chat.id, text="ثبت شد",
    reply_markup=InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="پیگیری", callback_data="t")]]),
)
print(json.dumps({
    "mention": message.entities[0].user.first_name,
    "button": message.reply_markup.inline_keyboard[0][0].callback_data,
    "sent": sent.model_dump(exclude_defaults=True, mode="json"),
}, ensure_ascii=False))
"""


def _run(code: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_bot_leaves_aiogram_types_to_be_built_on_first_use_and_every_one_then_builds() -> None:
    result = _run(_BUILD_EVERYTHING)
    assert result["waiting"] > 200, "aiogram's types were all built at import: the deferral no longer applies"
    assert result["failed"] == {}


def test_an_update_and_a_method_read_and_write_as_with_an_eager_import() -> None:
    result = _run(_ROUND_TRIP)
    assert result["mention"] == "کارمند"
    assert result["button"] == "track:1"
    assert result["sent"]["chat_id"] == 5
    assert result["sent"]["reply_markup"]["inline_keyboard"][0][0] == {"text": "پیگیری", "callback_data": "t"}
