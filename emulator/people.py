"""The people's side of the chats: what a citizen or a clerk does, turned into messages and updates.

The control API and the web page call these; each action stores what the person did in the chat and queues
the update the bot would receive (or none, when the platform would not deliver it).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

from emulator.dialects import utf16_len
from emulator.state import BotAccount, CallbackRecord, Chat, EmulatorState, Message, PreCheckout, User

__all__ = [
    "ActionError",
    "complete_payment",
    "find_button",
    "own_contact",
    "press_button",
    "send_as_user",
    "start_payment",
    "user_edits",
]

# Where a reply-keyboard location button puts a person when the test gives no point: Falavarjan.
DEFAULT_LOCATION = {"latitude": 32.5553, "longitude": 51.5097}
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,64})?")


class ActionError(Exception):
    """A person's action that cannot happen (unknown button, not a member...): a control API 4xx."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def own_contact(user: User) -> dict[str, Any]:
    """The contact a person shares of themselves: its ``user_id`` is the sender's, so a bot can trust it."""
    contact: dict[str, Any] = {
        "phone_number": user.phone_number or "",
        "first_name": user.first_name,
        "user_id": user.id,
    }
    if user.last_name:
        contact["last_name"] = user.last_name
    return contact


def _text_entities(text: str, bot_usernames: list[str]) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    command = _COMMAND_RE.match(text)
    if command:
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))})
    for name in bot_usernames:
        mention = f"@{name}"
        start = text.find(mention)
        if start >= 0 and not (command and start < command.end()):
            entities.append(
                {"type": "mention", "offset": utf16_len(text[:start]), "length": utf16_len(mention)}
            )
    return entities


def _sees(bot: BotAccount, chat: Chat, message: Message) -> bool:
    """Whether the bot receives a person's message in this chat (Telegram's privacy mode)."""
    if (
        chat.user is not None
        or not bot.options.get("privacy_mode")
        or chat.bots.get(bot.id) == "administrator"
    ):
        return True
    raw = message.raw
    text = raw.get("text") or raw.get("caption") or ""
    if text.startswith("/"):
        return True
    replied = raw.get("reply_to_message")
    if replied and (replied.get("from") or {}).get("id") == bot.id:
        return True
    return f"@{bot.username}" in text


def _check_member(chat: Chat, user: User) -> None:
    if chat.user is None and chat.members.get(user.id) in (None, "left", "kicked"):
        raise ActionError(403, f"user {user.id} is not a member of chat {chat.id}")


def _bots_of(state: EmulatorState, chat: Chat) -> list[BotAccount]:
    return [state.bots_by_id[bot_id] for bot_id in chat.bots if bot_id in state.bots_by_id]


def send_as_user(
    state: EmulatorState,
    chat: Chat,
    user: User,
    content: dict[str, Any],
    reply_to_message_id: int | None = None,
) -> tuple[Message, int | None]:
    """A person sends a message; answers it and the id of the update made for the (first) bot."""
    _check_member(chat, user)
    bots = _bots_of(state, chat)
    raw: dict[str, Any] = {"from": user.to_api(), **content}
    text = content.get("text")
    if isinstance(text, str):
        entities = _text_entities(text, [bot.username for bot in bots])
        if entities:
            raw["entities"] = entities
    if reply_to_message_id:
        target = chat.live_message(reply_to_message_id)
        if target is None:
            raise ActionError(404, f"no message {reply_to_message_id} in chat {chat.id}")
        quoted = target.api()
        quoted.pop("reply_to_message", None)
        raw["reply_to_message"] = quoted
    if chat.user is not None:
        chat.started = True
        chat.blocked = False
    file_ids = tuple(
        f["file_id"]
        for f in ([content["photo"][-1]] if "photo" in content else [])
        + ([content["document"]] if "document" in content else [])
    )
    message = chat.add_message(raw, outgoing=False, sender_id=user.id, file_ids=file_ids)
    first_update: int | None = None
    for bot in bots:
        if _sees(bot, chat, message):
            update_id = state.push_update(bot, "message", message.api())
            first_update = first_update or update_id
    return message, first_update


def user_edits(
    state: EmulatorState, chat: Chat, user: User, message_id: int, text: str
) -> tuple[Message, int | None]:
    """A person edits the text of their own message: an ``edited_message`` update."""
    message = chat.live_message(message_id)
    if message is None or message.sender_id != user.id or "text" not in message.raw:
        raise ActionError(404, f"user {user.id} has no text message {message_id} in chat {chat.id}")
    message.edits.append(
        {"text": message.raw["text"], "date": message.raw.get("edit_date", message.raw["date"])}
    )
    message.raw["text"] = text
    message.raw["edit_date"] = int(time.time())
    entities = _text_entities(text, [])
    if entities:
        message.raw["entities"] = entities
    else:
        message.raw.pop("entities", None)
    chat.touch(message_id)
    first_update: int | None = None
    for bot in _bots_of(state, chat):
        if _sees(bot, chat, message):
            update_id = state.push_update(bot, "edited_message", message.api())
            first_update = first_update or update_id
    return message, first_update


def _matches(button: dict[str, Any], text: str | None, data: str | None) -> bool:
    if data is not None:
        return button.get("callback_data") == data
    return button.get("text") == text


