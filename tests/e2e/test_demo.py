"""``make demo`` as a newcomer meets it (issue #14, items 20 and 22): the real ``miz demo`` in a subprocess.

Restarted on the same data, the demo keeps its people, so a new person never gets an earlier person's id (and
with it their requests); Ctrl-C stops the bots before the emulator, so a clean stop logs no error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.platforms import Platform
from emulator import DEMO_BALE_TOKEN, DEMO_TELEGRAM_TOKEN
from emulator.client import EmulatorClient

from .test_request import report_a_dark_street  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

TOKENS = {Platform.TELEGRAM: DEMO_TELEGRAM_TOKEN, Platform.BALE: DEMO_BALE_TOKEN}
READY = "Miz is ready"
START_TIMEOUT = 120  # seconds: a migration and the catalog on a busy machine


@dataclass
class Demo:
    """A running ``miz demo`` and a client of its emulator."""

    process: asyncio.subprocess.Process
    client: EmulatorClient

    async def stop(self) -> tuple[int, str]:
        """Ctrl-C, as a person stops it: the exit status and everything it wrote to stderr."""
        self.process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(self.process.communicate(), timeout=60)
        return self.process.returncode or 0, stderr.decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def running_demo(data: Path) -> AsyncIterator[Demo]:
    """``miz demo`` on a free port with its data in ``data``, until the block ends (killed if still running)."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "demo",
        "--port",
        str(port),
        "--data",
        str(data),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        seen = ""
        while READY not in seen:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=START_TIMEOUT)
            assert line, f"the demo ended before it was ready: {seen}"
            seen += line.decode()
        async with EmulatorClient(f"http://127.0.0.1:{port}") as client:
            yield Demo(process, client)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def my_requests(person: Any) -> str:
    await person.send("/start")
    await person.expect("میز خدمت")
    await person.press("📂 درخواست‌های من")
    return str((await person.expect("درخواست"))["text"])


async def file_a_report(person: Any) -> None:
    await person.send("/start")
    await person.expect("میز خدمت")
    await report_a_dark_street(person)
    await person.press("⏭ رد کردن")
    await person.expect("بازبینی درخواست")
    await person.press("✅ ثبت نهایی")
    await person.expect("کد رهگیری")


def assert_a_clean_stop(status: int, stderr: str) -> None:
    assert status == 0
    assert "connect" not in stderr.lower(), stderr
    assert "error" not in stderr.lower(), stderr
    assert "Traceback" not in stderr, stderr


async def test_ctrl_c_stops_cleanly_and_a_restarted_demo_never_gives_a_newcomer_an_earlier_persons_requests(
    tmp_path: Path,
) -> None:
    """One demo run, then a restart on the same data, in both looks (each start of ``miz demo`` costs seconds)."""
    async with running_demo(tmp_path) as demo:
        earlier = {
            platform: await demo.client.citizen(TOKENS[platform], name="زهرا") for platform in Platform
        }
        for person in earlier.values():
            await file_a_report(person)  # both bots are polling
        assert_a_clean_stop(*await demo.stop())

    async with running_demo(tmp_path) as demo:
        people = [person["id"] for person in (await demo.client.request("GET", "/sim/users"))["users"]]
        for platform, zahra in earlier.items():
            ali = await demo.client.citizen(TOKENS[platform], name="علی")
            assert ali.user["id"] not in {z.user["id"] for z in earlier.values()}
            assert "گزارش مشکلات شهری و روستایی" not in await my_requests(ali), "nobody else's requests"
            assert zahra.user["id"] in people, "the people are kept with the database"
            zahra_again = type(zahra)(demo.client, TOKENS[platform], zahra.user["id"], zahra.user)
            assert "گزارش مشکلات شهری و روستایی" in await my_requests(zahra_again)
        assert_a_clean_stop(*await demo.stop())
