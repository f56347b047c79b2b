"""The control API (``/sim/...``): set the world up, act as people, read chats, inject faults.

The contract is written down in CONTROL_API.md; the test client and the web chat page rely on it.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

from aiohttp import BodyPartReader, web

from emulator.errors import ApiError
from emulator.files import MAX_PHOTO, image_size, plain_webp
from emulator.methods import FilePart, store_upload
from emulator.people import ActionError, own_contact, press_button, send_as_user, start_payment, user_edits
from emulator.state import BotAccount, Chat, EmulatorState, User, mobile_key

__all__ = ["setup_control"]

_CONTROL_STATE: web.AppKey[EmulatorState] = web.AppKey("emulator_control_state", EmulatorState)
MAX_WAIT = 60.0
SSE_PING = 15.0


def _ok(payload: Any) -> web.Response:
    return web.Response(text=json.dumps(payload, ensure_ascii=False), content_type="application/json")


_ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
}


def _http(status: int, reason: str) -> web.HTTPException:
    """A control API error: ``{"error": reason}`` with the status."""
    return _ERRORS.get(status, web.HTTPBadRequest)(
        text=json.dumps({"error": reason}, ensure_ascii=False), content_type="application/json"
    )


def _state(request: web.Request) -> EmulatorState:
    return request.app[_CONTROL_STATE]


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise _http(400, "body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _http(400, "body must be a JSON object")
    return body


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _http(400, f"{name} must be an integer") from None


def _float(value: Any, name: str, default: float, maximum: float) -> float:
    if value is None or value == "":
        return default
    try:
        return max(0.0, min(float(value), maximum))
    except (TypeError, ValueError):
        raise _http(400, f"{name} must be a number") from None


def _bot(request: web.Request) -> BotAccount:
    bot = _state(request).bots.get(request.match_info["token"])
    if bot is None:
        raise _http(404, "unknown bot token")
    return bot


def _user(state: EmulatorState, user_id: Any) -> User:
    user = state.users.get(_int(user_id, "user_id"))
    if user is None:
        raise _http(404, f"unknown user {user_id}")
    return user


def _chat(request: web.Request) -> tuple[BotAccount, Chat]:
    state = _state(request)
    bot = _bot(request)
    chat_id = _int(request.match_info["chat_id"], "chat_id")
    if chat_id > 0:
        return bot, state.private_chat(bot, _user(state, chat_id))
    chat = state.groups.get(chat_id)
    if chat is None or bot.id not in chat.bots:
        raise _http(404, f"bot has no chat {chat_id}")
    return bot, chat


def _actor(state: EmulatorState, chat: Chat, body: dict[str, Any]) -> User:
    if body.get("user_id") is None:
        if chat.user is None:
            raise _http(400, "user_id is required in a group")
        return chat.user
    user = _user(state, body["user_id"])
    if chat.user is not None and user.id != chat.user.id:
        raise _http(403, f"user {user.id} is not in private chat {chat.id}")
    return user


# ----------------------------------------------------------------------------------------- world


async def reset(request: web.Request) -> web.Response:
    """Forget everything but the bots."""
    _state(request).reset()
    return _ok({"ok": True})


async def create_bot(request: web.Request) -> web.Response:
    """Create or reconfigure a bot."""
    body = await _body(request)
    if not body.get("token"):
        raise _http(400, "token is required")
    try:
        bot = _state(request).add_bot(
            str(body["token"]),
            body.get("dialect", "telegram"),
            username=body.get("username"),
            first_name=body.get("first_name"),
            options=body.get("options"),
        )
    except ValueError as exc:
        raise _http(400, str(exc)) from None
    return _ok(bot.to_sim())


async def list_bots(request: web.Request) -> web.Response:
    """Every bot."""
    return _ok({"bots": [bot.to_sim() for bot in _state(request).bots.values()]})


async def get_bot(request: web.Request) -> web.Response:
    """One bot."""
    return _ok(_bot(request).to_sim())


async def patch_bot(request: web.Request) -> web.Response:
    """Change some options of a bot."""
    bot = _bot(request)
    body = await _body(request)
    try:
        _state(request).configure_bot(bot, dict(body.get("options") or {}))
    except ValueError as exc:
        raise _http(400, str(exc)) from None
    return _ok(bot.to_sim())


async def create_user(request: web.Request) -> web.Response:
    """Create a person."""
    body = await _body(request)
    if not body.get("first_name"):
        raise _http(400, "first_name is required")
    state = _state(request)
    user_id = body.get("id")
    if user_id is not None and _int(user_id, "id") in state.users:
        raise _http(409, f"user {user_id} exists")
    user = state.add_user(
        str(body["first_name"]),
        last_name=body.get("last_name"),
        username=body.get("username"),
        language_code=body.get("language_code", "fa"),
        phone_number=body.get("phone_number"),
        user_id=_int(user_id, "id") if user_id is not None else None,
    )
    return _ok(user.to_sim())


async def list_users(request: web.Request) -> web.Response:
    """Every person, with where each one is known: the groups they belong to (with each group's messengers)
    and the messengers whose bot they have a private chat with (the web page's person picker reads both)."""
    state = _state(request)
    return _ok(
        {"users": [{**user.to_sim(), **_whereabouts(state, user.id)} for user in state.users.values()]}
    )


def _whereabouts(state: EmulatorState, user_id: int) -> dict[str, Any]:
    """``groups``: ``[{"id", "title", "dialects"}]`` of the user's groups (left ones excluded); ``private``: the
    dialects of the bots the user has written to, or been written to by, in private."""
    groups: list[dict[str, Any]] = []
    private: set[str] = set()
    for chat in state.user_chats(user_id):
        dialects = sorted({state.bots_by_id[b].dialect.name for b in chat.bots if b in state.bots_by_id})
        if chat.user is not None:
            if chat.messages:
                private.update(dialects)
        elif chat.members.get(user_id, "left") not in ("left", "kicked"):
            groups.append({"id": chat.id, "title": chat.title, "dialects": dialects})
    return {"groups": groups, "private": sorted(private)}


async def get_user(request: web.Request) -> web.Response:
    """One person."""
    return _ok(_user(_state(request), request.match_info["user_id"]).to_sim())


async def create_group(request: web.Request) -> web.Response:
    """Create a group with members, admins and the bot(s)."""
    state = _state(request)
    body = await _body(request)
    tokens = list(body.get("bots") or []) or [body.get("bot_token")]
    bots = [state.bots.get(str(token)) for token in tokens if token]
    if not bots or any(bot is None for bot in bots):
        raise _http(404, "unknown bot token")
    members = [_user(state, u).id for u in body.get("members", [])]
    admins = [_user(state, u).id for u in body.get("admins", [])]
    try:
        chat = state.add_group(
            [bot for bot in bots if bot is not None],
            str(body.get("title") or "group"),
            members,
            admins,
            bot_is_admin=bool(body.get("bot_is_admin", True)),
        )
    except ValueError as exc:
        raise _http(400, str(exc)) from None
    return _ok(chat.sim_summary())


async def add_member(request: web.Request) -> web.Response:
    """Add a person to a group (as admin when asked)."""
    state = _state(request)
    chat = state.groups.get(_int(request.match_info["chat_id"], "chat_id"))
    if chat is None:
        raise _http(404, "unknown group")
    body = await _body(request)
    user = _user(state, body.get("user_id"))
    chat.members[user.id] = "administrator" if body.get("admin") else "member"
    state.chats_of_user.setdefault(user.id, set()).add(chat.key)
    chat.touch(0)
    return _ok(chat.sim_summary())


async def list_chats(request: web.Request) -> web.Response:
    """The chats of one person (``user_id``), optionally with one bot only."""
    state = _state(request)
    user = _user(state, request.query.get("user_id"))
    only = request.query.get("bot_token")
    rows = []
    for chat in state.user_chats(user.id):
        bots = [state.bots_by_id[b] for b in chat.bots if b in state.bots_by_id]
        for bot in bots:
            if only and bot.token != only:
                continue
            if chat.user is not None and not chat.messages:
                continue
            last = next(
                (m for i in sorted(chat.messages, reverse=True) if not (m := chat.messages[i]).deleted), None
            )
            rows.append(
                {
                    "bot_token": bot.token,
                    "bot_username": bot.username,
                    "dialect": bot.dialect.name,
                    "chat": chat.sim_summary(),
                    "last_message": last.view() if last else None,
                    "version": chat.version,
                }
            )
    return _ok({"chats": rows})


# -------------------------------------------------------------------------------------- acting


def _decode_file(spec: Any, kind: str) -> FilePart:
    if not isinstance(spec, dict) or "base64" not in spec:
        raise _http(400, f"{kind} must be an object with base64")
    try:
        data = base64.b64decode(spec["base64"], validate=True)
    except (binascii.Error, ValueError):
        raise _http(400, f"{kind}.base64 is not valid base64") from None
    return FilePart(spec.get("filename"), spec.get("mime_type"), data)


def _sticker(state: EmulatorState, bot: BotAccount, spec: Any) -> dict[str, Any]:
    """The Sticker object of a sticker a person sends: ``true`` or ``{"emoji"?, "base64"?}`` (a WebP image)."""
    if spec is True or spec == "true":
        spec = {}
    if not isinstance(spec, dict):
        raise _http(400, "sticker must be true or an object")
    data = _decode_file(spec, "sticker").data if "base64" in spec else plain_webp(512, 512)
    size = image_size(data) if data[:4] == b"RIFF" and data[8:12] == b"WEBP" else None
    if size is None or len(data) > MAX_PHOTO:
        raise _http(400, "sticker.base64 must be a WebP image")
    stored = state.store_file(data, "sticker", mime_type="image/webp", width=size[0], height=size[1])
    emoji = str(spec.get("emoji") or "👍")
    return stored.sticker(emoji, telegram=bot.dialect.name == "telegram")


async def _message_body(request: web.Request) -> tuple[dict[str, Any], dict[str, FilePart]]:
    if request.content_type == "multipart/form-data":
        fields: dict[str, Any] = {}
        files: dict[str, FilePart] = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                files[part.name] = FilePart(
                    part.filename, part.headers.get("Content-Type"), bytes(await part.read())
                )
            else:
                fields[part.name] = await part.text()
        return fields, files
    return await _body(request), {}


async def post_message(request: web.Request) -> web.Response:
    """A person sends text, a contact, a location, a photo, a document or a sticker."""
    state = _state(request)
    bot, chat = _chat(request)
    body, files = await _message_body(request)
    user = _actor(state, chat, body)
    content: dict[str, Any] = {}
    try:
        for kind in ("photo", "document"):
            part = files.get(kind) or (_decode_file(body[kind], kind) if body.get(kind) else None)
            if part is None:
                continue
            stored = store_upload(state, part, kind)
            content[kind] = stored.photo_sizes() if kind == "photo" else stored.document()
    except ApiError as error:
        raise _http(400, error.description) from None
    if content and body.get("caption"):
        content["caption"] = str(body["caption"])
    if body.get("sticker"):
        content["sticker"] = _sticker(state, bot, body["sticker"])
    if body.get("contact"):
        spec = body["contact"]
        if spec is True or spec == "true":
            content["contact"] = own_contact(user)
        elif isinstance(spec, dict) and spec.get("phone_number") and spec.get("first_name"):
            content["contact"] = {
                k: spec[k] for k in ("phone_number", "first_name", "last_name", "user_id") if spec.get(k)
            }
        else:
            raise _http(400, "contact must be true or have phone_number and first_name")
    if body.get("location"):
        spec = body["location"]
        if not isinstance(spec, dict):
            raise _http(400, "location must be an object")
        content["location"] = {
            "latitude": _float(spec.get("latitude"), "latitude", 0, 90),
            "longitude": _float(spec.get("longitude"), "longitude", 0, 180),
        }
    if body.get("text") not in (None, "") and not content:
        content["text"] = str(body["text"])
    if not content:
        raise _http(400, "nothing to send: give text, contact, location, photo, document or sticker")
    reply_to = body.get("reply_to_message_id")
    try:
        message, update_id = send_as_user(
            state, chat, user, content, _int(reply_to, "reply_to_message_id") if reply_to else None
        )
    except ActionError as error:
        raise _http(error.status, error.reason) from None
    return _ok({"message": message.view(), "update_id": update_id, "version": chat.version})


async def post_album(request: web.Request) -> web.Response:
    """A person sends 2-10 photos, or 2-10 documents, at once: an album, one message (and one update) each,
    sharing a ``media_group_id``, the caption on the first, as both platforms' apps send it."""
    state = _state(request)
    _, chat = _chat(request)
    body = await _body(request)
    user = _actor(state, chat, body)
    kind = str(body.get("kind") or "photo")
    items = body.get("files")
    if kind not in ("photo", "document") or not isinstance(items, list) or not 2 <= len(items) <= 10:
        raise _http(400, "an album is 2-10 files: kind photo or document, files [{base64, filename?}, ...]")
    try:
        stored = [store_upload(state, _decode_file(item, kind), kind) for item in items]
    except ApiError as error:
        raise _http(400, error.description) from None
    group_id = state.new_id()
    reply_to = body.get("reply_to_message_id")
    messages = []
    for n, file in enumerate(stored):
        content: dict[str, Any] = {
            "media_group_id": group_id,
            kind: file.photo_sizes() if kind == "photo" else file.document(),
        }
        if n == 0 and body.get("caption"):
            content["caption"] = str(body["caption"])
        try:
            message, _ = send_as_user(
                state, chat, user, content, _int(reply_to, "reply_to_message_id") if reply_to else None
            )
        except ActionError as error:
            raise _http(error.status, error.reason) from None
        messages.append(message.view())
    return _ok({"messages": messages, "version": chat.version})


async def edit_message(request: web.Request) -> web.Response:
    """A person edits their own text message."""
    state = _state(request)
    _, chat = _chat(request)
    body = await _body(request)
    user = _actor(state, chat, body)
    if not body.get("text"):
        raise _http(400, "text is required")
    try:
        message, update_id = user_edits(
            state, chat, user, _int(body.get("message_id"), "message_id"), str(body["text"])
        )
    except ActionError as error:
        raise _http(error.status, error.reason) from None
    return _ok({"message": message.view(), "update_id": update_id, "version": chat.version})


async def press(request: web.Request) -> web.Response:
    """A person presses a button (inline, or else on the reply keyboard)."""
    state = _state(request)
    bot, chat = _chat(request)
    body = await _body(request)
    user = _actor(state, chat, body)
    if body.get("text") is None and body.get("callback_data") is None:
        raise _http(400, "give the button's text or callback_data")
    message_id = body.get("message_id")
    try:
        result = press_button(
            state,
            bot,
            chat,
            user,
            text=body.get("text"),
            callback_data=body.get("callback_data"),
            message_id=_int(message_id, "message_id") if message_id else None,
            location=body.get("location"),
            forged=body.get("forged") is True,
        )
    except ActionError as error:
        raise _http(error.status, error.reason) from None
    result["version"] = chat.version
    wait = _float(body.get("wait_answer"), "wait_answer", 0, MAX_WAIT)
    if result["kind"] == "callback":
        record = state.callbacks[result["callback_query_id"]]
        deadline = time.monotonic() + wait
        while not record.answered and (remaining := deadline - time.monotonic()) > 0:
            await record.answered_signal.wait(remaining)
        if record.answered:
            result["answer"] = {"text": record.text, "show_alert": record.show_alert, "url": record.url}
    return _ok(result)


async def get_callback(request: web.Request) -> web.Response:
    """The bot's answer to a pressed button."""
    _chat(request)
    record = _state(request).callbacks.get(request.match_info["query_id"])
    if record is None:
        raise _http(404, "unknown callback query")
    return _ok(record.to_sim())


async def pay(request: web.Request) -> web.Response:
    """A person pays an invoice: a pre-checkout query for the bot."""
    state = _state(request)
    bot, chat = _chat(request)
    body = await _body(request)
    user = _actor(state, chat, body)
    try:
        result = start_payment(state, bot, chat, user, _int(body.get("message_id"), "message_id"))
    except ActionError as error:
        raise _http(error.status, error.reason) from None
    return _ok({**result, "version": chat.version})


async def block(request: web.Request) -> web.Response:
    """A person blocks the bot: its sends to them fail with 403."""
    _, chat = _chat(request)
    if chat.user is None:
        raise _http(400, "only a private chat can be blocked")
    chat.blocked = request.match_info["action"] == "block"
    chat.touch(0)
    return _ok({"ok": True, "blocked": chat.blocked})


# ------------------------------------------------------------------------------------- reading


def _changes(chat: Chat, since: int) -> dict[str, Any]:
    return {
        "version": chat.version,
        "messages": [m.view() for m in chat.changed_since(since)],
        "callbacks": [c.to_sim() for c in chat.callbacks[-20:]],
        "typing": chat.typing_until > time.time(),
    }


async def transcript(request: web.Request) -> web.Response:
    """A chat's messages, oldest first."""
    _, chat = _chat(request)
    after = _int(request.query.get("after", 0), "after")
    limit = max(1, _int(request.query.get("limit", 100), "limit"))
    ids = [i for i in sorted(chat.messages) if i > after]
    messages = [chat.messages[i].view() for i in ids[-limit:]]
    return _ok(
        {
            "chat": chat.sim_summary(),
            "messages": messages,
            "callbacks": [c.to_sim() for c in chat.callbacks],
            "typing": chat.typing_until > time.time(),
            "version": chat.version,
        }
    )


async def wait_message(request: web.Request) -> web.Response:
    """Long poll for the next message (from the bot, by default) after a message id."""
    bot, chat = _chat(request)
    after = _int(request.query.get("after", chat.next_message_id - 1), "after")
    timeout = _float(request.query.get("timeout"), "timeout", 10, MAX_WAIT)
    only_bot = request.query.get("from", "bot") == "bot"
    deadline = time.monotonic() + timeout
    while True:
        for message_id in range(after + 1, chat.next_message_id):
            message = chat.messages.get(message_id)
            if message is None or message.deleted:
                continue
            if not only_bot or message.sender_id == bot.id:
                return _ok({"message": message.view()})
        after = max(after, chat.next_message_id - 1) if only_bot else after
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _ok({"message": None})
        await chat.signal.wait(remaining)


async def changes(request: web.Request) -> web.Response:
    """Long poll for anything new in a chat since a version."""
    _, chat = _chat(request)
    since = _int(request.query.get("since", 0), "since")
    timeout = _float(request.query.get("timeout"), "timeout", 25, MAX_WAIT)
    deadline = time.monotonic() + timeout
    while chat.version <= since and (remaining := deadline - time.monotonic()) > 0:
        await chat.signal.wait(remaining)
    return _ok(_changes(chat, since))


async def events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events: one ``change`` event per change of the chat."""
    _, chat = _chat(request)
    since = _int(request.query.get("since", 0), "since")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    try:
        while True:
            if chat.version > since:
                payload = _changes(chat, since)
                since = payload["version"]
                await response.write(
                    f"event: change\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()
                )
                continue
            if not await chat.signal.wait(SSE_PING):
                await response.write(b": ping\n\n")
    except (ConnectionResetError, RuntimeError):
        pass
    return response


async def file_bytes(request: web.Request) -> web.StreamResponse:
    """A stored file's bytes (for the web page's images and links)."""
    _bot(request)
    stored = _state(request).find_file(request.match_info["file_id"])
    if stored is None:
        raise _http(404, "unknown file")
    return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")


async def pending_updates(request: web.Request) -> web.Response:
    """What getUpdates would return now (nothing is confirmed)."""
    bot = _bot(request)
    hook = bot.webhook
    webhook = None if hook is None else {"url": hook.url, "last_error_message": hook.last_error_message}
    return _ok({"pending": [update for _, update in bot.updates], "webhook": webhook})


async def commands(request: web.Request) -> web.Response:
    """The bot's command lists: the default one, and every list by scope and language."""
    menus = _bot(request).commands
    return _ok(
        {
            "commands": menus.get((json.dumps({"type": "default"}), ""), []),
            "menus": [
                {"scope": json.loads(scope), "language_code": language, "commands": listed}
                for (scope, language), listed in sorted(menus.items())
            ],
        }
    )


async def payments(request: web.Request) -> web.Response:
    """The bot's invoices and completed payments."""
    bot = _bot(request)
    state = _state(request)
    return _ok(
        {
            "invoices": [i for i in state.invoices if i["bot_id"] == bot.id],
            "payments": [p for p in state.payments if p["bot_id"] == bot.id],
        }
    )


async def reviews(request: web.Request) -> web.Response:
    """The bot's askReview calls."""
    return _ok({"reviews": _bot(request).reviews})


async def refused(request: web.Request) -> web.Response:
    """The bot's calls the Bot API refused (a broken markup, a message too long...), oldest first."""
    return _ok({"refused": _bot(request).refused})


async def add_fault(request: web.Request) -> web.Response:
    """Schedule failures of the bot's next calls."""
    bot = _bot(request)
    body = await _body(request)
    try:
        fault = _state(request).add_fault(
            bot,
            str(body.get("method") or "*"),
            str(body.get("kind") or ""),
            count=_int(body.get("count", 1), "count"),
            retry_after=_int(body.get("retry_after", 3), "retry_after"),
            delay=float(body["delay"]) if body.get("delay") is not None else None,
        )
    except ValueError as exc:
        raise _http(400, str(exc)) from None
    return _ok(fault.to_sim())


async def list_faults(request: web.Request) -> web.Response:
    """The failures still scheduled."""
    return _ok({"faults": [fault.to_sim() for fault in _bot(request).faults]})


async def clear_faults(request: web.Request) -> web.Response:
    """Cancel every scheduled failure."""
    _bot(request).faults.clear()
    return _ok({"ok": True})


async def record_sms(request: web.Request) -> web.Response:
    """Keep an SMS the bot's SMS provider sent (the emulator plays the SMS gateway's inbox)."""
    body = await _body(request)
    if not body.get("to") or not body.get("text"):
        raise _http(400, "to and text are required")
    sms = _state(request).add_sms(str(body["to"]), str(body["text"]), str(body.get("provider") or "emulator"))
    return _ok(sms)


async def list_sms(request: web.Request) -> web.Response:
    """The SMS received, newest last; ``to`` filters by phone number, ``after`` by id (long poll with ``timeout``)."""
    state = _state(request)
    to = request.query.get("to")
    wanted = mobile_key(to) if to else None
    after = _int(request.query.get("after", 0), "after")
    timeout = _float(request.query.get("timeout"), "timeout", 0, MAX_WAIT)
    deadline = time.monotonic() + timeout

    def matching() -> list[dict[str, Any]]:
        return [m for m in state.sms[after:] if wanted is None or mobile_key(m["to"]) == wanted]

    while not matching() and (remaining := deadline - time.monotonic()) > 0:
        await state.sms_signal.wait(remaining)
    return _ok({"messages": matching()})


async def add_sms_fault(request: web.Request) -> web.Response:
    """Schedule failures of the emulated SMS gateways' next calls."""
    body = await _body(request)
    status = body.get("status")
    try:
        fault = _state(request).add_sms_fault(
            str(body.get("provider") or "*"),
            str(body.get("kind") or ""),
            count=_int(body.get("count", body.get("times", 1)), "count"),
            status=_int(status, "status") if status is not None else None,
            delay=_float(body.get("delay"), "delay", 0, MAX_WAIT) if body.get("delay") is not None else None,
        )
    except ValueError as exc:
        raise _http(400, str(exc)) from None
    return _ok(fault.to_sim())


async def list_sms_faults(request: web.Request) -> web.Response:
    """The SMS gateway failures still scheduled."""
    return _ok({"faults": [fault.to_sim() for fault in _state(request).sms_gateway.faults]})


async def clear_sms_faults(request: web.Request) -> web.Response:
    """Cancel every scheduled SMS gateway failure."""
    _state(request).sms_gateway.faults.clear()
    return _ok({"ok": True})


async def get_sms_gateway(request: web.Request) -> web.Response:
    """The emulated SMS account: credit, required API key, templates, blacklist."""
    return _ok(_state(request).sms_gateway.to_sim())


async def patch_sms_gateway(request: web.Request) -> web.Response:
    """Change some settings of the emulated SMS account (only the keys given change)."""
    gateway = _state(request).sms_gateway
    body = await _body(request)
    unknown = set(body) - {"credit", "api_key", "templates", "blacklist", "entries_as_object"}
    if unknown:
        raise _http(400, f"unknown settings {sorted(unknown)}")
    if "credit" in body:
        gateway.credit = None if body["credit"] is None else max(0, _int(body["credit"], "credit"))
    if "api_key" in body:
        gateway.api_key = str(body["api_key"]) if body["api_key"] else None
    if "templates" in body:
        templates = body["templates"]
        if templates is not None and not isinstance(templates, list):
            raise _http(400, "templates must be a list or null")
        gateway.templates = None if templates is None else [str(t) for t in templates]
    if "blacklist" in body:
        if not isinstance(body["blacklist"], list):
            raise _http(400, "blacklist must be a list of phone numbers")
        gateway.blacklist = {mobile_key(str(phone)) for phone in body["blacklist"]}
    if "entries_as_object" in body:
        gateway.entries_as_object = bool(body["entries_as_object"])
    return _ok(gateway.to_sim())


def setup_control(app: web.Application, state: EmulatorState) -> None:
    """Add the ``/sim`` routes to ``app``, acting on ``state``."""
    app[_CONTROL_STATE] = state
    chat = "/sim/bots/{token}/chats/{chat_id}"
    app.router.add_post("/sim/reset", reset)
    app.router.add_post("/sim/bots", create_bot)
    app.router.add_get("/sim/bots", list_bots)
    app.router.add_get("/sim/bots/{token}", get_bot)
    app.router.add_patch("/sim/bots/{token}", patch_bot)
    app.router.add_post("/sim/users", create_user)
    app.router.add_get("/sim/users", list_users)
    app.router.add_get("/sim/users/{user_id}", get_user)
    app.router.add_post("/sim/groups", create_group)
    app.router.add_post("/sim/groups/{chat_id}/members", add_member)
    app.router.add_get("/sim/chats", list_chats)
    app.router.add_post("/sim/sms", record_sms)
    app.router.add_get("/sim/sms", list_sms)
    app.router.add_post("/sim/sms/faults", add_sms_fault)
    app.router.add_get("/sim/sms/faults", list_sms_faults)
    app.router.add_delete("/sim/sms/faults", clear_sms_faults)
    app.router.add_get("/sim/sms/gateway", get_sms_gateway)
    app.router.add_patch("/sim/sms/gateway", patch_sms_gateway)
    app.router.add_post(f"{chat}/messages", post_message)
    app.router.add_post(f"{chat}/album", post_album)
    app.router.add_post(f"{chat}/edit", edit_message)
    app.router.add_post(f"{chat}/press", press)
    app.router.add_get(f"{chat}/callbacks/{{query_id}}", get_callback)
    app.router.add_post(f"{chat}/pay", pay)
    app.router.add_post(f"{chat}/{{action:block|unblock}}", block)
    app.router.add_get(f"{chat}/transcript", transcript)
    app.router.add_get(f"{chat}/wait", wait_message)
    app.router.add_get(f"{chat}/changes", changes)
    app.router.add_get(f"{chat}/events", events)
    app.router.add_get("/sim/bots/{token}/files/{file_id}", file_bytes)
    app.router.add_get("/sim/bots/{token}/updates", pending_updates)
    app.router.add_get("/sim/bots/{token}/commands", commands)
    app.router.add_get("/sim/bots/{token}/payments", payments)
    app.router.add_get("/sim/bots/{token}/reviews", reviews)
    app.router.add_get("/sim/bots/{token}/refused", refused)
    app.router.add_post("/sim/bots/{token}/faults", add_fault)
    app.router.add_get("/sim/bots/{token}/faults", list_faults)
    app.router.add_delete("/sim/bots/{token}/faults", clear_faults)
