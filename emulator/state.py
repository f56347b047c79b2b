"""The emulator's world in memory: bots, users, chats, messages, files, pending updates, payments.

Everything is addressed through dictionaries, and every waiter (a long-polling bot, a test waiting for the
bot's answer, a browser page) sleeps on a :class:`Signal` that is fired on change, so the cost of an update
does not grow with the number of chats, messages or waiters elsewhere.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emulator.dialects import DIALECTS, Dialect, DialectName
from emulator.limits import FloodControl

__all__ = [
    "BotAccount",
    "CallbackRecord",
    "Chat",
    "EmulatorState",
    "Fault",
    "Message",
    "PreCheckout",
    "Signal",
    "SmsFault",
    "SmsGateway",
    "StoredFile",
    "User",
    "Webhook",
    "mobile_key",
]

FAULT_KINDS = frozenset({"429", "500", "502", "timeout", "drop", "delay"})
SMS_PROVIDERS = frozenset({"kavenegar", "smsir"})
SMS_FAULT_KINDS = frozenset({"status", "http", "timeout", "drop", "delay"})
_IRANIAN_MOBILE = re.compile(r"(?:\+98|0098|98|0)?(9\d{9})", re.ASCII)


def mobile_key(phone: str) -> str:
    """An Iranian mobile number in the international form the emulated users have ('+989121234567').

    '09121234567', '989121234567' and '+989121234567' are one phone; anything else is returned stripped.
    """
    value = phone.strip().replace(" ", "").replace("-", "")
    match = _IRANIAN_MOBILE.fullmatch(value)
    return f"+98{match.group(1)}" if match else value


class Signal:
    """A broadcast wake-up: every coroutine waiting when :meth:`fire` is called wakes once."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        """Wake every current waiter."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> bool:
        """Sleep until the next :meth:`fire` or ``seconds``; True when fired."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            return False
        return True


@dataclass
class User:
    """A person on the platform (never a bot)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "fa"
    phone_number: str | None = None

    def to_api(self) -> dict[str, Any]:
        """The Bot API ``User`` object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def to_sim(self) -> dict[str, Any]:
        """The control API's view, with the phone number the platform knows."""
        return {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
            "phone_number": self.phone_number,
        }


@dataclass
class Webhook:
    """A bot's webhook subscription and its delivery record."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    task: asyncio.Task[None] | None = None


@dataclass
class Fault:
    """A scheduled failure of the next ``count`` calls of ``method`` (lower-cased, ``*`` for any)."""

    id: int
    method: str
    kind: str
    count: int
    retry_after: int = 3
    delay: float | None = None

    def to_sim(self) -> dict[str, Any]:
        """The control API's view."""
        return {
            "fault_id": self.id,
            "method": self.method,
            "kind": self.kind,
            "count": self.count,
            "retry_after": self.retry_after,
            "delay": self.delay,
        }


@dataclass
class SmsFault:
    """A scheduled failure of the next ``count`` calls to an emulated SMS gateway (``*``: either one)."""

    id: int
    provider: str
    kind: str
    count: int
    status: int | None = None
    delay: float | None = None

    def to_sim(self) -> dict[str, Any]:
        """The control API's view."""
        return {
            "fault_id": self.id,
            "provider": self.provider,
            "kind": self.kind,
            "count": self.count,
            "status": self.status,
            "delay": self.delay,
        }


@dataclass
class SmsGateway:
    """The account both emulated SMS gateways (Kavenegar, SMS.ir) check before they send.

    ``credit`` is in rials (None: unlimited); ``api_key``, when set, is the only key accepted;
    ``templates``, when set, lists the one-time-code templates that exist (else every name or id does);
    ``blacklist`` holds numbers (``mobile_key`` form) whose owners refuse service SMS.
    """

    credit: int | None = None
    api_key: str | None = None
    templates: list[str] | None = None
    blacklist: set[str] = field(default_factory=set)
    entries_as_object: bool = False
    spent: int = 0
    faults: list[SmsFault] = field(default_factory=list)
    message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(810_000_001))

    def to_sim(self) -> dict[str, Any]:
        """The control API's view."""
        return {
            "credit": self.credit,
            "api_key": self.api_key,
            "templates": self.templates,
            "blacklist": sorted(self.blacklist),
            "entries_as_object": self.entries_as_object,
            "spent": self.spent,
        }


