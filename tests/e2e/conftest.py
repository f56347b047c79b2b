"""End-to-end harness: the real Miz (both bots, one Dispatcher) polling the emulator over HTTP.

Each test gets a fresh emulator on a free port, a SQLite database and a copy of the built-in catalog in
``tmp_path``, and Miz running as a background task. Tests act as people through the emulator's client.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlmodel import col, select

from bot.app import BotSpec, Miz
from bot.demo import seed_operator_groups
from bot.platforms import Platform
from catalog import load_catalog
from config.settings import PROJECT_ROOT, Settings
from emulator.client import Citizen, Clerk, EmulatorClient, Person
from emulator.server import RunningEmulator, running_emulator
from storage.migrate import upgrade_async
from storage.models import OutboxMessage

TOKENS = {
    Platform.TELEGRAM: "1100000001:E2E-TELEGRAM-aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    Platform.BALE: "2200000002:E2E-BALE-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
}


@dataclass
class World:
    """The emulator, a client for it, and the running Miz; ``restart()`` stops and starts Miz on the same data."""

    emu: RunningEmulator
    client: EmulatorClient
    settings: Settings
    miz: Miz
    task: asyncio.Task[None]
    webhook_port: int | None = None
    """Where Miz serves webhooks (``miz serve``); None: it polls (``miz run``)."""

    async def citizen(self, platform: Platform, name: str = "زهرا") -> Citizen:
        return await self.client.citizen(TOKENS[platform], name=name)

    async def clerk(self, platform: Platform, org_id: str = "falavarjan", index: int = 0) -> Clerk:
        """A registered clerk of ``org_id`` (from the catalog) acting in its operator group on ``platform``."""
        catalog = self.miz.catalogs.catalog
        clerks = sorted(
            (c for c in catalog.clerks(org_id) if c.platform.value == platform.value), key=lambda c: c.user_id
        )
        group = catalog.operator_group(org_id, platform.value)
        assert group is not None
        user = await self.client.request("GET", f"/sim/users/{clerks[index].user_id}")
        return Clerk(self.client, TOKENS[platform], group, user)

    async def stranger_in_group(self, platform: Platform, org_id: str = "falavarjan") -> Clerk:
        """Someone who is a member of the organization's group but no registered clerk."""
        group = self.miz.catalogs.catalog.operator_group(org_id, platform.value)
        assert group is not None
        return await self.client.clerk(TOKENS[platform], group, name="غریبه")

    async def delivered(self, person: Person, timeout: float = 120) -> None:  # noqa: ASYNC109 (a test's deadline)
        """Wait until the outbox has done with every message queued to ``person``'s chat (each sent or failed).

        The outbox paces a group as the messenger asks (on Telegram 20 messages a minute after a short burst), so
        when the last of several messages arrives depends on how many went before it, and a busy machine adds to
        that: a test waits for the outbox, and then reads the chat, instead of guessing how long it takes.
        """
        platform = next(p.value for p, token in TOKENS.items() if token == person.bot_token)
        unfinished = (
            select(OutboxMessage.id)
            .where(
                col(OutboxMessage.platform) == platform,
                col(OutboxMessage.chat_id) == person.chat_id,
                col(OutboxMessage.status).in_(("pending", "sending")),
            )
            .limit(1)
        )
        async with asyncio.timeout(timeout):
            while True:
                async with self.miz.factory() as session:
                    if await session.scalar(unfinished) is None:
                        return
                await asyncio.sleep(0.2)

    async def stop(self) -> None:
        await self.miz.stop()
        await asyncio.wait_for(self.task, timeout=30)

    async def restart(self) -> None:
        await self.stop()
        self.miz, self.task = await start_miz(self.settings, self.emu, self.webhook_port)


async def start_miz(
    settings: Settings, emu: RunningEmulator, webhook_port: int | None = None
) -> tuple[Miz, asyncio.Task[None]]:
    """Miz polling the emulator, or with ``webhook_port`` serving its webhooks there (``miz serve``)."""
    miz = Miz(settings, [BotSpec(platform, token, emu.base_url) for platform, token in TOKENS.items()])
    await miz.prepare()
    if webhook_port is None:
        return miz, asyncio.create_task(miz.run(polling_timeout=1))
    from bot.serve import serve

    base_url = f"http://127.0.0.1:{webhook_port}"
    return miz, asyncio.create_task(serve(miz, host="127.0.0.1", port=webhook_port, base_url=base_url))


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


