"""The Bot API methods: each reads its parameters like the real server and answers its result or error.

A handler receives a :class:`Call` and returns the ``result`` (or a :class:`Result` when the real server adds
a ``description`` to a success). Errors are :class:`~emulator.errors.ApiError` with the platform's wording.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from emulator import webhooks
from emulator.dialects import parse_bale_markdown, parse_html
from emulator.errors import ApiError, bad_request, forbidden, too_many_requests
from emulator.files import MAX_DOWNLOAD, MAX_PHOTO, MAX_UPLOAD, guess_mime, image_size
from emulator.state import BotAccount, Chat, EmulatorState, Message, StoredFile, Webhook

__all__ = ["METHODS", "SENDING_METHODS", "Call", "FilePart", "Result"]


@dataclass
class FilePart:
    """An uploaded multipart file."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Result:
    """A success that carries a ``description`` too (as setWebhook's ``Webhook was set``)."""

    value: Any
    description: str | None = None


@dataclass
class Call:
    """One Bot API request: who calls, with which parameters."""

    state: EmulatorState
    bot: BotAccount
    method: str
    params: dict[str, Any]
    files: dict[str, FilePart] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        """Whether the parameter was given with a non-empty value."""
        value = self.params.get(name)
        return value is not None and value != ""

    def text(self, name: str) -> str | None:
        """A string parameter (numbers and booleans given in JSON are turned into their text)."""
        value = self.params.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    def integer(self, name: str) -> int | None:
        """An integer parameter, None when absent or not a number."""
        value = self.params.get(name)
        if value is None or value == "" or isinstance(value, bool):
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    def number(self, name: str) -> float | None:
        """A float parameter, None when absent or not a number."""
        value = self.params.get(name)
        try:
            return float(value) if value is not None and value != "" else None
        except (TypeError, ValueError):
            return None

    def flag(self, name: str) -> bool:
        """A boolean parameter (``true``/``1`` in forms, ``true`` in JSON)."""
        value = self.params.get(name)
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1")

    def json(self, name: str, error: str) -> Any:
        """A parameter holding a JSON object: parsed when given as text; 400 ``error`` when malformed."""
        value = self.params.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(error) from None
        return value


Handler = Callable[[Call], Awaitable[Any]]
METHODS: dict[str, Handler] = {}
SENDING_METHODS: set[str] = set()


def method(*names: str, sends: bool = False) -> Callable[[Handler], Handler]:
    """Register a handler under its (case-insensitive) method names."""

    def register(handler: Handler) -> Handler:
        for name in names:
            METHODS[name.lower()] = handler
            if sends:
                SENDING_METHODS.add(name.lower())
        return handler

    return register


# ------------------------------------------------------------------------------------------- helpers


def _chat(call: Call, *, sending: bool, name: str = "chat_id") -> Chat:
    """The chat named by ``chat_id`` as the bot may use it, or the error the real API answers."""
    raw = call.params.get(name)
    if raw is None or raw == "" or raw == 0 or raw == "0":
        raise bad_request("chat_id is empty")
    chat_id = call.integer(name)
    if chat_id is None:
        raise bad_request("chat not found")
    chat = call.state.chat_for(call.bot, chat_id)
    if chat is None:
        raise bad_request("chat not found")
    if chat.user is not None:
        if not chat.started:
            if sending:
                raise forbidden("bot can't initiate conversation with a user")
            raise bad_request("chat not found")
        if chat.blocked and sending:
            raise forbidden("bot was blocked by the user")
    elif call.bot.id not in chat.bots:
        if sending:
            kind = "supergroup chat" if chat.type == "supergroup" else "group chat"
            raise forbidden(f"bot is not a member of the {kind}")
        raise bad_request("chat not found")
    return chat


def _admit(call: Call, chat: Chat) -> None:
    """Telegram's flood control, when the bot has it switched on."""
    if not call.bot.options.get("rate_limits"):
        return
    wait = call.bot.flood.admit(chat.id, chat.user is None, time.monotonic())
    if wait is not None:
        raise too_many_requests(wait)


