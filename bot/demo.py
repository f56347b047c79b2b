"""``miz demo`` / ``make demo``: Miz against the local emulator, with no token and no network.

Starts the emulator (a Telegram bot and a Bale bot), a demo operator group with a demo clerk for every
organization of the catalog that names one, the built-in catalog, a SQLite database under ``var/demo``,
and both bots polling the emulator; then prints the address of the web chat page.

Ctrl-C stops the bots before the emulator. The emulator's people are kept beside the database (``people.json``), so a restarted demo knows them again
and never gives a newcomer an earlier person's id, which would show them that person's requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from bot.app import BotSpec, Miz, setup_logging, tune_garbage_collector
from bot.demo_records import DEMO_CERTIFICATE_CODE, DEMO_DUES_CODE, DEMO_NATIONAL_ID, seed_demo_records
from bot.platforms import Platform
from catalog.index import Catalog
from config.settings import PROJECT_ROOT, Settings
from desk.certificates import format_certificate_code
from desk.i18n import translator
from desk.persian import to_persian_digits
from emulator import DEMO_BALE_TOKEN, DEMO_TELEGRAM_TOKEN
from emulator.cli import demo_state
from emulator.server import RunningEmulator, running_emulator

__all__ = ["run_demo", "seed_operator_groups"]

DEMO_DIR = PROJECT_ROOT / "var" / "demo"
_TOKENS = {Platform.TELEGRAM: DEMO_TELEGRAM_TOKEN, Platform.BALE: DEMO_BALE_TOKEN}


def demo_settings(emulator_url: str | None = None, directory: Path = DEMO_DIR) -> Settings:
    """The demo's own database and files in ``directory`` (``var/demo``), the built-in catalog, Persian; SMS go to
    the emulator's Kavenegar gateway, so the chat page's phone panel shows them."""
    return Settings(
        database_url=f"sqlite+aiosqlite:///{directory / 'miz.sqlite3'}",
        files_dir=directory / "files",
        catalog_dir=PROJECT_ROOT / "catalog" / "data",
        telegram_token=None,
        bale_token=None,
        redis_url=None,
        sms_provider="kavenegar" if emulator_url else "none",
        sms_api_base=emulator_url,
        sms_api_key=SecretStr("demo-key") if emulator_url else None,
        sms_sender="10004346" if emulator_url else None,
        # Any token opens the emulator's Bale wallet: the chat page pays invoices with a button.
        bale_provider_token=SecretStr("demo-bale-wallet") if emulator_url else None,
    )


def seed_operator_groups(
    emu: RunningEmulator, catalog: Catalog, tokens: Mapping[Platform, str] = _TOKENS
) -> int:
    """Create each organization's and agency's operator group (with the catalog's chat ids) and its demo clerks."""
    state = emu.state
    created = 0
    for org in [*catalog.organizations, *catalog.agencies]:
        for platform, token in tokens.items():
            chat_id = catalog.operator_group(org.id, platform.value)
            if chat_id is None:
                continue
            clerks = [c for c in catalog.clerks(org.id) if c.platform.value == platform.value]
            members = []
            for clerk in clerks:
                user = state.users.get(clerk.user_id) or state.add_user(
                    first_name=clerk.name.get("fa"), user_id=clerk.user_id
                )
                members.append(user.id)
            bot = state.bots[token]
            state.add_group([bot], org.name.get("fa"), members, members, chat_id=chat_id)
            created += 1
    return created


async def _demo(host: str, port: int, directory: Path) -> None:
    t = translator("fa")
    state = demo_state()
    state.keep_people(directory / "people.json")
    try:
        context = running_emulator(host=host, port=port, state=state)
        emu = await context.__aenter__()
    except OSError:
        print(t("bot.demo.port_busy", port=port), flush=True)
        context = running_emulator(host=host, port=0, state=state)
        emu = await context.__aenter__()
    settings = demo_settings(emu.base_url, directory)
    try:
        miz = Miz(settings, [BotSpec(platform, token, emu.base_url) for platform, token in _TOKENS.items()])
        await miz.prepare()
        groups = seed_operator_groups(emu, miz.catalogs.catalog)
        await seed_demo_records(miz.factory, miz.catalogs.catalog)
        tune_garbage_collector()
        summary = miz.catalogs.catalog.summary()
        print(
            t(
                "bot.demo.ready",
                url=emu.base_url + "/",
                groups=to_persian_digits(groups),
                services=to_persian_digits(summary.services),
            ),
            flush=True,
        )
        print(
            t(
                "dues.demo.ready",
                code=to_persian_digits(DEMO_DUES_CODE),
                national_id=to_persian_digits(DEMO_NATIONAL_ID),
                certificate=format_certificate_code(DEMO_CERTIFICATE_CODE),
            ),
            flush=True,
        )
        await _run_until_interrupted(miz)
    finally:
        await context.__aexit__(None, None, None)


async def _run_until_interrupted(miz: Miz) -> None:
    """Run the bots until Ctrl-C (or SIGTERM), then stop them while the emulator still answers.

    Polling ends and the outbox is put away first, and only then does the caller stop the emulator, so a clean
    stop logs no "cannot connect" error. (On Ctrl-C ``asyncio.run`` would cancel the run instead, which leaves
    aiogram's polling tasks asking an emulator that is already gone.)
    """
    loop = asyncio.get_running_loop()
    interrupted = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, interrupted.set)
    running = asyncio.create_task(miz.run(polling_timeout=10), name="miz-demo")
    waiting = asyncio.create_task(interrupted.wait(), name="miz-demo-interrupt")
    try:
        await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        waiting.cancel()
        await miz.stop()
        await running  # the bots' own failure, if that is what ended the run


def run_demo(host: str = "127.0.0.1", port: int = 8081, directory: Path | None = None) -> int:
    """Run the demo until Ctrl-C, keeping its database, files and people in ``directory`` (``var/demo``)."""
    setup_logging(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_demo(host, port, directory or DEMO_DIR))
    print(translator("fa")("bot.demo.stopped"), flush=True)
    return 0
