"""getUpdates semantics, webhooks, and how each platform delivers updates."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError
from aiohttp import web

from emulator import EmulatorClient, RunningEmulator
from tests.emulator.conftest import BALE_TOKEN, TG_TOKEN, TOKENS


async def raw_updates(emu: RunningEmulator, token: str, **params: Any) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emu.base_url}/bot{token}/getUpdates", json=params) as response,
    ):
        return response.status, await response.json()


async def test_offset_confirms_and_forgets_older_updates(
    client: EmulatorClient, bot: Bot, dialect: str
) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    for text in ("a", "b", "c"):
        await zahra.send(text)
    first = await bot.get_updates()
    assert [u.message.text for u in first] == ["a", "b", "c"]
    again = await bot.get_updates()  # nothing confirmed yet
    assert [u.update_id for u in again] == [u.update_id for u in first]
    rest = await bot.get_updates(offset=first[1].update_id)
    assert [u.message.text for u in rest] == ["b", "c"]
    assert [u.message.text for u in await bot.get_updates()] == ["b", "c"]  # "a" is forgotten
    assert await bot.get_updates(offset=first[-1].update_id + 1) == []


async def test_negative_offset_and_limit(client: EmulatorClient, bot: Bot, dialect: str) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    for text in "abcde":
        await zahra.send(text)
    assert [u.message.text for u in await bot.get_updates(limit=2)] == ["a", "b"]
    assert [u.message.text for u in await bot.get_updates(offset=-2)] == ["d", "e"]
    assert [u.message.text for u in await bot.get_updates()] == ["d", "e"]


async def test_long_poll_answers_as_soon_as_an_update_arrives(
    client: EmulatorClient, bot: Bot, dialect: str
) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    await zahra.send("سلام")
    updates = await poll
    assert updates[0].message.text == "سلام"
    assert time.monotonic() - started < 3


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert time.monotonic() - started >= 0.9


async def test_a_second_poller_terminates_the_first_with_409(emu: RunningEmulator) -> None:
    first = asyncio.create_task(raw_updates(emu, TG_TOKEN, timeout=5))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(raw_updates(emu, TG_TOKEN, timeout=0))
    status, body = await first
    assert status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates request")
    assert (await second)[0] == 200


async def test_invalid_allowed_updates_is_refused(emu: RunningEmulator) -> None:
    status, body = await raw_updates(emu, TG_TOKEN, allowed_updates="message")
    assert (status, body["description"]) == (400, "Bad Request: can't parse allowed_updates JSON array")


async def test_allowed_updates_filters_new_updates(client: EmulatorClient, bot: Bot, dialect: str) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    await bot.get_updates(allowed_updates=["callback_query"])
    await zahra.send("ignored")
    assert await bot.get_updates() == []


async def test_bale_callback_without_chat_instance_breaks_aiogram_deserialisation(
    client: EmulatorClient, bale: Bot
) -> None:
    """The measured fact in docs/ARCHITECTURE.md: one such update makes aiogram's getUpdates fail (the bot must cope)."""
    zahra = await client.citizen(BALE_TOKEN)
    await zahra.send("/start")
    await bale.send_message(
        zahra.user_id, "؟", reply_markup={"inline_keyboard": [[{"text": "بله", "callback_data": "y"}]]}
    )
    await zahra.press("بله")
    with pytest.raises(Exception, match="chat_instance"):
        await bale.get_updates()


async def test_telegram_callback_carries_chat_instance(client: EmulatorClient, tg: Bot) -> None:
    zahra = await client.citizen(TG_TOKEN)
    await zahra.send("/start")
    await tg.send_message(
        zahra.user_id, "؟", reply_markup={"inline_keyboard": [[{"text": "بله", "callback_data": "y"}]]}
    )
    await zahra.press("بله")
    query = (await tg.get_updates())[-1].callback_query
    assert query is not None
    assert query.chat_instance
    assert query.message is not None
    assert query.message.text == "؟"


async def test_bale_keeps_at_most_2000_pending_updates(
    emu: RunningEmulator, client: EmulatorClient, bale: Bot
) -> None:
    zahra = await client.citizen(BALE_TOKEN)
    state = emu.state
    chat = state.private_chat(state.bots[BALE_TOKEN], state.users[zahra.user_id])
    from emulator.people import send_as_user

    for i in range(2005):
        send_as_user(state, chat, state.users[zahra.user_id], {"text": str(i)})
    status, body = await raw_updates(emu, BALE_TOKEN)
    assert status == 200
    assert body["result"][0]["message"]["text"] == "5"  # the 5 oldest were dropped
    info = await bale.get_webhook_info()
    assert info.pending_update_count == 2000


async def test_group_ids_and_privacy_mode(emu: RunningEmulator, client: EmulatorClient, dialect: str) -> None:
    clerk_user = await client.create_user("Clerk")
    group = await client.create_group(
        TOKENS[dialect], "کارشناسان", members=[clerk_user["id"]], bot_is_admin=False
    )
    clerk = await client.clerk(TOKENS[dialect], group["id"], name="Second")
    bot_message = await client.request(
        "POST", f"/bot{TOKENS[dialect]}/sendMessage", json={"chat_id": group["id"], "text": "درخواست جدید"}
    )
    assert bot_message["result"]["chat"]["type"] == ("supergroup" if dialect == "telegram" else "group")
    plain = await clerk.send("گپ")
    reply = await clerk.reply_to(bot_message["result"]["message_id"], "پاسخ به شهروند")
    pending = (await client.request("GET", f"/sim/bots/{TOKENS[dialect]}/updates"))["pending"]
    texts = [u["message"]["text"] for u in pending]
    if dialect == "telegram":  # privacy mode: only replies to the bot, commands and mentions
        assert plain["message_id"]
        assert texts == ["پاسخ به شهروند"]
    else:
        assert texts == ["گپ", "پاسخ به شهروند"]
    assert pending[-1]["message"]["reply_to_message"]["message_id"] == bot_message["result"]["message_id"]
    assert reply["reply_to_message_id"] == bot_message["result"]["message_id"]


# ---------------------------------------------------------------------------------------------- webhooks


class Receiver:
    """A local webhook endpoint recording what it receives."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.fail_first = fail_first
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=500)
        self.received.append((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        self.arrived.set()
        return web.Response(text="ok")


async def start_receiver(receiver: Receiver) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/hook"


async def test_webhook_delivery_with_secret_on_telegram_only(
    client: EmulatorClient, bot: Bot, dialect: str
) -> None:
    receiver = Receiver(fail_first=1)
    runner, url = await start_receiver(receiver)
    try:
        zahra = await client.citizen(TOKENS[dialect])
        await zahra.send("before")
        assert await bot.set_webhook(url, secret_token="s3cret", drop_pending_updates=True)
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()
        await zahra.send("سلام")
        await asyncio.wait_for(receiver.arrived.wait(), 5)
        update, secret = receiver.received[0]
        assert update["message"]["text"] == "سلام"  # "before" was dropped
        assert secret == ("s3cret" if dialect == "telegram" else None)
        info = await bot.get_webhook_info()
        assert info.url == url
        assert info.last_error_message  # the first delivery got a 500
        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
    finally:
        await runner.cleanup()


async def test_remote_http_webhook_is_refused(bot: Bot) -> None:
    with pytest.raises(Exception, match="HTTPS URL must be provided"):
        await bot.set_webhook("http://example.com/hook")