def _format(
    call: Call, text: str, mode_param: str = "parse_mode", entities_param: str = "entities"
) -> tuple[str, list[dict[str, Any]], str | None]:
    """Apply the dialect's formatting: the text as users see it, its entities, and the parse mode used."""
    parse_mode = call.text(mode_param) or None
    if call.bot.dialect.name == "bale":
        if parse_mode:
            raise bad_request("parse_mode is not supported")
        plain, entities = parse_bale_markdown(text)
        return plain, entities, None
    if parse_mode is None:
        given = call.json(entities_param, "can't parse entities JSON object") or []
        return text, list(given), None
    if parse_mode.lower() == "html":
        plain, entities = parse_html(text)
        return plain, entities, parse_mode
    if parse_mode.lower() in ("markdown", "markdownv2"):
        # Not validated: Miz renders Telegram text as HTML. Kept verbatim, recorded as sent.
        return text, [], parse_mode
    raise bad_request(f"unsupported parse_mode {parse_mode!r}")


def _markup(call: Call, chat: Chat | None) -> dict[str, Any] | None:
    """Validate ``reply_markup`` as Telegram does and return it normalised."""
    markup = call.json("reply_markup", "can't parse reply keyboard markup JSON object")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('Field "inline_keyboard" must be of type Array')
        clean_rows = []
        for row in rows:
            clean_row = []
            for button in row:
                if not isinstance(button, dict) or not str(button.get("text", "")):
                    raise bad_request("can't parse inline keyboard button: Text must be non-empty")
                actions = [k for k in button if k != "text" and button[k] not in (None, "")]
                if not actions:
                    raise bad_request(
                        "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and len(str(data).encode()) > 64:
                    raise bad_request("BUTTON_DATA_INVALID")
                clean_row.append({k: v for k, v in button.items() if v not in (None, "")})
            clean_rows.append(clean_row)
        return {"inline_keyboard": clean_rows}
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('Field "keyboard" must be of type Array')
        keyboard = [[{"text": b} if isinstance(b, str) else dict(b) for b in row] for row in rows]
        if any(not str(b.get("text", "")) for row in keyboard for b in row):
            raise bad_request("can't parse keyboard button: Text must be non-empty")
        return {**markup, "keyboard": keyboard}
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return dict(markup)
    raise bad_request("can't parse reply keyboard markup JSON object")


def _reply_to(call: Call, chat: Chat) -> Message | None:
    """The message this send replies to, from ``reply_parameters`` or ``reply_to_message_id``."""
    params = call.json("reply_parameters", "can't parse reply parameters JSON object")
    if params is not None:
        if not isinstance(params, dict):
            raise bad_request("can't parse reply parameters JSON object")
        target_id = params.get("message_id")
        allow = bool(params.get("allow_sending_without_reply"))
    else:
        target_id = call.integer("reply_to_message_id")
        allow = call.flag("allow_sending_without_reply")
    if not target_id:
        return None
    target = chat.live_message(int(target_id))
    if target is None and not allow:
        raise bad_request("message to be replied not found")
    return target


def _deliver(
    call: Call,
    chat: Chat,
    content: dict[str, Any],
    *,
    parse_mode: str | None = None,
    file_ids: tuple[str, ...] = (),
) -> Message:
    """Store an outgoing message with the common send parameters (reply, keyboard) applied."""
    markup = _markup(call, chat)
    reply = _reply_to(call, chat)
    _admit(call, chat)
    raw: dict[str, Any] = {"from": call.bot.sender(), **content}
    if reply is not None:
        quoted = reply.api()
        quoted.pop("reply_to_message", None)
        raw["reply_to_message"] = quoted
    if markup is not None:
        if "inline_keyboard" in markup:
            if markup["inline_keyboard"]:
                raw["reply_markup"] = markup
        elif "keyboard" in markup:
            raw["_reply_keyboard"] = markup
            chat.reply_keyboard = markup
        elif markup.get("remove_keyboard"):
            raw["_reply_keyboard"] = markup
            chat.reply_keyboard = None
    return chat.add_message(
        raw, outgoing=True, sender_id=call.bot.id, parse_mode=parse_mode, file_ids=file_ids
    )


def _caption(call: Call, content: dict[str, Any]) -> str | None:
    caption = call.text("caption")
    if not caption:
        return None
    plain, entities, mode = _format(call, caption, entities_param="caption_entities")
    if len(plain) > 1024:
        raise bad_request("message caption is too long")
    content["caption"] = plain
    if entities:
        content["caption_entities"] = entities
    return mode


def _message_for_edit(call: Call) -> tuple[Chat, Message]:
    if not call.has("chat_id") and call.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = _chat(call, sending=False)
    message_id = call.integer("message_id")
    if not message_id:
        raise bad_request("message identifier is not specified")
    message = chat.live_message(message_id)
    if message is None:
        raise bad_request("message to edit not found")
    if message.sender_id != call.bot.id:
        raise bad_request("message can't be edited")
    return chat, message


_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)