@dataclass
class BotAccount:
    """One bot token on one platform, with its pending updates and its options."""

    id: int
    token: str
    dialect: Dialect
    username: str
    first_name: str
    options: dict[str, Any]
    updates: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    updates_signal: Signal = field(default_factory=Signal)
    allowed_updates: list[str] | None = None
    webhook: Webhook | None = None
    commands: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    """The command lists set by setMyCommands, by (scope as canonical JSON, language code or "")."""
    faults: list[Fault] = field(default_factory=list)
    poll_generation: int = 0
    flood: FloodControl = field(default_factory=FloodControl)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    """Calls the Bot API answered with an error of its own (not a scheduled fault): method, code, description."""

    def to_api(self) -> dict[str, Any]:
        """The ``User`` object of the bot, as getMe answers it on this platform."""
        data: dict[str, Any] = {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }
        if self.dialect.name == "telegram":
            data.update(
                can_join_groups=True,
                can_read_all_group_messages=not self.options["privacy_mode"],
                supports_inline_queries=False,
                can_connect_to_business=False,
                has_main_web_app=False,
            )
        return data

    def sender(self) -> dict[str, Any]:
        """The bot as the ``from`` of its messages."""
        return {"id": self.id, "is_bot": True, "first_name": self.first_name, "username": self.username}

    def to_sim(self) -> dict[str, Any]:
        """The control API's view."""
        return {
            "id": self.id,
            "token": self.token,
            "dialect": self.dialect.name,
            "username": self.username,
            "first_name": self.first_name,
            "options": dict(self.options),
        }


@dataclass
class StoredFile:
    """Bytes a user or a bot uploaded, addressed by ``file_id``."""

    file_id: str
    file_unique_id: str
    data: bytes
    kind: str  # "photo" | "document" | "sticker"
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)

    def photo_sizes(self) -> list[dict[str, Any]]:
        """The ``PhotoSize`` list of a photo: a thumbnail and the original, as Telegram sends."""
        full = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": self.size,
        }
        scale = min(1.0, 90 / max(self.width, self.height, 1))
        thumb = {
            "file_id": self.file_id + "-s",
            "file_unique_id": self.file_unique_id + "s",
            "width": max(1, round(self.width * scale)),
            "height": max(1, round(self.height * scale)),
            "file_size": min(self.size, 1500),
        }
        return [thumb, full]

    def document(self) -> dict[str, Any]:
        """The ``Document`` object."""
        data: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data

    def sticker(self, emoji: str | None, *, telegram: bool) -> dict[str, Any]:
        """The ``Sticker`` object of a static sticker.

        Bale's Sticker has only ``file_id``, ``file_unique_id``, ``type``, ``width``, ``height`` (and optional
        ``thumb``, ``set_name``, ``file_size``): no ``is_animated``, ``is_video`` or ``emoji``, which
        Telegram's has (and aiogram requires ``is_animated`` and ``is_video``).
        """
        data: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "type": "regular",
            "width": self.width,
            "height": self.height,
        }
        if telegram:
            data.update(is_animated=False, is_video=False)
            if emoji:
                data["emoji"] = emoji
        data["file_size"] = self.size
        return data


