"""An async client of the control API whose calls read like a person's session with the bot.

    emu = EmulatorClient(base_url)
    zahra = await emu.citizen(token, name="Zahra")
    await zahra.send("/start")
    await zahra.press("فلاورجان")
    reply = await zahra.expect("کد رهگیری")

Tests, benchmarks and the demo use it; it speaks only the JSON of CONTROL_API.md.
"""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

__all__ = ["Citizen", "Clerk", "EmulatorClient", "EmulatorError", "Person"]

Message = dict[str, Any]

WAIT = 20.0
"""Seconds :meth:`Person.expect` and :meth:`EmulatorClient.expect_sms` wait by default. They return as soon as
what they wait for comes; the deadline only says when to give up, and a busy machine (a test run's workers on
two cores) can take several seconds over what takes milliseconds alone."""


class EmulatorError(Exception):
    """The control API refused a call (unknown button, user, chat...)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


def _message_text(message: Message) -> str:
    return str(message.get("text") or message.get("caption") or "")


def _describe(message: Message) -> str:
    who = "bot" if message.get("outgoing") else (message.get("from") or {}).get("first_name", "?")
    body = _message_text(message)
    for kind in ("photo", "document", "sticker", "contact", "location", "invoice"):
        if kind in message:
            body = f"[{kind}] {body}".strip()
    buttons = [b["text"] for row in message.get("buttons", []) for b in row]
    keyboard = [b["text"] for row in (message.get("reply_keyboard") or {}).get("keyboard", []) for b in row]
    extra = f"  buttons={buttons}" if buttons else ""
    extra += f"  keyboard={keyboard}" if keyboard else ""
    state = " (deleted)" if message.get("deleted") else ""
    return f"  #{message['message_id']} {who}: {body}{extra}{state}"


class EmulatorClient:
    """A connection to one emulator's control API."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._own_session = session is None
        # Long polls of many concurrent people must not queue behind each other.
        self._session = session or aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def __aenter__(self) -> EmulatorClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session (when this client opened it)."""
        if self._own_session:
            await self._session.close()

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One control API call; raises :class:`EmulatorError` on a 4xx/5xx answer."""
        async with self._session.request(method, self.base_url + path, **kwargs) as response:
            payload = await response.json(content_type=None)
            if response.status >= 400:
                raise EmulatorError(response.status, str((payload or {}).get("error", payload)))
            return payload

    # -------------------------------------------------------------------------------------- world

    async def reset(self) -> None:
        """Forget users, chats and messages (bots stay)."""
        await self.request("POST", "/sim/reset", json={})

    async def create_bot(
        self, token: str, dialect: str = "telegram", username: str | None = None, **options: Any
    ) -> dict[str, Any]:
        """Create or reconfigure a bot."""
        body: dict[str, Any] = {"token": token, "dialect": dialect, "options": options}
        if username:
            body["username"] = username
        result: dict[str, Any] = await self.request("POST", "/sim/bots", json=body)
        return result

    async def configure_bot(self, token: str, **options: Any) -> dict[str, Any]:
        """Change some options of a bot."""
        result: dict[str, Any] = await self.request("PATCH", f"/sim/bots/{token}", json={"options": options})
        return result

    async def create_user(self, first_name: str, **fields: Any) -> dict[str, Any]:
        """Create a person."""
        result: dict[str, Any] = await self.request(
            "POST", "/sim/users", json={"first_name": first_name, **fields}
        )
        return result

    async def create_group(
        self,
        bot_token: str,
        title: str,
        members: list[int] | None = None,
        admins: list[int] | None = None,
        bot_is_admin: bool = True,
    ) -> dict[str, Any]:
        """Create a group with the bot in it."""
        body = {
            "bot_token": bot_token,
            "title": title,
            "members": members or [],
            "admins": admins or [],
            "bot_is_admin": bot_is_admin,
        }
        result: dict[str, Any] = await self.request("POST", "/sim/groups", json=body)
        return result

    async def citizen(self, bot_token: str, name: str = "Zahra", **fields: Any) -> Citizen:
        """A new person in a private chat with the bot."""
        user = await self.create_user(name, **fields)
        return Citizen(self, bot_token, user["id"], user)

    async def clerk(
        self, bot_token: str, group_chat_id: int, name: str = "Clerk", admin: bool = False, **fields: Any
    ) -> Clerk:
        """A new person who is a member of the operator group ``group_chat_id``."""
        user = await self.create_user(name, **fields)
        await self.request(
            "POST", f"/sim/groups/{group_chat_id}/members", json={"user_id": user["id"], "admin": admin}
        )
        return Clerk(self, bot_token, group_chat_id, user)

    async def inject_fault(
        self,
        bot_token: str,
        kind: str,
        method: str = "*",
        count: int = 1,
        retry_after: int = 3,
        delay: float | None = None,
    ) -> dict[str, Any]:
        """Make the bot's next ``count`` calls of ``method`` fail (see CONTROL_API.md, Faults)."""
        body: dict[str, Any] = {"kind": kind, "method": method, "count": count, "retry_after": retry_after}
        if delay is not None:
            body["delay"] = delay
        result: dict[str, Any] = await self.request("POST", f"/sim/bots/{bot_token}/faults", json=body)
        return result

    async def clear_faults(self, bot_token: str) -> None:
        """Cancel every scheduled failure."""
        await self.request("DELETE", f"/sim/bots/{bot_token}/faults")

    async def sms_messages(
        self,
        to: str | None = None,
        after: int = 0,
        timeout: float = 0,  # noqa: ASYNC109 (the control API's long poll)
    ) -> list[dict[str, Any]]:
        """The SMS the emulated gateways received, oldest first: ``to`` in any form ('0912...', '+98912...'),
        newer than id ``after``; with ``timeout``, waits up to that long for the first one."""
        params: dict[str, Any] = {"after": after, "timeout": timeout}
        if to:
            params["to"] = to
        result = await self.request("GET", "/sim/sms", params=params)
        messages: list[dict[str, Any]] = result["messages"]
        return messages

    async def expect_sms(self, to: str, text: str | None = None, timeout: float = WAIT) -> dict[str, Any]:  # noqa: ASYNC109 (a test's deadline)
        """Wait for an SMS to ``to`` containing ``text`` (any, when None); AssertionError with what arrived if none."""
        deadline = time.monotonic() + timeout
        after = 0
        while (remaining := deadline - time.monotonic()) > 0:
            for sms in await self.sms_messages(to, after=after, timeout=remaining):
                if text is None or text in sms["text"]:
                    return sms
                after = max(after, int(sms["id"]))
        got = [sms["text"] for sms in await self.sms_messages(to)]
        wanted = f"containing {text!r}" if text is not None else "at all"
        raise AssertionError(f"no SMS to {to} {wanted} within {timeout}s; received: {got}")

    async def inject_sms_fault(
        self,
        kind: str,
        provider: str = "*",
        status: int | None = None,
        count: int = 1,
        delay: float | None = None,
    ) -> dict[str, Any]:
        """Make the SMS gateways' next ``count`` calls fail (see CONTROL_API.md, SMS gateways)."""
        body: dict[str, Any] = {"kind": kind, "provider": provider, "count": count}
        if status is not None:
            body["status"] = status
        if delay is not None:
            body["delay"] = delay
        result: dict[str, Any] = await self.request("POST", "/sim/sms/faults", json=body)
        return result

    async def clear_sms_faults(self) -> None:
        """Cancel every scheduled SMS gateway failure."""
        await self.request("DELETE", "/sim/sms/faults")

    async def configure_sms_gateway(self, **settings: Any) -> dict[str, Any]:
        """Change the emulated SMS account: ``credit`` (rials, None unlimited), ``api_key``, ``templates``,
        ``blacklist``, ``entries_as_object``."""
        result: dict[str, Any] = await self.request("PATCH", "/sim/sms/gateway", json=settings)
        return result

    async def refused(self, bot_token: str) -> list[dict[str, Any]]:
        """The bot's calls the Bot API refused, oldest first: ``{"method", "error_code", "description"}``."""
        result = await self.request("GET", f"/sim/bots/{bot_token}/refused")
        refused: list[dict[str, Any]] = result["refused"]
        return refused

    async def transcript(self, bot_token: str, chat_id: int) -> list[Message]:
        """Every message of a chat, oldest first."""
        result = await self.request(
            "GET", f"/sim/bots/{bot_token}/chats/{chat_id}/transcript", params={"limit": 100000}
        )
        messages: list[Message] = result["messages"]
        return messages


