"""``miz doctor``: what a county admin gets wrong in an installation, found before citizens find it.

Each check asks the thing itself rather than reading the configuration back: the messengers (``getMe`` for each
token, ``getChatMember`` for the bot in every operator group of the catalog, ``getWebhookInfo``), the database (its
migration against the code's), Redis (``PING``), the files directory (a file written and removed, the free space),
the SMS gateway (its credit, where the gateway says it), and the catalog (valid, and how many sample values are
still in it). Every finding is a line in English and in Persian, like the other admin commands, saying what is
wrong and what to do; the exit status is 0 only when there is no problem. Warnings (sample values, credit running
low or unknown, a webhook not set yet because ``miz serve`` has not started) are printed but do not fail it.

"Admin where needed": with Telegram's privacy mode on (``getMe`` says ``can_read_all_group_messages`` is false) a
bot in a group sees only commands and replies to its own messages, so a clerk's answer typed after a button press
would never reach Miz; the bot must then be an administrator of every operator group.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO
from urllib.parse import urlsplit

from bot.ops_cli import one_line, say
from bot.platforms import Platform
from config.settings import Settings

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import User

    from bot.app import BotSpec
    from catalog.index import Catalog

__all__ = ["LOW_CREDIT", "MIN_FREE_BYTES", "Finding", "Level", "diagnose", "doctor", "report"]

MIN_FREE_BYTES: Final = 1024**3
"""Less free space than this under the files directory is a problem: a day of documents can take hundreds of MB."""

LOW_CREDIT: Final = {"rials": 1_000_000, "credits": 800}
"""Below this the SMS credit is running low (about 800 SMS parts either way)."""

TIMEOUT: Final = 10
"""Seconds any one question may take (a Bot API call, the SMS gateway, Redis)."""

_IN_GROUP: Final = frozenset({"member", "administrator", "creator", "restricted"})
_ADMIN: Final = frozenset({"administrator", "creator"})


class Level(StrEnum):
    """How bad a finding is: only a problem makes ``miz doctor`` fail."""

    OK = "✓"
    WARNING = "!"
    PROBLEM = "✗"


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the diagnosis: ``key`` is its message in ``locales/*/ops.po``, ``params`` fill it in."""

    level: Level
    key: str
    params: dict[str, Any] = field(default_factory=dict)


def _platform_name(platform: Platform) -> Callable[[str], str]:
    from desk.i18n import translator

    return lambda lang: translator(lang)(f"ops.platform.{platform.value}")


def _unit_name(unit: str) -> Callable[[str], str]:
    from desk.i18n import translator

    return lambda lang: translator(lang)(f"ops.unit.{unit}")


def _shown_webhook(url: str) -> str:
    """A webhook address without its secret path segment: safe to print."""
    parts = urlsplit(url)
    head, _, _secret = parts.path.rpartition("/")
    return f"{parts.scheme}://{parts.netloc}{head}/…" if head else f"{parts.scheme}://{parts.netloc}/…"


# ----------------------------------------------------------------------------------------------- catalog


def _check_catalog(settings: Settings) -> tuple[Catalog | None, list[Finding]]:
    from catalog.loader import check_catalog
    from catalog.samples import sample_marks

    catalog, problems = check_catalog(settings.catalog_dir, settings.cache_dir)
    if catalog is None:
        return None, [
            Finding(
                Level.PROBLEM,
                "ops.doctor.catalog.broken",
                {"count": len(problems), "dir": str(settings.catalog_dir)},
            )
        ]
    findings = [
        Finding(
            Level.OK,
            "ops.doctor.catalog.ok",
            {"organizations": len(catalog.organizations), "services": len(catalog.services)},
        )
    ]
    everyone = [*catalog.organizations, *catalog.agencies]
    organizations = [org.id for org in everyone if org.sample]
    codes = [org.id for org in everyone if org.billing is not None and org.billing.sample]
    marks = sample_marks(
        settings.catalog_dir
    )  # every mark: contacts, officials and tariffs too (miz catalog check)
    if marks:
        findings.append(
            Finding(
                Level.WARNING,
                "ops.doctor.catalog.samples",
                {
                    "count": len(marks),
                    "organizations": ", ".join(organizations) or "-",
                    "codes": ", ".join(codes) or "-",
                },
            )
        )
    else:
        findings.append(Finding(Level.OK, "ops.doctor.catalog.no_samples"))
    return catalog, findings


# ------------------------------------------------------------------------------------------------- bots


async def _ask_me(bot: Bot, spec: BotSpec) -> tuple[User | None, list[Finding]]:
    from aiogram.exceptions import (
        TelegramAPIError,
        TelegramNetworkError,
        TelegramNotFound,
        TelegramUnauthorizedError,
    )

    name = _platform_name(spec.platform)
    setting = f"MIZ_{spec.platform.value.upper()}_TOKEN"
    try:
        me = await bot.get_me(request_timeout=TIMEOUT)
    except (TelegramUnauthorizedError, TelegramNotFound):
        return None, [
            Finding(Level.PROBLEM, "ops.doctor.token.refused", {"platform": name, "setting": setting})
        ]
    except (TelegramNetworkError, TimeoutError, OSError) as exc:
        params = {"platform": name, "base": spec.api_base, "error": one_line(exc)}
        return None, [Finding(Level.PROBLEM, "ops.doctor.token.unreachable", params)]
    except TelegramAPIError as exc:
        return None, [
            Finding(Level.PROBLEM, "ops.doctor.token.error", {"platform": name, "error": exc.message})
        ]
    return me, [
        Finding(Level.OK, "ops.doctor.token.ok", {"platform": name, "username": me.username or me.id})
    ]