_MIGRATED: list[Path] = []
"""This test process's migrated, empty SQLite database (made by the first test that needs one)."""


async def copy_migrated_sqlite(target: Path) -> None:
    """Put an empty database at the migrations' head at ``target``: a copy of one migrated once per test process.

    Running every migration costs about 0.4 s; Miz's start still runs ``upgrade`` on the copy, which finds
    nothing to do.
    """
    if not _MIGRATED:
        folder = Path(tempfile.mkdtemp(prefix="miz-e2e-migrated-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / "miz.sqlite3"
        await upgrade_async(f"sqlite+aiosqlite:///{template}")
        _MIGRATED.append(template)
    shutil.copyfile(_MIGRATED[0], target)


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    """A private copy of the built-in catalog, so a test may edit it and reload."""
    target = tmp_path / "catalog"
    shutil.copytree(PROJECT_ROOT / "catalog" / "data", target)
    shutil.copy(Path(__file__).parent / "data" / "e2e_all_fields.yaml", target / "services")
    falavarjan = target / "organizations" / "falavarjan.yaml"
    falavarjan.write_text(
        falavarjan.read_text(encoding="utf-8").replace(
            "clerks:\n",
            "clerks:\n"
            "  - {platform: telegram, user_id: 7199999001, name: {fa: کارشناس دوم}, role: clerk}\n"
            "  - {platform: bale, user_id: 7299999001, name: {fa: کارشناس دوم}, role: clerk}\n",
        ),
        encoding="utf-8",
    )
    return target


@contextlib.asynccontextmanager
async def running_world(
    tmp_path: Path,
    catalog_dir: Path,
    database_url: str | None = None,
    *,
    webhooks: bool = False,
    redis_url: str | None = None,
) -> AsyncIterator[World]:
    """Miz on a fresh emulator, on SQLite in ``tmp_path`` unless ``database_url`` names another (empty) database;
    polling, or with ``webhooks`` served as ``miz serve`` does (with ``redis_url``: its Redis)."""
    async with running_emulator() as emu:
        url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'miz.sqlite3'}"
        if database_url is None:
            await copy_migrated_sqlite(tmp_path / "miz.sqlite3")
        elif not url.startswith("sqlite"):
            await upgrade_async(url)
        settings = Settings(
            _env_file=None,
            database_url=url,
            files_dir=tmp_path / "files",
            catalog_dir=catalog_dir,
            telegram_token=None,
            bale_token=None,
            redis_url=redis_url,
            locale="fa",
            # SMS go to the emulator's Kavenegar gateway; tests read them with client.expect_sms.
            sms_provider="kavenegar",
            sms_api_base=emu.base_url,
            sms_api_key=SecretStr("e2e-key"),
            sms_sender="30007732",
            # The simulated people act the moment they are answered, faster than anyone types: flood control
            # would stop the longer conversations (tests/security/test_outages_and_floods.py turns it back on).
            flood_burst=10_000,
            # The weekly reports of a Saturday morning would post a chart in every group of every test.
            weekly_reports=False,
        )
        emu.add_bot(TOKENS[Platform.TELEGRAM], "telegram", username="miz_e2e_bot")
        emu.add_bot(TOKENS[Platform.BALE], "bale", username="miz_e2e_bale_bot")
        seed_operator_groups(emu, load_catalog(catalog_dir), TOKENS)
        webhook_port = free_port() if webhooks else None
        miz, task = await start_miz(settings, emu, webhook_port)
        async with EmulatorClient(emu.base_url) as client:
            world = World(emu, client, settings, miz, task, webhook_port)
            try:
                yield world
            finally:
                await world.stop()


@pytest.fixture
async def world(tmp_path: Path, catalog_dir: Path) -> AsyncIterator[World]:
    async with running_world(tmp_path, catalog_dir) as world:
        yield world


@pytest.fixture(params=[Platform.TELEGRAM, Platform.BALE], ids=["telegram", "bale"])
def platform(request: pytest.FixtureRequest) -> Platform:
    """Every end-to-end test runs in both dialects."""
    param: Platform = request.param
    return param


def png(width: int = 8, height: int = 6) -> bytes:
    """A small valid PNG image, as a phone camera would send (only smaller)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
"""A minimal PDF file (only its magic bytes matter to the document store)."""