def _edit_answer(call: Call, message: Message) -> Any:
    mode = call.bot.options.get("edit_result", "message")
    if mode == "stub":
        return {"message_id": message.message_id}
    if mode == "true":
        return True
    return message.api()


def _apply_edit(chat: Chat, message: Message, changes: dict[str, Any], markup: dict[str, Any] | None) -> None:
    raw = message.raw
    previous: dict[str, Any] = {k: raw[k] for k in ("text", "caption") if k in raw}
    previous["date"] = raw.get("edit_date", raw["date"])
    message.edits.append(previous)
    for key, value in changes.items():
        if value in (None, []):
            raw.pop(key, None)
        else:
            raw[key] = value
    if markup and markup.get("inline_keyboard"):
        raw["reply_markup"] = markup
    else:
        raw.pop("reply_markup", None)
    raw["edit_date"] = int(time.time())
    chat.touch(message.message_id)


def _inline_markup(call: Call, chat: Chat) -> dict[str, Any] | None:
    markup = _markup(call, chat)
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    return markup if markup and markup["inline_keyboard"] else None


# ------------------------------------------------------------------------------------ bot and updates


@method("getMe")
async def get_me(call: Call) -> Any:
    """The bot's own User."""
    return call.bot.to_api()


@method("logOut", "close")
async def log_out(call: Call) -> Any:
    """Accepted and ignored: there is no cloud server to leave."""
    return True


_CONFLICT_WEBHOOK = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
_CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
MAX_POLL_TIMEOUT = 50


@method("getUpdates")
async def get_updates(call: Call) -> Any:
    """Pending updates from ``offset``; holds the request up to ``timeout`` seconds while none is pending."""
    bot = call.bot
    if bot.webhook is not None:
        raise ApiError(409, _CONFLICT_WEBHOOK)
    allowed = call.json("allowed_updates", "can't parse allowed_updates JSON array")
    if call.has("allowed_updates"):
        if not isinstance(allowed, list):
            raise bad_request("can't parse allowed_updates JSON array")
        bot.allowed_updates = [str(kind) for kind in allowed] or None
    offset = call.integer("offset") or 0
    limit = call.integer("limit") or 100
    limit = 100 if limit <= 0 or limit > 100 else limit
    timeout = max(0, min(call.integer("timeout") or 0, MAX_POLL_TIMEOUT))
    bot.poll_generation += 1
    generation = bot.poll_generation
    bot.updates_signal.fire()  # an older poll still waiting is terminated with 409
    if offset > 0:
        while bot.updates and bot.updates[0][0] < offset:
            bot.updates.popleft()
    elif offset < 0:
        while len(bot.updates) > -offset:
            bot.updates.popleft()
    deadline = time.monotonic() + timeout
    while not bot.updates:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        await bot.updates_signal.wait(remaining)
        if bot.poll_generation != generation:
            raise ApiError(409, _CONFLICT_POLL)
        if bot.webhook is not None:
            return []
    return [update for _, update in list(_take(bot.updates, limit))]


def _take(items: Any, count: int) -> Any:
    for index, item in enumerate(items):
        if index >= count:
            break
        yield item


_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@method("setWebhook")
async def set_webhook(call: Call) -> Any:
    """Subscribe a URL; the emulator then POSTs each update to it (plain http only to this machine)."""
    bot = call.bot
    url = call.text("url") or ""
    if not url:
        return await delete_webhook(call)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = call.text("secret_token") if bot.dialect.name == "telegram" else None
    if secret and not _SECRET_RE.match(secret):
        raise bad_request("secret token contains unallowed characters")
    allowed = call.json("allowed_updates", "can't parse allowed_updates JSON array")
    if call.flag("drop_pending_updates"):
        bot.updates.clear()
    old = bot.webhook
    if old is not None and old.task is not None:
        old.task.cancel()
    bot.webhook = Webhook(
        url=url,
        secret_token=secret or None,
        max_connections=call.integer("max_connections") or 40,
        allowed_updates=[str(k) for k in allowed] if isinstance(allowed, list) and allowed else None,
    )
    bot.webhook.task = asyncio.get_running_loop().create_task(webhooks.deliver(call.state, bot, bot.webhook))
    bot.updates_signal.fire()
    return Result(True, "Webhook was set")


