"""Fixtures of the bot package's tests: an emulator on a free port (its SMS gateways need no bot) and a client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from emulator import EmulatorClient, RunningEmulator, running_emulator


@pytest.fixture
async def emu() -> AsyncIterator[RunningEmulator]:
    """An emulator on a free port."""
    async with running_emulator() as running:
        yield running


@pytest.fixture
async def client(emu: RunningEmulator) -> AsyncIterator[EmulatorClient]:
    """A control-API client of ``emu``."""
    async with EmulatorClient(emu.base_url) as emulator_client:
        yield emulator_client
