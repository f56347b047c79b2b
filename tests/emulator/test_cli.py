"""``miz emulator``: serves the demo bots until interrupted."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys

import aiohttp

from emulator import DEMO_BALE_TOKEN, DEMO_TELEGRAM_TOKEN
from emulator._i18n import gettext


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_serve_prints_the_url_serves_both_demo_bots_and_stops_on_ctrl_c() -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        f"from emulator.cli import serve; raise SystemExit(serve(port={port}))",
        stdout=asyncio.subprocess.PIPE,
        env={"MIZ_LOCALE": "en", "PATH": ""},
    )
    try:
        assert process.stdout is not None
        first = await asyncio.wait_for(process.stdout.readline(), 20)
        assert first.decode().strip() == f"Bot API emulator listening on http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            for token, dialect_key in ((DEMO_TELEGRAM_TOKEN, "can_join_groups"), (DEMO_BALE_TOKEN, None)):
                async with session.get(f"http://127.0.0.1:{port}/bot{token}/getMe") as response:
                    me = (await response.json())["result"]
                assert (dialect_key in me) if dialect_key else ("can_join_groups" not in me)
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_console_texts_come_from_the_locale_catalogs() -> None:
    assert gettext("emulator.stop_hint", "en") == "Press Ctrl+C to stop."
    assert gettext("emulator.stop_hint", "fa") == "برای توقف Ctrl+C را بزنید."
    assert gettext("emulator.unknown_key", "fa") == "emulator.unknown_key"
