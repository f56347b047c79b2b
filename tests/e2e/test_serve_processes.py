"""``miz serve`` as real processes behind the emulator's webhooks: killed hard in the middle of an update, nothing is
lost and nothing is answered twice; an album spread over two workers is still one message.

Each worker is ``python -m bot.cli serve`` with its settings in the environment, on a SQLite database of its own
test; the emulator runs in the test. A ``timeout`` fault on ``sendMessage`` holds the bot's reply to one command, so
the test knows the update was answered 200 (the emulator no longer keeps it) and is being handled when it sends
SIGKILL. With Redis, the workers listen on ports of their own behind a round-robin proxy in the test (as nginx's
upstream), so consecutive updates reach different workers; their bots get tokens of their own, since Redis
remembers update ids for a day.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import sys
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.platforms import Platform
from emulator.client import Citizen, EmulatorClient
from emulator.server import RunningEmulator, running_emulator
from tests.conftest import REDIS_URL, redis_unreachable, skip_or_fail

from .conftest import TOKENS, copy_migrated_sqlite, free_port, png  # type: ignore[import-not-found]
from .test_several_files import to_the_building_permits_documents  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
HOLD_S = 20.0
"""How long the emulator holds the reply it was told to time out (the worker is killed long before)."""


class Cluster:
    """``miz serve`` workers of one deployment, started and killed at will: on one port
    (``MIZ_SERVE_REUSE_PORT``), or each on its own behind :meth:`round_robin`."""

    def __init__(
        self, emu: RunningEmulator, folder: Path, redis_url: str | None, tokens: Mapping[Platform, str]
    ) -> None:
        self.emu = emu
        self.folder = folder
        self.tokens = tokens
        self.port = free_port()
        self.ports: list[int] = []
        """The workers' own ports, behind the proxy (none: they share :attr:`port`)."""
        self.env = {name: value for name, value in os.environ.items() if not name.startswith("MIZ_")}
        self.env.update(
            PYTHONPATH=str(ROOT),
            MIZ_TELEGRAM_TOKEN=tokens[Platform.TELEGRAM],
            MIZ_TELEGRAM_API_BASE=emu.base_url,
            MIZ_BALE_TOKEN=tokens[Platform.BALE],
            MIZ_BALE_API_BASE=emu.base_url,
            MIZ_DATABASE_URL=f"sqlite+aiosqlite:///{folder / 'miz.sqlite3'}",
            MIZ_FILES_DIR=str(folder / "files"),
            MIZ_WEBHOOK_URL=f"http://127.0.0.1:{self.port}",
            MIZ_SERVE_PORT=str(self.port),
            MIZ_SERVE_REUSE_PORT="true",
            MIZ_FLOOD_BURST="10000",
            MIZ_WEEKLY_REPORTS="false",
        )
        if redis_url is not None:
            self.env["MIZ_REDIS_URL"] = redis_url
        self.workers: list[asyncio.subprocess.Process] = []

    @contextlib.asynccontextmanager
    async def round_robin(self, workers: int) -> AsyncIterator[None]:
        """A proxy on :attr:`port` handing each delivery to the next of ``workers`` ports, in turn."""
        self.ports = [free_port() for _ in range(workers)]
        turns = itertools.cycle(self.ports)

        async def forward(request: web.Request) -> web.Response:
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    f"http://127.0.0.1:{next(turns)}{request.path_qs}",
                    data=await request.read(),
                    headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
                ) as answer,
            ):
                return web.Response(status=answer.status, body=await answer.read())

        app = web.Application()
        app.router.add_post("/{path:.*}", forward)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        try:
            yield
        finally:
            await runner.cleanup()

    async def start(self, extra: Mapping[str, str] | None = None) -> asyncio.subprocess.Process:
        """One more worker, once the webhooks point here and it answers ``/readyz``."""
        port = self.ports[len(self.workers)] if self.ports else self.port
        own = {"MIZ_SERVE_PORT": str(port), "MIZ_SERVE_REUSE_PORT": "false"} if self.ports else {}
        with (self.folder / "workers.log").open("ab") as log:
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "serve",
                cwd=self.folder,
                env={**self.env, **own, **(extra or {})},
                stdout=log,
                stderr=log,
            )
        self.workers.append(worker)
        await self._until_ready(worker, port)
        return worker

    async def _until_ready(self, worker: asyncio.subprocess.Process, port: int, timeout: float = 60) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert worker.returncode is None, (self.folder / "workers.log").read_text()[-3000:]
                hooks = [self.emu.state.bots[token].webhook for token in self.tokens.values()]
                if all(hook is not None for hook in hooks):
                    with contextlib.suppress(aiohttp.ClientError, OSError):
                        async with http.get(f"http://127.0.0.1:{port}/readyz") as ready:
                            if ready.status == 200:
                                return
                await asyncio.sleep(0.2)
        raise AssertionError("the worker did not start: " + (self.folder / "workers.log").read_text()[-3000:])

    async def kill(self, worker: asyncio.subprocess.Process) -> None:
        """SIGKILL: no drain, no goodbye."""
        worker.kill()
        await worker.wait()

    async def stop_all(self) -> None:
        for worker in self.workers:
            if worker.returncode is None:
                worker.terminate()
        for worker in self.workers:
            try:
                await asyncio.wait_for(worker.wait(), timeout=40)
            except TimeoutError:
                worker.kill()
                await worker.wait()