async def _check_webhook(bot: Bot, spec: BotSpec, settings: Settings) -> list[Finding]:
    from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

    from bot.serve import webhook_address

    name = _platform_name(spec.platform)
    try:
        info = await bot.get_webhook_info(request_timeout=TIMEOUT)
    except (TelegramAPIError, TelegramNetworkError, TimeoutError) as exc:
        return [
            Finding(Level.WARNING, "ops.doctor.webhook.unknown", {"platform": name, "error": one_line(exc)})
        ]
    if not settings.webhook_url:
        if info.url:
            return [
                Finding(
                    Level.PROBLEM,
                    "ops.doctor.webhook.while_polling",
                    {"platform": name, "url": _shown_webhook(info.url)},
                )
            ]
        return []
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    expected = webhook_address(settings.webhook_url, spec, secret or None)
    if not info.url:
        return [Finding(Level.WARNING, "ops.doctor.webhook.not_set", {"platform": name})]
    if info.url != expected:
        params = {"platform": name, "url": _shown_webhook(info.url), "expected": _shown_webhook(expected)}
        return [Finding(Level.PROBLEM, "ops.doctor.webhook.elsewhere", params)]
    findings = [
        Finding(Level.OK, "ops.doctor.webhook.ok", {"platform": name, "url": _shown_webhook(expected)})
    ]
    if info.last_error_message:
        params = {"platform": name, "error": info.last_error_message, "pending": info.pending_update_count}
        findings.append(Finding(Level.WARNING, "ops.doctor.webhook.failing", params))
    return findings


async def _membership(bot: Bot, chat_id: int, bot_id: int) -> str:
    """The bot's status in the group, or ``missing`` when the messenger does not let it see the group."""
    from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

    try:
        member = await bot.get_chat_member(chat_id, bot_id, request_timeout=TIMEOUT)
    except (TelegramBadRequest, TelegramForbiddenError):
        return "missing"
    return str(member.status)


async def _check_groups(bot: Bot, me: User, spec: BotSpec, catalog: Catalog) -> list[Finding]:
    name = _platform_name(spec.platform)
    needs_admin = not me.can_read_all_group_messages
    findings: list[Finding] = []
    groups = 0
    for org in [*catalog.organizations, *catalog.agencies]:
        chat_id = catalog.operator_group(org.id, spec.platform)
        if chat_id is None:
            continue
        groups += 1
        status = await _membership(bot, chat_id, me.id)
        params = {"platform": name, "org": org.id, "chat": str(chat_id)}
        if status not in _IN_GROUP:
            findings.append(Finding(Level.PROBLEM, "ops.doctor.group.not_member", params))
        elif needs_admin and status not in _ADMIN:
            findings.append(Finding(Level.PROBLEM, "ops.doctor.group.not_admin", params))
    if groups and not findings:
        findings.append(Finding(Level.OK, "ops.doctor.group.ok", {"platform": name, "groups": groups}))
    if not groups:
        findings.append(Finding(Level.WARNING, "ops.doctor.group.none", {"platform": name}))
    return findings


async def _check_bots(settings: Settings, catalog: Catalog | None) -> list[Finding]:
    from bot.app import bot_specs, make_bot, no_token_names

    specs = bot_specs(settings)
    if not specs:
        return [Finding(Level.PROBLEM, "ops.doctor.token.none", {"settings": no_token_names()})]
    findings: list[Finding] = []
    for spec in specs:
        bot = make_bot(spec)
        try:
            me, said = await _ask_me(bot, spec)
            findings += said
            if me is None:
                continue
            findings += await _check_webhook(bot, spec, settings)
            if catalog is not None:
                findings += await _check_groups(bot, me, spec, catalog)
        finally:
            await bot.session.close()
    return findings


# ------------------------------------------------------------------------------------- database and Redis


async def _check_database(settings: Settings) -> list[Finding]:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, DBAPIError
    from sqlalchemy.pool import NullPool

    from storage.db import create_engine, display_url
    from storage.migrate import current_revision, head_revision

    url = settings.database_url
    try:
        parsed = make_url(url)
        shown = display_url(parsed)
    except ArgumentError:
        return [Finding(Level.PROBLEM, "ops.doctor.db.bad_url", {"url": url})]
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and not await asyncio.to_thread(_exists, database):
        return [Finding(Level.PROBLEM, "ops.doctor.db.missing", {"url": shown})]
    try:
        engine = create_engine(url, poolclass=NullPool)
    except ValueError as exc:
        return [Finding(Level.PROBLEM, "ops.doctor.db.unreachable", {"url": shown, "error": one_line(exc)})]
    try:
        revision = await current_revision(engine)
    except (ArgumentError, DBAPIError, OSError, TimeoutError) as exc:
        return [Finding(Level.PROBLEM, "ops.doctor.db.unreachable", {"url": shown, "error": one_line(exc)})]
    finally:
        await engine.dispose()
    head = head_revision()
    if revision == head:
        return [Finding(Level.OK, "ops.doctor.db.ok", {"url": shown, "revision": revision or "-"})]
    params = {"url": shown, "revision": revision or "-", "head": head or "-"}
    return [Finding(Level.PROBLEM, "ops.doctor.db.behind", params)]