@method("deleteWebhook")
async def delete_webhook(call: Call) -> Any:
    """Stop webhook delivery; ``drop_pending_updates`` forgets what is pending."""
    bot = call.bot
    if call.flag("drop_pending_updates"):
        bot.updates.clear()
    if bot.webhook is None:
        return Result(True, "Webhook is already deleted")
    if bot.webhook.task is not None:
        bot.webhook.task.cancel()
    bot.webhook = None
    return Result(True, "Webhook was deleted")


@method("getWebhookInfo")
async def get_webhook_info(call: Call) -> Any:
    """The subscription and the number of pending updates."""
    bot = call.bot
    info: dict[str, Any] = {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.updates),
    }
    hook = bot.webhook
    if hook is not None:
        info["url"] = hook.url
        info["max_connections"] = hook.max_connections
        if hook.allowed_updates:
            info["allowed_updates"] = hook.allowed_updates
        if hook.last_error_date:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
    return info


# ------------------------------------------------------------------------------------------ messages


@method("sendMessage", sends=True)
async def send_message(call: Call) -> Any:
    """Send a text message."""
    chat = _chat(call, sending=True)
    text = call.text("text") or ""
    if not text.strip():
        raise bad_request("message text is empty")
    plain, entities, mode = _format(call, text)
    if not plain.strip():
        raise bad_request("message text is empty")
    if len(plain) > 4096:
        raise bad_request("message is too long")
    content: dict[str, Any] = {"text": plain}
    if entities:
        content["entities"] = entities
    return _deliver(call, chat, content, parse_mode=mode).api()


@method("editMessageText")
async def edit_message_text(call: Call) -> Any:
    """Replace a bot message's text (and its inline keyboard: none when not given)."""
    chat, message = _message_for_edit(call)
    text = call.text("text") or ""
    if not text.strip():
        raise bad_request("message text is empty")
    if "text" not in message.raw:
        raise bad_request("there is no text in the message to edit")
    plain, entities, mode = _format(call, text)
    if len(plain) > 4096:
        raise bad_request("message is too long")
    markup = _inline_markup(call, chat)
    raw = message.raw
    if raw.get("text") == plain and raw.get("entities", []) == entities and raw.get("reply_markup") == markup:
        raise bad_request(_NOT_MODIFIED)
    _apply_edit(chat, message, {"text": plain, "entities": entities}, markup)
    message.parse_mode = mode
    return _edit_answer(call, message)


@method("editMessageCaption")
async def edit_message_caption(call: Call) -> Any:
    """Replace a media message's caption."""
    chat, message = _message_for_edit(call)
    if "photo" not in message.raw and "document" not in message.raw:
        raise bad_request("there is no caption in the message to edit")
    content: dict[str, Any] = {}
    _caption(call, content)
    markup = _inline_markup(call, chat)
    raw = message.raw
    if raw.get("caption") == content.get("caption") and raw.get("reply_markup") == markup:
        raise bad_request(_NOT_MODIFIED)
    _apply_edit(
        chat,
        message,
        {"caption": content.get("caption"), "caption_entities": content.get("caption_entities")},
        markup,
    )
    return _edit_answer(call, message)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(call: Call) -> Any:
    """Replace (or, without ``reply_markup``, remove) a bot message's inline keyboard."""
    chat, message = _message_for_edit(call)
    markup = _inline_markup(call, chat)
    if message.raw.get("reply_markup") == markup:
        raise bad_request(_NOT_MODIFIED)
    _apply_edit(chat, message, {}, markup)
    return _edit_answer(call, message)


