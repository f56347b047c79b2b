"""One poller per bot token (issue 19, item 11): a second ``miz run`` with a token already polled refuses to start,
saying why and what to use instead; once the first is gone, a new one starts.

Long polling one token from two processes makes the messenger answer 409 Conflict to both, a stream of errors in
both logs and updates served by either. The lock is in the database (``storage.locks``), so a process killed hard
lets go of it with its life.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from emulator.server import running_emulator
from emulator.state import BotAccount
from tests.e2e.conftest import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "1100000077:ONE-POLLER-ddddddddddddddddddddddddddddd"


async def _miz_run(
    tmp_path: Path, api_base: str, health_port: int | None = None
) -> asyncio.subprocess.Process:
    env = {name: value for name, value in os.environ.items() if not name.startswith("MIZ_")}
    env.update(
        PYTHONPATH=str(ROOT),
        MIZ_TELEGRAM_TOKEN=TOKEN,
        MIZ_TELEGRAM_API_BASE=api_base,
        MIZ_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'miz.sqlite3'}",
        MIZ_FILES_DIR=str(tmp_path / "files"),
    )
    if health_port is not None:
        env["MIZ_HEALTH_PORT"] = str(health_port)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def _polled(account: BotAccount, since: int, timeout: float = 120) -> bool:  # noqa: ASYNC109
    """Whether a ``getUpdates`` arrives after the ``since``-th."""
    deadline = time.monotonic() + timeout
    while account.poll_generation <= since:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def test_a_second_miz_run_with_the_same_token_refuses_and_a_new_one_starts_once_the_first_is_gone(
    tmp_path: Path,
) -> None:
    async with running_emulator() as emu:
        account = emu.add_bot(TOKEN, "telegram", username="miz_one_poller_bot")
        health_port = free_port()
        first = await _miz_run(tmp_path, emu.base_url, health_port)
        third: asyncio.subprocess.Process | None = None
        try:
            assert await _polled(account, since=0), "the first `miz run` polls"
            async with aiohttp.ClientSession() as http:  # MIZ_HEALTH_PORT: its health and metrics
                async with http.get(f"http://127.0.0.1:{health_port}/readyz") as ready:
                    assert ready.status == 200, await ready.text()
                async with http.get(f"http://127.0.0.1:{health_port}/metrics") as metrics:
                    assert "miz_outbox_due" in await metrics.text()

            second = await _miz_run(tmp_path, emu.base_url)
            _, stderr = await asyncio.wait_for(second.communicate(), timeout=120)
            said = stderr.decode()
            assert second.returncode == 3, said
            assert "already polls this bot token" in said
            assert "`miz serve`" in said
            assert TOKEN.split(":")[1] not in said, "the token is never printed"
            assert first.returncode is None, "the first one serves on"

            first.send_signal(signal.SIGKILL)  # dies without letting go: its lock ends with it
            await first.wait()
            polls = account.poll_generation
            third = await _miz_run(tmp_path, emu.base_url)
            assert await _polled(account, since=polls), "a new `miz run` starts once the first is gone"
        finally:
            for process in (first, third):
                if process is not None and process.returncode is None:
                    process.send_signal(signal.SIGKILL)
                    await process.wait()