async def _check_redis(settings: Settings) -> list[Finding]:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError
    from sqlalchemy.engine import make_url

    if not settings.redis_url:
        return [Finding(Level.OK, "ops.doctor.redis.none")]
    shown = make_url(settings.redis_url).render_as_string(hide_password=True)
    client = Redis.from_url(settings.redis_url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        return [
            Finding(Level.PROBLEM, "ops.doctor.redis.unreachable", {"url": shown, "error": one_line(exc)})
        ]
    finally:
        await client.aclose()
    return [Finding(Level.OK, "ops.doctor.redis.ok", {"url": shown})]


# ------------------------------------------------------------------------------------------- files, SMS


def _check_files(settings: Settings) -> list[Finding]:
    folder = settings.files_dir
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if folder.exists():
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
                pass
        elif not existing.is_dir() or not _writable(existing):
            raise PermissionError(str(existing))
    except OSError as exc:
        return [
            Finding(
                Level.PROBLEM, "ops.doctor.files.not_writable", {"path": str(folder), "error": one_line(exc)}
            )
        ]
    free = shutil.disk_usage(existing).free
    params = {"path": str(folder), "free": free // 1024**3 if free >= 1024**3 else 0, "mb": free // 1024**2}
    if free < MIN_FREE_BYTES:
        return [Finding(Level.PROBLEM, "ops.doctor.files.low_space", params)]
    return [Finding(Level.OK, "ops.doctor.files.ok", params)]


def _exists(path: str) -> bool:
    return Path(path).exists()


def _writable(folder: Path) -> bool:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            return True
    except OSError:
        return False


async def _check_sms(settings: Settings) -> list[Finding]:
    from bot.sms import SmsOutcome, create_sms_provider

    if settings.sms_provider == "none":
        return [Finding(Level.OK, "ops.doctor.sms.off")]
    provider_name = settings.sms_provider
    try:
        provider = create_sms_provider(settings)
    except ValueError as exc:
        return [
            Finding(Level.PROBLEM, "ops.doctor.sms.config", {"provider": provider_name, "error": str(exc)})
        ]
    try:
        credit = await provider.credit()
    finally:
        await provider.close()
    if credit is None:
        return [Finding(Level.WARNING, "ops.doctor.sms.unknown", {"provider": provider_name, "error": "-"})]
    if credit.amount is None:
        failed = {"provider": provider_name, "error": credit.error or "-"}
        if credit.outcome is SmsOutcome.FAILED:
            return [Finding(Level.PROBLEM, "ops.doctor.sms.refused", failed)]
        return [Finding(Level.WARNING, "ops.doctor.sms.unknown", failed)]
    amount = int(credit.amount)
    params: dict[str, Any] = {"provider": provider_name, "amount": amount, "unit": _unit_name(credit.unit)}
    if amount <= 0:
        return [Finding(Level.PROBLEM, "ops.doctor.sms.empty", params)]
    if amount < LOW_CREDIT.get(credit.unit, 0):
        return [Finding(Level.WARNING, "ops.doctor.sms.low", params)]
    return [Finding(Level.OK, "ops.doctor.sms.ok", params)]


# ---------------------------------------------------------------------------------------------- command


async def diagnose(settings: Settings) -> list[Finding]:
    """Every finding, in the order an admin would fix them: the catalog, the bots, the stores, the gateway."""
    catalog, findings = await asyncio.to_thread(_check_catalog, settings)
    findings += await _check_bots(settings, catalog)
    findings += await _check_database(settings)
    findings += await _check_redis(settings)
    findings += await asyncio.to_thread(_check_files, settings)
    findings += await _check_sms(settings)
    return findings


def doctor(*, out: TextIO | None = None, settings: Settings | None = None) -> int:
    """``miz doctor``: print every finding and what to do; exit status 0 only when nothing is a problem."""
    return report(asyncio.run(diagnose(settings or Settings())), out or sys.stdout)


def report(findings: list[Finding], out: TextIO) -> int:
    """Print ``findings`` and the summary; the exit status (1 when any is a problem)."""
    for finding in findings:
        say(out, finding.key, mark=finding.level.value, **finding.params)
    problems = sum(1 for f in findings if f.level is Level.PROBLEM)
    warnings = sum(1 for f in findings if f.level is Level.WARNING)
    if problems:
        say(out, "ops.doctor.summary.problems", problems=problems, warnings=warnings)
        return 1
    say(out, "ops.doctor.summary.well", warnings=warnings)
    return 0