@dataclass
class Message:
    """A message in a chat: the Bot API object plus what only the emulator keeps (edits, deletion)."""

    message_id: int
    raw: dict[str, Any]
    outgoing: bool
    sender_id: int
    parse_mode: str | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    file_ids: tuple[str, ...] = ()
    paid: bool = False
    payment_error: str | None = None

    def view(self) -> dict[str, Any]:
        """The control API's message view (see CONTROL_API.md)."""
        raw = self.raw
        view: dict[str, Any] = {
            "message_id": self.message_id,
            "chat_id": raw["chat"]["id"],
            "from": raw.get("from"),
            "outgoing": self.outgoing,
            "date": raw["date"],
            "deleted": self.deleted,
            "edits": list(self.edits),
            "raw": raw,
        }
        for key in (
            "text",
            "caption",
            "entities",
            "media_group_id",
            "contact",
            "location",
            "poll",
            "edit_date",
        ):
            if key in raw:
                view[key] = raw[key]
        if "caption_entities" in raw:
            view["entities"] = raw["caption_entities"]
        if self.parse_mode:
            view["parse_mode"] = self.parse_mode
        markup = raw.get("reply_markup")
        if markup and "inline_keyboard" in markup:
            view["buttons"] = markup["inline_keyboard"]
        keyboard = raw.get("_reply_keyboard")
        if keyboard is not None:
            if keyboard.get("remove_keyboard"):
                view["remove_keyboard"] = True
            elif "keyboard" in keyboard:
                view["reply_keyboard"] = keyboard
        if "photo" in raw:
            view["photo"] = raw["photo"][-1]
        if "document" in raw:
            view["document"] = raw["document"]
        if "sticker" in raw:
            view["sticker"] = raw["sticker"]
        if "invoice" in raw:
            view["invoice"] = {**raw["invoice"], "paid": self.paid}
            if self.payment_error:
                view["invoice"]["error"] = self.payment_error
        if "successful_payment" in raw:
            view["successful_payment"] = raw["successful_payment"]
        if "reply_to_message" in raw:
            view["reply_to_message_id"] = raw["reply_to_message"]["message_id"]
        for key in ("forward_from", "forward_origin", "forward_date"):
            if key in raw:
                view[key] = raw[key]
        view["raw"] = {k: v for k, v in raw.items() if not k.startswith("_")}
        return view

    def api(self) -> dict[str, Any]:
        """The Bot API ``Message`` object (without the emulator's private keys)."""
        return {k: v for k, v in self.raw.items() if not k.startswith("_")}


@dataclass
class CallbackRecord:
    """A pressed inline button and the bot's answer to it."""

    id: str
    bot_id: int
    chat_id: int
    chat_key: tuple[int, int]
    message_id: int
    user_id: int
    data: str | None
    date: float
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    answered_signal: Signal = field(default_factory=Signal)

    def to_sim(self) -> dict[str, Any]:
        """The control API's view."""
        return {
            "callback_query_id": self.id,
            "message_id": self.message_id,
            "user_id": self.user_id,
            "data": self.data,
            "answered": self.answered,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
        }


@dataclass
class PreCheckout:
    """A payment in progress: the pre-checkout query the bot must answer."""

    id: str
    bot_id: int
    chat_key: tuple[int, int]
    message_id: int
    user_id: int
    currency: str
    total_amount: int
    payload: str
    date: float
    answered: bool = False
    ok: bool | None = None
    error_message: str | None = None


@dataclass
class Chat:
    """A private chat (one bot and one user) or a group, with its messages and change log."""

    id: int
    type: str
    key: tuple[int, int]
    title: str | None = None
    user: User | None = None  # the person of a private chat
    members: dict[int, str] = field(default_factory=dict)  # user id -> creator|administrator|member|left
    bots: dict[int, str] = field(default_factory=dict)  # bot id -> administrator|member
    messages: dict[int, Message] = field(default_factory=dict)
    next_message_id: int = 1
    version: int = 0
    changes: list[tuple[int, int]] = field(default_factory=list)  # (version, message id)
    signal: Signal = field(default_factory=Signal)
    callbacks: list[CallbackRecord] = field(default_factory=list)
    blocked: bool = False
    started: bool = False
    typing_until: float = 0.0
    reply_keyboard: dict[str, Any] | None = None

    def to_api(self) -> dict[str, Any]:
        """The Bot API ``Chat`` object."""
        if self.user is not None:
            data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.user.first_name}
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
            return data
        return {"id": self.id, "type": self.type, "title": self.title}

    def touch(self, message_id: int = 0) -> None:
        """Record a change (of ``message_id``, or of the chat itself) and wake the chat's waiters."""
        self.version += 1
        self.changes.append((self.version, message_id))
        self.signal.fire()

    def changed_since(self, version: int) -> list[Message]:
        """Messages created or changed after ``version``, oldest first, each once."""
        ids: list[int] = []
        seen: set[int] = set()
        for change_version, message_id in reversed(self.changes):
            if change_version <= version:
                break
            if message_id and message_id not in seen:
                seen.add(message_id)
                ids.append(message_id)
        return [self.messages[i] for i in sorted(ids)]

    def add_message(self, raw: dict[str, Any], *, outgoing: bool, sender_id: int, **extra: Any) -> Message:
        """Append a message with the next id; ``raw`` gets ``message_id``, ``date`` and ``chat``."""
        message_id = self.next_message_id
        self.next_message_id += 1
        raw = {"message_id": message_id, **raw, "date": int(time.time()), "chat": self.to_api()}
        message = Message(message_id=message_id, raw=raw, outgoing=outgoing, sender_id=sender_id, **extra)
        self.messages[message_id] = message
        self.typing_until = 0.0 if outgoing else self.typing_until
        self.touch(message_id)
        return message

    def live_message(self, message_id: int) -> Message | None:
        """The message with that id unless it does not exist or was deleted."""
        message = self.messages.get(message_id)
        return None if message is None or message.deleted else message

    def sim_summary(self) -> dict[str, Any]:
        """The control API's short description of the chat."""
        data = self.to_api()
        if self.user is not None:
            data["user_id"] = self.user.id
        else:
            data["members"] = dict(self.members)
        return data