@method("deleteMessage")
async def delete_message(call: Call) -> Any:
    """Delete a message: the bot's own anywhere, others' in private chats or where the bot is admin."""
    chat = _chat(call, sending=False)
    message_id = call.integer("message_id")
    message = chat.live_message(message_id) if message_id else None
    if message is None:
        raise bad_request("message to delete not found")
    if (
        message.sender_id != call.bot.id
        and chat.user is None
        and chat.bots.get(call.bot.id) != "administrator"
    ):
        raise bad_request("message can't be deleted")
    message.deleted = True
    chat.touch(message.message_id)
    return True


@method("answerCallbackQuery")
async def answer_callback_query(call: Call) -> Any:
    """Answer a pressed button once; the text is shown to the user as a toast or an alert."""
    query_id = call.text("callback_query_id")
    if not query_id:
        raise bad_request("callback_query_id is empty")
    record = call.state.callbacks.get(query_id)
    if record is None or record.answered or record.bot_id != call.bot.id:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = call.text("text")
    if text and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    record.answered = True
    record.text = text or None
    record.show_alert = call.flag("show_alert")
    record.url = call.text("url") or None
    record.answered_signal.fire()
    chat = call.state.chat_by_key(record.chat_key)
    if chat is not None:
        chat.touch(0)
    return True


# ------------------------------------------------------------------------------------------- files


def _upload(call: Call, name: str, kind: str) -> StoredFile:
    """The file of parameter ``name``: a fresh multipart upload, or a file_id sent before."""
    part = call.files.get(name)
    if part is None:
        value = call.text(name)
        if value and value.startswith("attach://"):
            part = call.files.get(value[len("attach://") :])
        if part is None:
            if not value:
                raise bad_request(f"there is no {kind} in the request")
            stored = call.state.find_file(value)
            if stored is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            if stored.kind != kind:
                raise bad_request(f"can't use file of type {stored.kind.capitalize()} as {kind.capitalize()}")
            return stored
    return store_upload(call.state, part, kind)