class Person:
    """A person acting in one chat with one bot; the base of :class:`Citizen` and :class:`Clerk`."""

    def __init__(self, emulator: EmulatorClient, bot_token: str, chat_id: int, user: dict[str, Any]) -> None:
        self.emulator = emulator
        self.bot_token = bot_token
        self.chat_id = chat_id
        self.user = user
        self.user_id: int = user["id"]
        self.last_message: Message | None = None  # the bot message the last expect() returned
        self.last_answer: dict[str, Any] | None = None  # the bot's answer to the last pressed button
        self._since = 0  # chat version at the last action

    @property
    def _chat_path(self) -> str:
        return f"/sim/bots/{self.bot_token}/chats/{self.chat_id}"

    async def _act(self, path: str, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.emulator.request("POST", self._chat_path + path, **kwargs)
        self._since = int(result.get("version", self._since))
        return result

    async def send(self, text: str, reply_to: Message | int | None = None) -> Message:
        """Send a text (a ``/command`` too); answers the sent message."""
        body: dict[str, Any] = {"user_id": self.user_id, "text": text}
        if reply_to is not None:
            body["reply_to_message_id"] = reply_to if isinstance(reply_to, int) else reply_to["message_id"]
        result = await self._act("/messages", json=body)
        message: Message = result["message"]
        return message

    async def reply_to(self, message: Message | int, text: str) -> Message:
        """Reply to a message (for a clerk: to a request card, which the bot reads as an answer)."""
        return await self.send(text, reply_to=message)

    async def press(
        self,
        text: str | None = None,
        *,
        data: str | None = None,
        message: Message | int | None = None,
        wait_answer: float = 0,
        forged: bool = False,
    ) -> dict[str, Any]:
        """Press the button labelled ``text`` (or with callback ``data``) on the newest bot message having it.

        Falls back to the reply keyboard. With ``wait_answer`` seconds, waits for the bot's callback answer
        (its toast or alert text), kept in :attr:`last_answer`. ``forged`` sends ``data`` on ``message`` (or the
        bot's newest message) even where no button carries it, as a modified client can.
        """
        body: dict[str, Any] = {"user_id": self.user_id, "wait_answer": wait_answer, "forged": forged}
        if data is not None:
            body["callback_data"] = data
        else:
            body["text"] = text
        if message is not None:
            body["message_id"] = message if isinstance(message, int) else message["message_id"]
        result = await self._act("/press", json=body)
        self.last_answer = result.get("answer")
        return result

    async def _send_file(
        self,
        kind: str,
        file: str | Path | bytes,
        filename: str | None,
        caption: str | None,
        mime_type: str | None,
        reply_to: Message | int | None = None,
    ) -> Message:
        if isinstance(file, bytes):
            data = file
        else:
            path = Path(file)
            data = await asyncio.to_thread(path.read_bytes)
            filename = filename or path.name
        spec: dict[str, Any] = {
            "base64": base64.b64encode(data).decode(),
            "filename": filename or f"{kind}.bin",
        }
        if mime_type:
            spec["mime_type"] = mime_type
        body: dict[str, Any] = {"user_id": self.user_id, kind: spec}
        if caption:
            body["caption"] = caption
        if reply_to is not None:
            body["reply_to_message_id"] = reply_to if isinstance(reply_to, int) else reply_to["message_id"]
        result = await self._act("/messages", json=body)
        message: Message = result["message"]
        return message

    async def send_photo(
        self,
        file: str | Path | bytes,
        caption: str | None = None,
        filename: str | None = None,
        reply_to: Message | int | None = None,
    ) -> Message:
        """Send a photo (a path or the image's bytes), optionally as a reply."""
        return await self._send_file("photo", file, filename or "photo.jpg", caption, None, reply_to)

    async def send_document(
        self,
        file: str | Path | bytes,
        filename: str | None = None,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> Message:
        """Send a document (a path or bytes)."""
        return await self._send_file("document", file, filename, caption, mime_type)

    async def send_album(
        self,
        files: list[bytes],
        kind: str = "photo",
        caption: str | None = None,
        reply_to: Message | int | None = None,
    ) -> list[Message]:
        """Send 2-10 photos (or documents) at once, as an album; answers the sent messages."""
        ext = "jpg" if kind == "photo" else "pdf"
        body: dict[str, Any] = {
            "user_id": self.user_id,
            "kind": kind,
            "files": [
                {"base64": base64.b64encode(data).decode(), "filename": f"{kind}{n + 1}.{ext}"}
                for n, data in enumerate(files)
            ],
        }
        if caption:
            body["caption"] = caption
        if reply_to is not None:
            body["reply_to_message_id"] = reply_to if isinstance(reply_to, int) else reply_to["message_id"]
        result = await self._act("/album", json=body)
        messages: list[Message] = result["messages"]
        return messages

    async def send_sticker(self, emoji: str = "👍", file: bytes | None = None) -> Message:
        """Send a static sticker (a plain 512×512 one unless ``file`` gives its WebP bytes)."""
        spec: dict[str, Any] = {"emoji": emoji}
        if file is not None:
            spec["base64"] = base64.b64encode(file).decode()
        result = await self._act("/messages", json={"user_id": self.user_id, "sticker": spec})
        message: Message = result["message"]
        return message

    async def share_contact(self) -> Message:
        """Share one's own phone number (the contact's ``user_id`` is the sender's)."""
        result = await self._act("/messages", json={"user_id": self.user_id, "contact": True})
        message: Message = result["message"]
        return message

    async def send_location(self, latitude: float, longitude: float) -> Message:
        """Send a point on the map."""
        body = {"user_id": self.user_id, "location": {"latitude": latitude, "longitude": longitude}}
        result = await self._act("/messages", json=body)
        message: Message = result["message"]
        return message

    async def pay(self, invoice: Message | int) -> dict[str, Any]:
        """Press Pay on an invoice message."""
        message_id = invoice if isinstance(invoice, int) else invoice["message_id"]
        return await self._act("/pay", json={"user_id": self.user_id, "message_id": message_id})

    async def transcript(self) -> list[Message]:
        """Every message of this chat, oldest first."""
        return await self.emulator.transcript(self.bot_token, self.chat_id)

    async def expect(self, text: str | None = None, timeout: float = WAIT) -> Message:  # noqa: ASYNC109 (a test's deadline)
        """Wait for a bot message containing ``text`` (any, when None) sent or edited after the last action.

        Raises AssertionError with the end of the transcript when none arrives within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        since = self._since
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            result = await self.emulator.request(
                "GET", self._chat_path + "/changes", params={"since": since, "timeout": f"{remaining:.3f}"}
            )
            changed: list[Message] = result["messages"]
            for message in changed:
                if (
                    message.get("outgoing")
                    and not message.get("deleted")
                    and (text is None or text in _message_text(message))
                ):
                    self.last_message = message
                    return message
            since = result["version"]
        recent = (await self.transcript())[-10:]
        lines = "\n".join(_describe(m) for m in recent) or "  (empty)"
        wanted = f"containing {text!r}" if text is not None else "at all"
        raise AssertionError(
            f"{self.user.get('first_name')}: no bot message {wanted} within {timeout}s. Recent transcript:\n{lines}"
        )

    async def block(self) -> None:
        """Block the bot: its next sends to this person fail with 403."""
        await self.emulator.request("POST", self._chat_path + "/block", json={"user_id": self.user_id})

    async def unblock(self) -> None:
        """Unblock the bot."""
        await self.emulator.request("POST", self._chat_path + "/unblock", json={"user_id": self.user_id})


class Citizen(Person):
    """A person in their private chat with the bot."""

    def __init__(self, emulator: EmulatorClient, bot_token: str, user_id: int, user: dict[str, Any]) -> None:
        super().__init__(emulator, bot_token, user_id, user)


class Clerk(Person):
    """A member of an operator group."""

    def __init__(
        self, emulator: EmulatorClient, bot_token: str, group_chat_id: int, user: dict[str, Any]
    ) -> None:
        super().__init__(emulator, bot_token, group_chat_id, user)
