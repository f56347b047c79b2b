"""``miz doctor`` against the emulator: a healthy installation passes, and each usual mistake of a county admin
(a bot left out of a group or not its administrator, a wrong token, a database not migrated, an empty SMS account, a
webhook pointing elsewhere) fails it with the line that says what to fix, in English and Persian."""

from __future__ import annotations

import io
import socket
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.cli import main as miz
from bot.demo import seed_operator_groups
from bot.doctor import diagnose, report
from bot.platforms import Platform
from catalog import load_catalog
from catalog.samples import sample_marks
from config.settings import PROJECT_ROOT, Settings
from emulator.server import RunningEmulator, running_emulator
from emulator.state import Webhook
from storage.migrate import upgrade_async
from tests.conftest import REDIS_URL, redis_unreachable, skip_or_fail

TOKENS = {Platform.TELEGRAM: "110201543:doctor-telegram", Platform.BALE: "220301654:doctor-bale"}
CATALOG = load_catalog(PROJECT_ROOT / "catalog" / "data")
FALAVARJAN = CATALOG.operator_group("falavarjan", "telegram")


@dataclass
class Setup:
    emu: RunningEmulator
    settings: Settings

    def with_(self, **changes: Any) -> Settings:
        return self.settings.model_copy(update=changes)


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    """Both bots in every operator group of the shipped catalog, as administrators; a migrated SQLite database;
    Kavenegar on the emulator with credit."""
    async with running_emulator() as emu:
        for platform, token in TOKENS.items():
            emu.add_bot(token, platform.value, username=f"miz_{platform.value}_bot")
        seed_operator_groups(emu, CATALOG, TOKENS)  # the agencies' groups too: the doctor checks them all
        emu.state.sms_gateway.credit = 50_000_000
        url = f"sqlite+aiosqlite:///{tmp_path / 'miz.sqlite3'}"
        await upgrade_async(url)
        settings = Settings(
            _env_file=None,
            database_url=url,
            files_dir=tmp_path / "files",
            cache_dir=tmp_path / "cache",
            telegram_token=SecretStr(TOKENS[Platform.TELEGRAM]),
            telegram_api_base=emu.base_url,
            bale_token=SecretStr(TOKENS[Platform.BALE]),
            bale_api_base=emu.base_url,
            sms_provider="kavenegar",
            sms_api_base=emu.base_url,
            sms_api_key=SecretStr("doctor-key"),
        )
        yield Setup(emu, settings)


async def run_doctor(settings: Settings) -> tuple[int, str]:
    out = io.StringIO()
    return report(await diagnose(settings), out), out.getvalue()


def bot_id(emu: RunningEmulator, platform: Platform) -> int:
    return emu.state.bots[TOKENS[platform]].id


async def test_a_healthy_installation_passes(setup: Setup) -> None:
    code, out = await run_doctor(setup.settings)
    assert code == 0, out
    assert "✓ Telegram: the token works (@miz_telegram_bot)" in out
    assert "✓ تلگرام: توکن کار می‌کند" in out
    assert "✓ Bale: the bot is in all" in out
    assert "is reachable and migrated" in out
    assert "✓ SMS: kavenegar credit 50,000,000 rials" in out
    assert "✓ پیامک: اعتبار kavenegar ۵۰٬۰۰۰٬۰۰۰ ریال" in out
    marks = len(sample_marks(PROJECT_ROOT / "catalog" / "data"))
    assert f"{marks} sample value(s) still in it" in out, (
        "every sample mark is counted (as miz catalog check lists them)"
    )
    assert "all is well" in out
    assert "✗" not in out
    assert "<function" not in out