def store_upload(state: EmulatorState, part: FilePart, kind: str) -> StoredFile:
    """Check an upload against the platform's limits and keep it."""
    if kind == "photo":
        if len(part.data) > MAX_PHOTO:
            raise bad_request("file is too big")
        size = image_size(part.data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        return state.store_file(
            part.data, "photo", file_name=part.filename, mime_type="image/jpeg", width=size[0], height=size[1]
        )
    if len(part.data) > MAX_UPLOAD:
        raise ApiError(413, "Request Entity Too Large")
    if not part.data:
        raise bad_request("file must be non-empty")
    mime = guess_mime(part.filename, part.content_type, part.data)
    return state.store_file(part.data, "document", file_name=part.filename or "document", mime_type=mime)


@method("sendPhoto", sends=True)
async def send_photo(call: Call) -> Any:
    """Send a photo (upload or file_id)."""
    chat = _chat(call, sending=True)
    stored = _upload(call, "photo", "photo")
    content: dict[str, Any] = {"photo": stored.photo_sizes()}
    mode = _caption(call, content)
    return _deliver(call, chat, content, parse_mode=mode, file_ids=(stored.file_id,)).api()


@method("sendDocument", sends=True)
async def send_document(call: Call) -> Any:
    """Send a document (upload or file_id)."""
    chat = _chat(call, sending=True)
    stored = _upload(call, "document", "document")
    content: dict[str, Any] = {"document": stored.document()}
    mode = _caption(call, content)
    return _deliver(call, chat, content, parse_mode=mode, file_ids=(stored.file_id,)).api()


@method("sendMediaGroup", sends=True)
async def send_media_group(call: Call) -> Any:
    """Send 2-10 photos or documents as an album: one message each, sharing a media_group_id."""
    chat = _chat(call, sending=True)
    media = call.json("media", "can't parse media JSON object")
    if not isinstance(media, list):
        raise bad_request("can't parse media JSON object")
    if not 2 <= len(media) <= 10:
        raise bad_request("wrong number of media items")
    kinds = {item.get("type") for item in media if isinstance(item, dict)}
    if not kinds <= {"photo", "document"} or len(kinds) != 1 or not all(isinstance(i, dict) for i in media):
        raise bad_request("unsupported media group: only photos or only documents")
    group_id = str(call.state.new_id())
    stored_items: list[tuple[StoredFile, dict[str, Any]]] = []
    for item in media:
        kind = str(item["type"])
        sub = Call(
            call.state,
            call.bot,
            call.method,
            {kind: item.get("media"), "caption": item.get("caption"), "parse_mode": item.get("parse_mode")},
            call.files,
        )
        stored = _upload(sub, kind, kind)
        content: dict[str, Any] = {"media_group_id": group_id}
        content["photo" if kind == "photo" else "document"] = (
            stored.photo_sizes() if kind == "photo" else stored.document()
        )
        _caption(sub, content)
        stored_items.append((stored, content))
    results = []
    for stored, content in stored_items:
        results.append(_deliver(call, chat, content, file_ids=(stored.file_id,)).api())
    return results


@method("getFile")
async def get_file(call: Call) -> Any:
    """Where to download a file from; files over 20 MB cannot be downloaded by bots."""
    file_id = call.text("file_id")
    if not file_id:
        raise bad_request("file_id is empty")
    stored = call.state.find_file(file_id)
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.size > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return {
        "file_id": file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "file_path": stored.file_path,
    }


_COPIED_KEYS = (
    "text",
    "entities",
    "photo",
    "document",
    "sticker",
    "caption",
    "caption_entities",
    "contact",
    "location",
    "poll",
)


def _source(call: Call, missing: str) -> Message:
    source_chat = _chat(call, sending=False, name="from_chat_id")
    message_id = call.integer("message_id")
    message = source_chat.live_message(message_id) if message_id else None
    if message is None:
        raise bad_request(missing)
    return message


@method("forwardMessage", sends=True)
async def forward_message(call: Call) -> Any:
    """Forward a message, with its origin."""
    chat = _chat(call, sending=True)
    source = _source(call, "message to forward not found")
    content = {k: source.raw[k] for k in _COPIED_KEYS if k in source.raw}
    sender = source.raw.get("from") or {}
    content["forward_from"] = sender
    content["forward_date"] = source.raw["date"]
    if call.bot.dialect.name == "telegram":
        content["forward_origin"] = {"type": "user", "sender_user": sender, "date": source.raw["date"]}
    _admit(call, chat)
    message = chat.add_message(
        {"from": call.bot.sender(), **content}, outgoing=True, sender_id=call.bot.id, file_ids=source.file_ids
    )
    return message.api()


@method("copyMessage", sends=True)
async def copy_message(call: Call) -> Any:
    """Copy a message without a link to the original; answers its MessageId."""
    chat = _chat(call, sending=True)
    source = _source(call, "message to copy not found")
    content = {k: source.raw[k] for k in _COPIED_KEYS if k in source.raw}
    if call.has("caption") and ("photo" in content or "document" in content):
        content.pop("caption_entities", None)
        _caption(call, content)
    message = _deliver(call, chat, content, file_ids=source.file_ids)
    return {"message_id": message.message_id}


_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}


@method("sendChatAction")
async def send_chat_action(call: Call) -> Any:
    """Show "typing..." (or another action) in the chat for 5 seconds."""
    chat = _chat(call, sending=True)
    if call.text("action") not in _ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat.typing_until = time.time() + 5
    chat.touch(0)
    return True


@method("sendLocation", sends=True)
async def send_location(call: Call) -> Any:
    """Send a point on the map."""
    chat = _chat(call, sending=True)
    latitude, longitude = call.number("latitude"), call.number("longitude")
    if latitude is None or not -90 <= latitude <= 90:
        raise bad_request("wrong latitude")
    if longitude is None or not -180 <= longitude <= 180:
        raise bad_request("wrong longitude")
    return _deliver(call, chat, {"location": {"latitude": latitude, "longitude": longitude}}).api()


@method("sendContact", sends=True)
async def send_contact(call: Call) -> Any:
    """Send a phone contact."""
    chat = _chat(call, sending=True)
    phone, first_name = call.text("phone_number"), call.text("first_name")
    if not phone:
        raise bad_request("phone number is empty")
    if not first_name:
        raise bad_request("first name is empty")
    contact: dict[str, Any] = {"phone_number": phone, "first_name": first_name}
    if call.has("last_name"):
        contact["last_name"] = call.text("last_name")
    return _deliver(call, chat, {"contact": contact}).api()


# -------------------------------------------------------------------------------------------- chats


