"""What a modified client can do that the emulator's well-behaved people cannot: press a button that is not there.

Both messengers pass a callback query's data to the bot as the client sent it; a patched client (or the user API)
can send any data, up to 64 bytes, on any message of a chat it is in. The emulator's ``press`` only presses buttons
that exist, so :func:`forge_press` builds the callback query itself, in the emulator's memory (it runs in the
test's event loop), exactly as a real press would arrive.
"""

from __future__ import annotations

import time
from typing import Any

from emulator.client import Person
from emulator.state import CallbackRecord
from tests.e2e.conftest import World

__all__ = ["forge_press"]


async def forge_press(
    world: World,
    person: Person,
    data: str,
    message: dict[str, Any] | int | None = None,
    wait_answer: float = 5,
) -> dict[str, Any] | None:
    """``person`` presses a button with callback data ``data`` on ``message`` (default: the bot's newest message in
    their chat), whether or not it has such a button; the bot's answer (``text``, ``show_alert``) or None.

    Like :meth:`Person.press`, it counts as the person's last action for :meth:`Person.expect`.
    """
    state = world.emu.state
    bot = state.bots[person.bot_token]
    chat = state.chat_for(bot, person.chat_id)
    assert chat is not None, f"no chat {person.chat_id}"
    if message is None:
        ours = [m for m in chat.messages.values() if m.outgoing and not m.deleted]
        assert ours, "no bot message to press a button on"
        target = ours[-1]
    else:
        message_id = message if isinstance(message, int) else int(message["message_id"])
        found = chat.live_message(message_id)
        assert found is not None, f"no message {message_id} in chat {person.chat_id}"
        target = found
    user = state.users[person.user_id]
    record = CallbackRecord(
        id=state.new_id(),
        bot_id=bot.id,
        chat_id=chat.id,
        chat_key=chat.key,
        message_id=target.message_id,
        user_id=user.id,
        data=data,
        date=time.time(),
    )
    state.callbacks[record.id] = record
    chat.callbacks.append(record)
    query = {"id": record.id, "from": user.to_api(), "message": target.api(), "data": data}
    if bot.options.get("chat_instance"):
        query["chat_instance"] = str(abs(chat.id * 1_000_003 + bot.id) % 10**19)
    state.push_update(bot, "callback_query", query)
    chat.touch(0)
    person._since = chat.version  # the press is the person's last action, as for Person.press
    deadline = time.monotonic() + wait_answer
    while not record.answered and (remaining := deadline - time.monotonic()) > 0:
        await record.answered_signal.wait(remaining)
    answer = {"text": record.text, "show_alert": record.show_alert} if record.answered else None
    person.last_answer = answer
    return answer
