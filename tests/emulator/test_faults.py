"""Fault injection through the control API, and Telegram's flood limits."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError

from emulator import EmulatorClient, RunningEmulator
from tests.emulator.conftest import TG_TOKEN, TOKENS


async def test_429_carries_retry_after_then_the_method_works(
    client: EmulatorClient, bot: Bot, dialect: str
) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    await zahra.send("/start")
    await client.inject_fault(TOKENS[dialect], "429", method="sendMessage", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(zahra.user_id, "x")
    assert caught.value.retry_after == 7
    assert (await bot.send_message(zahra.user_id, "x")).text == "x"
    assert [m["text"] for m in await zahra.transcript()] == ["/start", "x"]  # the faulted call sent nothing


async def test_429_body_is_exactly_telegrams(emu: RunningEmulator, client: EmulatorClient) -> None:
    await client.inject_fault(TG_TOKEN, "429", retry_after=3)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{emu.base_url}/bot{TG_TOKEN}/getMe") as response,
    ):
        assert response.status == 429
        assert await response.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        }


@pytest.mark.parametrize("kind", ["500", "502"])
async def test_server_errors(client: EmulatorClient, tg: Bot, kind: str) -> None:
    await client.inject_fault(TG_TOKEN, kind, method="getMe", count=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError):
            await tg.get_me()
    assert (await tg.get_me()).id == 123456
    assert (await client.request("GET", f"/sim/bots/{TG_TOKEN}/faults"))["faults"] == []


async def test_dropped_connection(client: EmulatorClient, tg: Bot) -> None:
    await client.inject_fault(TG_TOKEN, "drop", method="getme")
    with pytest.raises(TelegramNetworkError):
        await tg.get_me()
    assert (await tg.get_me()).is_bot


async def test_timeout_holds_the_request_past_the_clients_timeout(client: EmulatorClient, tg: Bot) -> None:
    await client.inject_fault(TG_TOKEN, "timeout", method="getMe", delay=5)
    with pytest.raises(TelegramNetworkError):
        await tg.get_me(request_timeout=1)


async def test_delay_slows_but_serves(client: EmulatorClient, tg: Bot) -> None:
    await client.inject_fault(TG_TOKEN, "delay", delay=0.5)
    started = time.monotonic()
    assert (await tg.get_me()).is_bot
    assert time.monotonic() - started >= 0.45


async def test_bad_fault_kind_and_clearing(client: EmulatorClient) -> None:
    with pytest.raises(Exception, match="unknown fault kind"):
        await client.inject_fault(TG_TOKEN, "explode")
    await client.inject_fault(TG_TOKEN, "500", count=5)
    await client.clear_faults(TG_TOKEN)
    assert (await client.request("GET", f"/sim/bots/{TG_TOKEN}/faults"))["faults"] == []


async def test_rate_limits_are_off_by_default(client: EmulatorClient, tg: Bot) -> None:
    zahra = await client.citizen(TG_TOKEN)
    await zahra.send("/start")
    await asyncio.gather(*(tg.send_message(zahra.user_id, str(i)) for i in range(10)))


async def test_telegram_per_chat_limit_allows_a_burst_then_429(
    emu: RunningEmulator, client: EmulatorClient, tg: Bot
) -> None:
    await client.configure_bot(TG_TOKEN, rate_limits=True)
    zahra = await client.citizen(TG_TOKEN)
    other = await client.citizen(TG_TOKEN, name="Ali")
    await zahra.send("/start")
    await other.send("/start")
    for i in range(3):
        await tg.send_message(zahra.user_id, f"burst {i}")
    with pytest.raises(TelegramRetryAfter) as caught:
        await tg.send_message(zahra.user_id, "too fast")
    assert caught.value.retry_after >= 1
    assert (await tg.send_message(other.user_id, "another chat is fine")).text


async def test_telegram_group_limit_is_20_per_minute(emu: RunningEmulator) -> None:
    from emulator.limits import FloodControl

    flood = FloodControl()
    now = 1000.0
    for i in range(20):
        assert flood.admit(-100, True, now + i * 1.5) is None
    wait = flood.admit(-100, True, now + 30.5)
    assert wait is not None
    assert 25 <= wait <= 30
    assert flood.admit(-100, True, now + 61) is None


def test_overall_limit_is_30_per_second() -> None:
    from emulator.limits import FloodControl

    flood = FloodControl()
    for chat in range(30):
        assert flood.admit(chat, False, 5.0) is None
    assert flood.admit(99, False, 5.0) == 1
    assert flood.admit(99, False, 6.01) is None