@method("getChat")
async def get_chat(call: Call) -> Any:
    """Full information on a chat the bot has."""
    chat = _chat(call, sending=False)
    info = chat.to_api()
    if call.bot.dialect.name == "telegram":
        info.update(
            accent_color_id=chat.id % 7 if chat.id > 0 else 0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
    return info


_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
    "can_pin_messages",
)


def _member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "administrator":
        rights = dict.fromkeys(_ADMIN_RIGHTS, True)
        rights["can_promote_members"] = False
        return {
            "status": "administrator",
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            **rights,
        }
    return {"status": status, "user": user}


@method("getChatMember")
async def get_chat_member(call: Call) -> Any:
    """A member's status in a chat (``left`` for a user who is not in it)."""
    chat = _chat(call, sending=False)
    user_id = call.integer("user_id")
    if user_id is None:
        raise bad_request("user not found")
    bot = call.state.bots_by_id.get(user_id)
    if bot is not None and user_id in chat.bots:
        return _member(chat.bots[user_id], bot.sender())
    user = call.state.users.get(user_id)
    if user is None:
        raise bad_request("user not found")
    return _member(chat.members.get(user_id, "left"), user.to_api())


@method("getChatAdministrators")
async def get_chat_administrators(call: Call) -> Any:
    """The creator and the administrators of a group, bots included."""
    chat = _chat(call, sending=False)
    if chat.user is not None:
        raise bad_request("there are no administrators in the private chat")
    admins = [
        _member(s, call.state.users[u].to_api())
        for u, s in chat.members.items()
        if s in ("creator", "administrator") and u in call.state.users
    ]
    for bot_id, status in chat.bots.items():
        if status == "administrator" and bot_id in call.state.bots_by_id:
            admins.append(_member(status, call.state.bots_by_id[bot_id].sender()))
    return admins


@method("getChatMemberCount", "getChatMembersCount")
async def get_chat_member_count(call: Call) -> Any:
    """How many members (people and bots) the chat has."""
    chat = _chat(call, sending=False)
    return sum(1 for status in chat.members.values() if status != "left") + len(chat.bots)


# ------------------------------------------------------------------------------------ telegram only

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)


