"""Fixtures of the emulator tests: a running emulator with one Telegram and one Bale bot, aiogram bots on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from emulator import EmulatorClient, RunningEmulator, running_emulator

TG_TOKEN = "123456:TEST-telegram"
BALE_TOKEN = "654321:TEST-bale"
TOKENS = {"telegram": TG_TOKEN, "bale": BALE_TOKEN}


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    """An emulator on a free port with the two test bots."""
    async with running_emulator() as running:
        running.add_bot(TG_TOKEN, "telegram", username="miz_test_bot")
        running.add_bot(BALE_TOKEN, "bale", username="miz_test_bale_bot")
        yield running


@pytest.fixture
async def client(emu: RunningEmulator) -> AsyncIterator[EmulatorClient]:
    """The control API client."""
    async with EmulatorClient(emu.base_url) as emulator_client:
        yield emulator_client


def make_bot(emu: RunningEmulator, token: str) -> Bot:
    """An aiogram Bot talking to the emulator."""
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))


@pytest.fixture(params=["telegram", "bale"])
def dialect(request: pytest.FixtureRequest) -> str:
    """Each test using it runs once per platform."""
    return str(request.param)


@pytest.fixture
async def bot(emu: RunningEmulator, dialect: str) -> AsyncIterator[Bot]:
    """The aiogram Bot of the current dialect."""
    aiogram_bot = make_bot(emu, TOKENS[dialect])
    yield aiogram_bot
    await aiogram_bot.session.close()


@pytest.fixture
async def tg(emu: RunningEmulator) -> AsyncIterator[Bot]:
    """The aiogram Bot on the Telegram dialect."""
    aiogram_bot = make_bot(emu, TG_TOKEN)
    yield aiogram_bot
    await aiogram_bot.session.close()


@pytest.fixture
async def bale(emu: RunningEmulator) -> AsyncIterator[Bot]:
    """The aiogram Bot on the Bale dialect."""
    aiogram_bot = make_bot(emu, BALE_TOKEN)
    yield aiogram_bot
    await aiogram_bot.session.close()