def find_button(
    chat: Chat, bot: BotAccount, text: str | None, data: str | None, message_id: int | None
) -> tuple[Message, dict[str, Any]] | None:
    """The inline button by text or callback data, on ``message_id`` or on the newest bot message having it."""
    if message_id:
        message = chat.live_message(message_id)
        candidates = [message] if message is not None else []
    else:
        candidates = [chat.messages[i] for i in sorted(chat.messages, reverse=True)]
    for message in candidates:
        if message.deleted or message.sender_id != bot.id:
            continue
        for row in (message.raw.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if _matches(button, text, data):
                    return message, button
    return None


def press_button(
    state: EmulatorState,
    bot: BotAccount,
    chat: Chat,
    user: User,
    text: str | None = None,
    callback_data: str | None = None,
    message_id: int | None = None,
    location: dict[str, Any] | None = None,
    forged: bool = False,
) -> dict[str, Any]:
    """Press an inline button (a callback query) or, failing that, a button of the reply keyboard.

    ``forged`` plays a modified client: it sends ``callback_data`` as a callback query on the bot's message
    ``message_id`` (the newest one when not given) whether or not that message has such a button, as the real
    platforms allow for any message the user can see.
    """
    _check_member(chat, user)
    found = find_button(chat, bot, text, callback_data, message_id)
    if forged:
        if callback_data is None:
            raise ActionError(400, "a forged press needs callback_data")
        shown = [message_id] if message_id else sorted(chat.messages, reverse=True)
        target = next(
            (
                m
                for m in (chat.live_message(i) for i in shown)
                if m is not None and not m.deleted and m.sender_id == bot.id
            ),
            None,
        )
        if target is None:
            raise ActionError(404, f"no message of the bot to press on in chat {chat.id}")
        found = target, {"callback_data": callback_data}
    if found is not None:
        message, button = found
        if "callback_data" not in button:
            url = button.get("url") or (button.get("web_app") or {}).get("url")
            return {"kind": "url", "url": url, "message_id": message.message_id}
        record = CallbackRecord(
            id=state.new_id(),
            bot_id=bot.id,
            chat_id=chat.id,
            chat_key=chat.key,
            message_id=message.message_id,
            user_id=user.id,
            data=button["callback_data"],
            date=time.time(),
        )
        state.callbacks[record.id] = record
        chat.callbacks.append(record)
        query: dict[str, Any] = {
            "id": record.id,
            "from": user.to_api(),
            "message": message.api(),
            "data": record.data,
        }
        if bot.options.get("chat_instance"):
            query["chat_instance"] = str(abs(chat.id * 1_000_003 + bot.id) % 10**19)
        update_id = state.push_update(bot, "callback_query", query)
        chat.touch(0)
        return {
            "kind": "callback",
            "callback_query_id": record.id,
            "update_id": update_id,
            "message_id": message.message_id,
            "answer": None,
        }
    keyboard = chat.reply_keyboard if chat.user is not None or chat.reply_keyboard else None
    if keyboard is not None and callback_data is None:
        for row in keyboard.get("keyboard", []):
            for button in row:
                if button.get("text") != text:
                    continue
                if button.get("request_contact"):
                    content: dict[str, Any] = {"contact": own_contact(user)}
                elif button.get("request_location"):
                    content = {"location": location or dict(DEFAULT_LOCATION)}
                else:
                    content = {"text": button["text"]}
                message, update_id = send_as_user(state, chat, user, content)
                if keyboard.get("one_time_keyboard"):
                    chat.reply_keyboard = None
                return {"kind": "reply", "message": message.view(), "update_id": update_id}
    wanted = f"callback data {callback_data!r}" if callback_data is not None else f"text {text!r}"
    raise ActionError(404, f"no button with {wanted} in chat {chat.id}")


def start_payment(
    state: EmulatorState, bot: BotAccount, chat: Chat, user: User, message_id: int
) -> dict[str, Any]:
    """A person presses Pay on an invoice: a ``pre_checkout_query`` update for the bot."""
    message = chat.live_message(message_id)
    if message is None or "invoice" not in message.raw:
        raise ActionError(404, f"no invoice in message {message_id} of chat {chat.id}")
    if message.paid:
        raise ActionError(409, "invoice already paid")
    invoice = message.raw["invoice"]
    query = PreCheckout(
        id=state.new_id(),
        bot_id=bot.id,
        chat_key=chat.key,
        message_id=message_id,
        user_id=user.id,
        currency=invoice["currency"],
        total_amount=invoice["total_amount"],
        payload=message.raw.get("_payload", ""),
        date=time.monotonic(),
    )
    state.pre_checkouts[query.id] = query
    update_id = state.push_update(
        bot,
        "pre_checkout_query",
        {
            "id": query.id,
            "from": user.to_api(),
            "currency": query.currency,
            "total_amount": query.total_amount,
            "invoice_payload": query.payload,
        },
    )
    return {"pre_checkout_query_id": query.id, "update_id": update_id}


def complete_payment(state: EmulatorState, bot: BotAccount, query: PreCheckout) -> None:
    """After the bot's answer: a ``successful_payment`` message from the person, or the refusal recorded."""
    chat = state.chat_by_key(query.chat_key)
    user = state.users.get(query.user_id)
    if chat is None or user is None:
        return
    invoice_message = chat.messages[query.message_id]
    if not query.ok:
        invoice_message.payment_error = query.error_message
        chat.touch(query.message_id)
        return
    invoice_message.paid = True
    transaction_id = f"{int(time.time())}{secrets.randbelow(10**6):06d}"
    payment = {
        "currency": query.currency,
        "total_amount": query.total_amount,
        "invoice_payload": query.payload,
        "telegram_payment_charge_id": transaction_id,
        "provider_payment_charge_id": transaction_id,
    }
    state.payments.append(
        {
            "bot_id": bot.id,
            "chat_id": chat.id,
            "user_id": user.id,
            "message_id": query.message_id,
            "transaction_id": transaction_id,
            "date": int(time.time()),
            **payment,
        }
    )
    chat.touch(query.message_id)
    send_as_user(state, chat, user, {"successful_payment": payment})