class EmulatorState:
    """All bots, users, chats and files of one emulator, with the operations both APIs share."""

    def __init__(self) -> None:
        self.bots: dict[str, BotAccount] = {}
        self.bots_by_id: dict[int, BotAccount] = {}
        self._update_ids = itertools.count(1)
        self._fault_ids = itertools.count(1)
        self._bot_ids = itertools.count(5_000_000_001)
        self._people_file: Path | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the world but keep the bots (and the growing update ids)."""
        self.users: dict[int, User] = {}
        self.private_chats: dict[tuple[int, int], Chat] = {}
        self.groups: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.pre_checkouts: dict[str, PreCheckout] = {}
        self.invoices: list[dict[str, Any]] = []
        self.payments: list[dict[str, Any]] = []
        self.sms: list[dict[str, Any]] = []
        self.sms_signal = Signal()
        self.sms_gateway = SmsGateway()
        self._next_user_id = 100_001
        self._user_ids = itertools.count(self._next_user_id)
        self._group_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self.chats_of_user: dict[int, set[tuple[int, int]]] = {}
        for bot in self.bots.values():
            bot.updates.clear()
            bot.faults.clear()
            bot.commands.clear()
            bot.reviews.clear()
            bot.refused.clear()
            bot.flood = FloodControl()

    # ------------------------------------------------------------------------------------------ bots

    def add_bot(
        self,
        token: str,
        dialect: DialectName = "telegram",
        username: str | None = None,
        first_name: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> BotAccount:
        """Create (or reconfigure) the bot with this token."""
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}")
        spec = DIALECTS[dialect]
        existing = self.bots.get(token)
        merged = dict(spec.default_options)
        if existing is not None and existing.dialect is spec:
            merged.update(existing.options)
        unknown = set(options or {}) - set(merged)
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}")
        merged.update(options or {})
        prefix = token.split(":", 1)[0]
        bot_id = int(prefix) if prefix.isdigit() else (existing.id if existing else next(self._bot_ids))
        name = username or (existing.username if existing else f"{dialect}_{bot_id}_bot")
        if existing is not None:
            existing.dialect = spec
            existing.username = name
            existing.first_name = first_name or existing.first_name
            existing.options = merged
            return existing
        bot = BotAccount(
            id=bot_id,
            token=token,
            dialect=spec,
            username=name,
            first_name=first_name or "Miz",
            options=merged,
        )
        self.bots[token] = bot
        self.bots_by_id[bot_id] = bot
        return bot

    def configure_bot(self, bot: BotAccount, options: dict[str, Any]) -> None:
        """Change some options of a bot."""
        unknown = set(options) - set(bot.options)
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}")
        bot.options.update(options)

    def push_update(self, bot: BotAccount, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update of ``kind`` for ``bot``; None when its subscription excludes the kind."""
        allowed = (
            bot.webhook.allowed_updates
            if bot.webhook and bot.webhook.allowed_updates
            else bot.allowed_updates
        )
        if allowed and kind not in allowed:
            return None
        if not allowed and kind in ("chat_member", "message_reaction", "message_reaction_count"):
            return None
        update_id = next(self._update_ids)
        bot.updates.append((update_id, {"update_id": update_id, kind: payload}))
        cap = bot.options.get("max_pending_updates")
        while cap and len(bot.updates) > cap:
            bot.updates.popleft()
        bot.updates_signal.fire()
        return update_id

    def add_fault(
        self,
        bot: BotAccount,
        method: str,
        kind: str,
        count: int = 1,
        retry_after: int = 3,
        delay: float | None = None,
    ) -> Fault:
        """Schedule ``count`` failures of ``method``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        fault = Fault(
            id=next(self._fault_ids),
            method=method.lower(),
            kind=kind,
            count=max(1, count),
            retry_after=retry_after,
            delay=delay,
        )
        bot.faults.append(fault)
        return fault

    def take_fault(self, bot: BotAccount, method: str) -> Fault | None:
        """Consume one scheduled failure that applies to ``method``, if any."""
        for fault in bot.faults:
            if fault.method in ("*", method):
                fault.count -= 1
                if fault.count <= 0:
                    bot.faults.remove(fault)
                return fault
        return None

    # ------------------------------------------------------------------------------------------- sms

    def add_sms(self, to: str, text: str, provider: str) -> dict[str, Any]:
        """Keep one SMS in the emulated phone inbox (``/sim/sms``) and wake its long polls."""
        sms = {
            "id": len(self.sms) + 1,
            "to": to,
            "text": text,
            "date": int(time.time()),
            "provider": provider,
        }
        self.sms.append(sms)
        self.sms_signal.fire()
        return sms

    def add_sms_fault(
        self, provider: str, kind: str, count: int = 1, status: int | None = None, delay: float | None = None
    ) -> SmsFault:
        """Schedule ``count`` failures of the SMS gateway ``provider`` (``*``: either)."""
        if provider != "*" and provider not in SMS_PROVIDERS:
            raise ValueError(f"unknown SMS provider {provider!r}")
        if kind not in SMS_FAULT_KINDS:
            raise ValueError(f"unknown SMS fault kind {kind!r}")
        if kind == "status" and (status is None or provider == "*"):
            raise ValueError("a status fault needs the provider and its status code")
        if kind == "http" and status is not None and not 400 <= status <= 599:
            raise ValueError("an http fault's status must be 4xx or 5xx")
        fault = SmsFault(next(self._fault_ids), provider, kind, max(1, count), status, delay)
        self.sms_gateway.faults.append(fault)
        return fault

    def take_sms_fault(self, provider: str) -> SmsFault | None:
        """Consume one scheduled failure that applies to ``provider``, if any."""
        faults = self.sms_gateway.faults
        for fault in faults:
            if fault.provider in ("*", provider):
                fault.count -= 1
                if fault.count <= 0:
                    faults.remove(fault)
                return fault
        return None

    # ----------------------------------------------------------------------------------------- users

    def add_user(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "fa",
        phone_number: str | None = None,
        user_id: int | None = None,
    ) -> User:
        """Create a person; a mobile number is invented when none is given."""
        uid = user_id if user_id is not None else next(self._user_ids)
        while user_id is None and uid in self.users:
            uid = next(self._user_ids)
        if user_id is None:
            self._next_user_id = uid + 1
        phone = phone_number or f"+98912{uid % 10_000_000:07d}"
        user = User(uid, first_name, last_name, username, language_code, phone)
        self.users[uid] = user
        self._save_people()
        return user

    def keep_people(self, path: Path) -> None:
        """Keep this world's people in ``path`` (JSON), as the demo keeps its database beside it.

        The people saved there come back now, every person added later is saved at once, and new ids go on from
        the next one never handed out: a restarted demo never gives a newcomer the id of someone the bot already
        knows (and with it their requests and their conversation).
        """
        self._people_file = path
        if path.exists():
            saved = json.loads(path.read_text(encoding="utf-8"))
            for person in saved["people"]:
                self.users.setdefault(int(person["id"]), User(**person))
            self._next_user_id = max(self._next_user_id, int(saved["next_id"]))
            self._user_ids = itertools.count(self._next_user_id)
        self._save_people()

    def _save_people(self) -> None:
        if self._people_file is None:
            return
        saved = {"next_id": self._next_user_id, "people": [asdict(user) for user in self.users.values()]}
        partial = self._people_file.with_suffix(".partial")
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(saved, ensure_ascii=False, indent=1), encoding="utf-8")
        partial.replace(self._people_file)  # whole or not at all, even if the demo is killed meanwhile

    # ----------------------------------------------------------------------------------------- chats

    def private_chat(self, bot: BotAccount, user: User) -> Chat:
        """The private chat of ``bot`` with ``user`` (created on first use)."""
        key = (bot.id, user.id)
        chat = self.private_chats.get(key)
        if chat is None:
            chat = Chat(id=user.id, type="private", key=key, user=user)
            chat.members[user.id] = "member"
            chat.bots[bot.id] = "member"
            self.private_chats[key] = chat
            self.chats_of_user.setdefault(user.id, set()).add(key)
        return chat

    def add_group(
        self,
        bots: list[BotAccount],
        title: str,
        members: list[int],
        admins: list[int],
        bot_is_admin: bool = True,
        chat_id: int | None = None,
    ) -> Chat:
        """Create a group on the bots' platform; the first admin is its creator.

        ``chat_id`` picks the group's id (the demo uses the operator group ids of the catalog); by default
        a new negative id in the platform's style is drawn.
        """
        dialect = bots[0].dialect
        if any(bot.dialect is not dialect for bot in bots):
            raise ValueError("all bots of a group must speak the same dialect")
        if chat_id is not None and (chat_id >= 0 or chat_id in self.groups):
            raise ValueError(f"group id {chat_id} must be negative and unused")
        if chat_id is None:
            number = next(self._group_ids)
            chat_id = (
                -(1_000_000_000_000 + 4_000_000_000 + number)
                if dialect.name == "telegram"
                else -(4_000_000 + number)
            )
        chat = Chat(id=chat_id, type=dialect.group_type, key=(0, chat_id), title=title)
        for index, user_id in enumerate(admins):
            chat.members[user_id] = "creator" if index == 0 else "administrator"
        for user_id in members:
            chat.members.setdefault(user_id, "member")
        for bot in bots:
            chat.bots[bot.id] = "administrator" if bot_is_admin else "member"
        self.groups[chat_id] = chat
        for user_id in chat.members:
            self.chats_of_user.setdefault(user_id, set()).add(chat.key)
        return chat

    def chat_by_key(self, key: tuple[int, int]) -> Chat | None:
        """A chat by its internal key: (bot id, user id) for private chats, (0, chat id) for groups."""
        return self.groups.get(key[1]) if key[0] == 0 else self.private_chats.get(key)

    def chat_for(self, bot: BotAccount, chat_id: int) -> Chat | None:
        """The chat ``chat_id`` as this bot sees it, or None when the bot has no such chat."""
        if chat_id > 0:
            key = (bot.id, chat_id)
            chat = self.private_chats.get(key)
            if chat is None and chat_id in self.users:
                chat = self.private_chat(bot, self.users[chat_id])
            return chat
        return self.groups.get(chat_id)

    # ----------------------------------------------------------------------------------------- files

    def store_file(
        self,
        data: bytes,
        kind: str,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int = 0,
        height: int = 0,
    ) -> StoredFile:
        """Keep uploaded bytes and give them a file id and a download path."""
        number = next(self._file_ids)
        prefix = {"photo": "AgAC", "sticker": "CAAC"}.get(kind, "BQAC")
        file_id = f"{prefix}{number:06d}{secrets.token_urlsafe(12)}"
        extension = _extension(file_name, mime_type, kind)
        folder = {"photo": "photos", "sticker": "stickers"}.get(kind, "documents")
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=f"AQAD{number:06d}",
            data=data,
            kind=kind,
            file_path=f"{folder}/file_{number}{extension}",
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self.files[file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    def find_file(self, file_id: str) -> StoredFile | None:
        """A stored file by its id (a thumbnail id finds the original)."""
        found = self.files.get(file_id)
        if found is None and file_id.endswith("-s"):
            found = self.files.get(file_id[:-2])
        return found

    def user_chats(self, user_id: int) -> list[Chat]:
        """Every chat the user has (private chats with any bot and groups)."""
        return [
            chat for key in self.chats_of_user.get(user_id, ()) if (chat := self.chat_by_key(key)) is not None
        ]

    def new_id(self) -> str:
        """An opaque id for callback and pre-checkout queries."""
        return str(secrets.randbits(62))


def _extension(file_name: str | None, mime_type: str | None, kind: str) -> str:
    if file_name and "." in file_name:
        return "." + file_name.rsplit(".", 1)[1].lower()
    if kind == "photo":
        return ".jpg"
    if kind == "sticker":
        return ".webp"
    known = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg", "text/plain": ".txt"}
    return known.get(mime_type or "", "")