@contextlib.asynccontextmanager
async def cluster(
    tmp_path: Path, redis_url: str | None = None
) -> AsyncIterator[tuple[Cluster, EmulatorClient]]:
    tokens = dict(TOKENS)
    if redis_url is not None:  # bots of their own: Redis remembers the update ids of earlier runs for a day
        tokens = {
            platform: f"{random.randrange(10**9, 10**10)}:{token.split(':', 1)[1]}"
            for platform, token in TOKENS.items()
        }
    async with running_emulator() as emu:
        await copy_migrated_sqlite(tmp_path / "miz.sqlite3")
        for platform, token in tokens.items():
            emu.add_bot(token, platform.value, username=f"miz_{platform.value}_serve_bot")
        workers = Cluster(emu, tmp_path, redis_url, tokens)
        try:
            async with EmulatorClient(emu.base_url) as client:
                yield workers, client
        finally:
            await workers.stop_all()


async def answers(person: Citizen) -> int:
    """How many messages the bot has sent ``person``."""
    return sum(1 for message in await person.transcript() if message.get("outgoing"))


async def until(check: object, timeout: float = 10) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not await check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_worker_without_redis_killed_mid_update_loses_nothing_and_repeats_nothing(
    tmp_path: Path, platform: Platform
) -> None:
    token = TOKENS[platform]
    async with cluster(tmp_path) as (workers, client):
        worker = await workers.start()
        zahra = await client.citizen(token)
        await zahra.send("/help")
        await zahra.expect(timeout=30)
        await asyncio.sleep(0.5)
        per_help = await answers(zahra)

        await client.inject_fault(token, "timeout", method="sendMessage", delay=HOLD_S)
        await zahra.send("/help")

        async def replying() -> bool:  # the webhook was answered and the bot is sending its reply
            pending = await client.request("GET", f"/sim/bots/{token}/updates")
            faults = await client.request("GET", f"/sim/bots/{token}/faults")
            return not pending["pending"] and not faults["faults"]

        await until(replying)
        await workers.kill(worker)
        assert await answers(zahra) == per_help, "nothing answered yet"

        await workers.start()  # replays what the dead one had taken
        await zahra.expect(timeout=30)
        await asyncio.sleep(1.5)  # a second answer would come now
        assert await answers(zahra) == 2 * per_help, [m.get("text") for m in await zahra.transcript()]


async def test_an_album_whose_photos_reach_two_workers_is_acknowledged_once_with_every_photo(
    tmp_path: Path, platform: Platform
) -> None:
    reason = await redis_unreachable()
    if reason:
        skip_or_fail(reason)
    async with cluster(tmp_path, REDIS_URL) as (workers, client), workers.round_robin(2):
        await workers.start()
        await workers.start()
        zahra = await client.citizen(workers.tokens[platform])
        await to_the_building_permits_documents(zahra)
        before = len(await zahra.transcript())

        await zahra.send_album([png(10, 8), png(12, 8), png(14, 8)])  # its three updates go to A, B, A

        await zahra.expect("فایل ۳ از «سند مالکیت» دریافت شد", timeout=15)
        await asyncio.sleep(1.5)  # a second acknowledgement, of a part gathered apart, would come now
        answers = [m for m in (await zahra.transcript())[before:] if m.get("outgoing")]
        assert len(answers) == 1, [m.get("text") for m in answers]
        await zahra.press("✅ تمام شد")
        second = await zahra.expect("مدرک ۲ از ۴")
        assert "سند مالکیت (۳ فایل)" in second["text"]
