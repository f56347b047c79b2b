"""Direct answers survive a 429 or a 5xx while the outbox's calls stay single-shot; floods are counted per person;
outages are told apart from bugs."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

import pytest
import redis.exceptions
import sqlalchemy.exc
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter, TelegramServerError

from bot.handlers.errors import is_outage
from bot.middlewares import FloodControl
from bot.platforms import Platform
from bot.session import direct_answers, make_session
from emulator import EmulatorClient, running_emulator

TOKEN = "123456:TEST-retries"


@pytest.fixture
async def world() -> AsyncIterator[tuple[EmulatorClient, Bot, int]]:
    """An emulator, a Miz-session bot on it and a citizen who started it."""
    async with running_emulator() as emu, EmulatorClient(emu.base_url) as client:
        emu.add_bot(TOKEN, "telegram")
        bot = Bot(TOKEN, session=make_session(emu.base_url))
        citizen = await client.citizen(TOKEN)
        await citizen.send("/start")
        yield client, bot, citizen.user_id
        await bot.session.close()


async def sent(client: EmulatorClient, chat_id: int) -> list[str]:
    return [m["text"] for m in await client.transcript(TOKEN, chat_id) if m.get("outgoing")]


@pytest.mark.parametrize(("kind", "count"), [("429", 1), ("500", 2), ("502", 2)])
async def test_a_direct_answer_is_sent_after_a_429_or_a_5xx(
    world: tuple[EmulatorClient, Bot, int], kind: str, count: int
) -> None:
    client, bot, chat = world
    await client.inject_fault(TOKEN, kind, method="sendMessage", count=count, retry_after=1)
    with direct_answers():
        await bot.send_message(chat, "پاسخ")
    assert await sent(client, chat) == ["پاسخ"], "sent once"


async def test_a_direct_answer_gives_up_after_a_long_retry_after_or_three_5xx(
    world: tuple[EmulatorClient, Bot, int],
) -> None:
    client, bot, chat = world
    await client.inject_fault(TOKEN, "429", method="sendMessage", retry_after=60)
    with direct_answers(), pytest.raises(TelegramRetryAfter):
        await asyncio.wait_for(bot.send_message(chat, "x"), timeout=30)  # far less than the 60 s asked
    await client.inject_fault(TOKEN, "502", method="sendMessage", count=3)
    with direct_answers(), pytest.raises(TelegramServerError):
        await bot.send_message(chat, "x")
    assert await sent(client, chat) == []


async def test_a_refused_direct_answer_is_not_tried_again(world: tuple[EmulatorClient, Bot, int]) -> None:
    client, bot, chat = world
    with direct_answers(), pytest.raises(TelegramBadRequest):
        await bot.send_message(chat, "")
    assert await sent(client, chat) == []


@pytest.mark.parametrize("kind", ["429", "502"])
async def test_other_calls_such_as_the_outboxs_are_made_once(
    world: tuple[EmulatorClient, Bot, int], kind: str
) -> None:
    client, bot, chat = world
    await client.inject_fault(TOKEN, kind, method="sendMessage", retry_after=1)
    with pytest.raises(TelegramRetryAfter if kind == "429" else TelegramServerError):
        await bot.send_message(chat, "ردیف صف")
    assert await sent(client, chat) == [], "the outbox retries on its own schedule"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_the_next_is_warned_once_then_dropped() -> None:
    clock = FakeClock()
    flood = FloodControl(burst=3, quiet_seconds=60, clock=clock)
    verdicts = [flood.admit(Platform.TELEGRAM, 7) for _ in range(10)]
    assert verdicts == ["pass"] * 3 + ["warn"] + ["drop"] * 6
    assert flood.admit(Platform.BALE, 7) == "pass", "another platform's user 7 is someone else"
    assert flood.admit(Platform.TELEGRAM, 8) == "pass", "another person is not affected"


def test_after_the_quiet_a_calm_person_is_answered_and_a_flooder_stays_dropped_silently() -> None:
    clock = FakeClock()
    flood = FloodControl(burst=3, quiet_seconds=60, clock=clock)
    for person in (1, 2):
        for _ in range(4):
            flood.admit(Platform.BALE, person)
    for _ in range(60):  # person 2 goes on at two a second
        clock.now += 0.5
        assert flood.admit(Platform.BALE, 2) == "drop"
        clock.now += 0.5
        assert flood.admit(Platform.BALE, 2) == "drop"
    clock.now += 1
    assert flood.admit(Platform.BALE, 1) == "pass", "waited the minute: answered again"
    assert flood.admit(Platform.BALE, 2) == "drop", "still flooding: quiet again, with no second warning"


def test_a_person_at_one_message_a_second_is_never_stopped() -> None:
    clock = FakeClock()
    flood = FloodControl(burst=3, quiet_seconds=60, clock=clock)
    for _ in range(600):
        assert flood.admit(Platform.TELEGRAM, 7) == "pass"
        clock.now += 1


def test_people_gone_quiet_are_forgotten() -> None:
    clock = FakeClock()
    flood = FloodControl(burst=3, quiet_seconds=60, clock=clock)
    for person in range(5000):
        flood.admit(Platform.TELEGRAM, person)
        clock.now += 0.01
    assert len(flood._buckets) < 2048


def test_outages_are_told_apart_from_bugs() -> None:
    def caused(error: BaseException, by: BaseException) -> BaseException:
        error.__cause__ = by
        return error

    assert is_outage(
        sqlalchemy.exc.OperationalError("SELECT", {}, sqlite3.OperationalError("unable to open"))
    )
    assert is_outage(ConnectionRefusedError(111, "Connect call failed"))
    assert is_outage(redis.exceptions.ConnectionError("Error 111 connecting"))
    assert is_outage(caused(RuntimeError("flush failed"), redis.exceptions.TimeoutError()))
    assert is_outage(TimeoutError())
    assert not is_outage(sqlalchemy.exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE")))
    assert not is_outage(KeyError("field"))