async def test_each_usual_mistake_fails_with_what_to_fix(setup: Setup, tmp_path: Path) -> None:
    state = setup.emu.state
    falavarjan_bale = CATALOG.operator_group("falavarjan", "bale")
    assert FALAVARJAN is not None
    assert falavarjan_bale is not None
    state.groups[falavarjan_bale].bots.pop(bot_id(setup.emu, Platform.BALE))  # never added to the group
    state.groups[FALAVARJAN].bots[bot_id(setup.emu, Platform.TELEGRAM)] = (
        "member"  # privacy mode, not an admin
    )
    state.sms_gateway.credit = 0
    settings = setup.with_(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'never-upgraded.sqlite3'}",
        bale_token=SecretStr("220301654:wrong"),
    )
    code, out = await run_doctor(settings)
    assert code == 1
    assert (
        "✗ Bale: the token was refused → get the bot's token again (BotFather) and set MIZ_BALE_TOKEN" in out
    )
    assert "✗ بله: توکن پذیرفته نشد" in out
    assert (
        f"✗ Telegram: the bot is not an administrator of the operator group of 'falavarjan' (chat {FALAVARJAN})"
    ) in out
    assert "make it an administrator" in out
    assert "✗ database: there is none at" in out
    assert "run `miz db upgrade`" in out
    assert "✗ SMS: kavenegar has no credit left → top up the account" in out
    assert "ایراد" in out

    # With the right token, the Bale bot's missing group is found too.
    code, out = await run_doctor(setup.with_(database_url=settings.database_url))
    assert code == 1
    assert f"✗ Bale: the bot is not in the operator group of 'falavarjan' (chat {falavarjan_bale})" in out
    assert "ربات در گروه کاری «falavarjan»" in out


async def test_a_database_behind_the_code_and_webhooks_elsewhere(setup: Setup, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    with sqlite3.connect(tmp_path / "old.sqlite3") as connection:  # a database some migrations behind
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('0013')")
    bot = setup.emu.state.bots[TOKENS[Platform.TELEGRAM]]
    bot.webhook = Webhook(url="https://old-host.example/webhook/telegram/0123456789abcdef")
    code, out = await run_doctor(setup.with_(database_url=url, webhook_url="https://miz.example.ir"))
    assert code == 1
    assert "is at migration 0013, this Miz at" in out
    assert "✗ Telegram: the webhook points at https://old-host.example/webhook/telegram/…" in out
    assert "0123456789abcdef" not in out, "a webhook's secret path is never printed"
    assert "! Bale: no webhook set yet → `miz serve` sets it when it starts" in out


def test_miz_doctor_without_a_token_says_which_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("MIZ_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'none.sqlite3'}")
    monkeypatch.setenv("MIZ_FILES_DIR", str(tmp_path / "files"))
    for name in ("MIZ_TELEGRAM_TOKEN", "MIZ_BALE_TOKEN", "MIZ_REDIS_URL", "MIZ_SMS_PROVIDER"):
        monkeypatch.delenv(name, raising=False)
    assert miz(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "✗ no bot token → set MIZ_TELEGRAM_TOKEN and/or MIZ_BALE_TOKEN" in out
    assert "✓ Redis: not configured" in out
    assert "✓ SMS: off" in out


async def test_sms_ir_credit_and_a_refused_key(setup: Setup) -> None:
    smsir = setup.with_(sms_provider="smsir", sms_sender="30007732", sms_verify_template="100000")
    code, out = await run_doctor(smsir)
    assert code == 0, out
    assert "✓ SMS: smsir credit 41,666 credits" in out  # 50,000,000 rials at 1,200 a part

    setup.emu.state.sms_gateway.api_key = "the-real-key"
    code, out = await run_doctor(smsir)
    assert code == 1
    assert "✗ SMS: smsir refused the request (10: invalid API key) → check MIZ_SMS_API_KEY" in out
    code, out = await run_doctor(setup.settings)
    assert "✗ SMS: kavenegar refused the request (403: invalid API key)" in out


async def test_redis_reachable_or_not(setup: Setup) -> None:
    reason = await redis_unreachable()
    if reason:
        skip_or_fail(reason)
    code, out = await run_doctor(setup.with_(redis_url=REDIS_URL))
    assert code == 0, out
    assert "✓ Redis: redis://127.0.0.1:6379" in out
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out = await run_doctor(setup.with_(redis_url=f"redis://:secret@127.0.0.1:{port}/0"))
    assert code == 1
    assert f"✗ Redis: redis://:***@127.0.0.1:{port}/0 cannot be reached" in out
    assert "secret" not in out, "a password in the URL is never printed"