def _menu_key(call: Call) -> tuple[str, str]:
    """Which command list a call names: its scope (default: ``default``) and language code (default: none)."""
    scope = (
        call.json("scope", "can't parse BotCommandScope") if call.params.get("scope") else {"type": "default"}
    )
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
        raise bad_request("can't parse BotCommandScope")
    language = call.text("language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("LANG_CODE_INVALID")
    return json.dumps(scope, sort_keys=True), language


@method("setMyCommands")
async def set_my_commands(call: Call) -> Any:
    """Keep the bot's command list for a scope and language (Telegram only)."""
    commands = call.json("commands", "can't parse commands JSON object")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    clean = []
    for item in commands:
        if not isinstance(item, dict) or not _COMMAND_RE.match(str(item.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        description = str(item.get("description", ""))
        if not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        clean.append({"command": item["command"], "description": description})
    if len(clean) > 100:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    call.bot.commands[_menu_key(call)] = clean
    return True


@method("getMyCommands")
async def get_my_commands(call: Call) -> Any:
    """The command list last set for the scope and language."""
    return call.bot.commands.get(_menu_key(call), [])


@method("deleteMyCommands")
async def delete_my_commands(call: Call) -> Any:
    """Forget the command list of the scope and language."""
    call.bot.commands.pop(_menu_key(call), None)
    return True


@method("sendPoll", sends=True)
async def send_poll(call: Call) -> Any:
    """Send a poll (Telegram only; Miz uses inline keyboards on both platforms instead)."""
    chat = _chat(call, sending=True)
    question = call.text("question") or ""
    if not question.strip():
        raise bad_request("poll question must be non-empty")
    options = call.json("options", "can't parse options JSON object")
    if not isinstance(options, list):
        raise bad_request("can't parse options JSON object")
    texts = [str(o.get("text", "")) if isinstance(o, dict) else str(o) for o in options]
    if len(texts) < 2:
        raise bad_request("poll must have at least 2 option")
    if len(texts) > 12:
        raise bad_request("poll can't have more than 12 options")
    poll_type = call.text("type") or "regular"
    poll = {
        "id": call.state.new_id(),
        "question": question,
        "options": [{"persistent_id": str(i), "text": t, "voter_count": 0} for i, t in enumerate(texts)],
        "total_voter_count": 0,
        "is_closed": call.flag("is_closed"),
        "is_anonymous": call.flag("is_anonymous") if call.has("is_anonymous") else True,
        "type": poll_type,
        "allows_multiple_answers": call.flag("allows_multiple_answers"),
        "allows_revoting": True,
        "members_only": False,
    }
    return _deliver(call, chat, {"poll": poll}).api()


# ------------------------------------------------------------------------------------------ payments


@method("sendInvoice", sends=True)
async def send_invoice(call: Call) -> Any:
    """Send an invoice; on Bale the ``provider_token`` is the Bale wallet's and amounts are in rials."""
    chat = _chat(call, sending=True)
    title, description = call.text("title") or "", call.text("description") or ""
    payload, currency = call.text("payload") or "", call.text("currency") or ""
    if not 1 <= len(title) <= 32:
        raise bad_request("INVOICE_TITLE_INVALID" if title else "INVOICE_TITLE_EMPTY")
    if not 1 <= len(description) <= 255:
        raise bad_request("INVOICE_DESCRIPTION_INVALID" if description else "INVOICE_DESCRIPTION_EMPTY")
    if not 1 <= len(payload.encode()) <= 128:
        raise bad_request("INVOICE_PAYLOAD_INVALID")
    if not call.text("provider_token") and currency != "XTR":
        raise bad_request("PAYMENT_PROVIDER_INVALID")
    prices = call.json("prices", "can't parse prices JSON object")
    if not isinstance(prices, list) or not prices:
        raise bad_request("can't parse prices JSON object")
    try:
        total = sum(int(p["amount"]) for p in prices)
    except (KeyError, TypeError, ValueError):
        raise bad_request("can't parse prices JSON object") from None
    if total <= 0:
        raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
    invoice = {
        "title": title,
        "description": description,
        "start_parameter": call.text("start_parameter") or "",
        "currency": currency,
        "total_amount": total,
    }
    message = _deliver(call, chat, {"invoice": invoice})
    call.state.invoices.append(
        {
            "bot_id": call.bot.id,
            "chat_id": chat.id,
            "message_id": message.message_id,
            "payload": payload,
            **invoice,
        }
    )
    message.raw["_payload"] = payload
    return message.api()


PRE_CHECKOUT_WINDOW = 10.0


@method("answerPreCheckoutQuery")
async def answer_pre_checkout_query(call: Call) -> Any:
    """Confirm or refuse a payment; a confirmed one becomes a ``successful_payment`` message."""
    from emulator.people import complete_payment  # the user side of the payment

    query_id = call.text("pre_checkout_query_id") or ""
    query = call.state.pre_checkouts.get(query_id)
    if query is None or query.bot_id != call.bot.id:
        raise bad_request("QUERY_ID_INVALID")
    if query.answered or time.monotonic() - query.date > PRE_CHECKOUT_WINDOW:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    ok = call.flag("ok")
    if not ok and not call.text("error_message"):
        raise bad_request("ERROR_MESSAGE_EMPTY")
    query.answered = True
    query.ok = ok
    query.error_message = None if ok else call.text("error_message")
    complete_payment(call.state, call.bot, query)
    return True


@method("inquireTransaction")
async def inquire_transaction(call: Call) -> Any:
    """Bale: the state of a wallet payment by its transaction id."""
    transaction_id = call.text("transaction_id") or ""
    for payment in call.state.payments:
        if payment["transaction_id"] == transaction_id and payment["bot_id"] == call.bot.id:
            return {
                "id": transaction_id,
                "status": "succeed",
                "userID": payment["user_id"],
                "amount": payment["total_amount"],
                "createdAt": payment["date"],
            }
    raise bad_request("transaction not found")


@method("askReview")
async def ask_review(call: Call) -> Any:
    """Bale: ask a user to rate the bot (recorded for the tests)."""
    user_id = call.integer("user_id")
    if user_id is None or user_id not in call.state.users:
        raise bad_request("user not found")
    delay = call.integer("delay_seconds") or 0
    call.bot.reviews.append({"user_id": user_id, "delay_seconds": delay, "date": int(time.time())})
    return True
