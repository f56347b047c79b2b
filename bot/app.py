"""Assemble Miz: settings, catalog, database, the two bots and one Dispatcher that serves both.

``create_dispatcher`` is shared by ``miz run``, ``miz demo`` and the end-to-end tests, so they all run the
same bot. Long-lived objects go into the Dispatcher's keyword arguments; per-update ones come from the
outer middlewares.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.dialogs import browse, form, track
from bot.fsm import make_fsm_storage
from bot.handlers import errors, fallback, start
from bot.locale_store import CitizenLocales
from bot.middlewares import ContextMiddleware, LocaleStore, SkipEmptyUpdates
from bot.platforms import Platform
from bot.session import make_session
from catalog.loader import CatalogHolder
from desk.privacy import RedactingFilter
from desk.settings import Settings
from desk.throttle import tracking_throttle
from storage.db import create_engine, session_factory
from storage.files import DocumentStore
from storage.migrate import upgrade_async

__all__ = ["BotSpec", "Miz", "create_dispatcher", "make_bot", "run_bots", "setup_logging"]

logger = logging.getLogger("miz")


@dataclass(frozen=True, slots=True)
class BotSpec:
    """One bot to run: its platform, token and API base URL."""

    platform: Platform
    token: str
    api_base: str


def make_bot(spec: BotSpec) -> Bot:
    """An aiogram Bot for ``spec``: HTML on Telegram, no parse_mode on Bale (it has none)."""
    parse_mode = ParseMode.HTML if spec.platform.has_html else None
    return Bot(
        token=spec.token,
        session=make_session(spec.api_base),
        default=DefaultBotProperties(parse_mode=parse_mode, link_preview_is_disabled=True),
    )


def create_dispatcher(
    *,
    settings: Settings,
    catalogs: CatalogHolder,
    platforms: Mapping[int, Platform],
    fsm_storage: BaseStorage,
    locales: LocaleStore,
    factory: async_sessionmaker[AsyncSession],
    documents: DocumentStore,
) -> Dispatcher:
    """The Dispatcher of Miz with every router in order, catch-alls last."""
    dp = Dispatcher(
        storage=fsm_storage,
        settings=settings,
        catalogs=catalogs,
        locales=locales,
        session_factory=factory,
        documents=documents,
        throttle=tracking_throttle(),
    )
    dp.update.outer_middleware(SkipEmptyUpdates())
    dp.update.outer_middleware(ContextMiddleware(platforms, settings.locale, locales))
    dp.include_routers(
        errors.router(), start.router(), form.router(), track.router(), browse.router(), fallback.router()
    )
    return dp


def setup_logging(level: int = logging.INFO) -> None:
    """Log to stderr with national IDs and phone numbers masked in every record."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redactor = RedactingFilter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)


@dataclass
class Miz:
    """A running Miz: the database, the catalog, the bots and their Dispatcher."""

    settings: Settings
    specs: Sequence[BotSpec]
    engine: AsyncEngine = field(init=False)
    factory: async_sessionmaker[AsyncSession] = field(init=False)
    catalogs: CatalogHolder = field(init=False)
    bots: list[Bot] = field(init=False)
    dispatcher: Dispatcher = field(init=False)

    async def prepare(self) -> None:
        """Load the catalog (refusing a broken one), upgrade a SQLite database, and build the Dispatcher."""
        self.catalogs = CatalogHolder(self.settings.catalog_dir)
        if self.settings.database_url.startswith("sqlite"):
            await upgrade_async(self.settings.database_url)
        self.engine = create_engine(self.settings.database_url)
        self.factory = session_factory(self.engine)
        self.bots = [make_bot(spec) for spec in self.specs]
        platforms = {bot.id: spec.platform for bot, spec in zip(self.bots, self.specs, strict=True)}
        self.dispatcher = create_dispatcher(
            settings=self.settings,
            catalogs=self.catalogs,
            platforms=platforms,
            fsm_storage=make_fsm_storage(self.settings.redis_url, self.factory),
            locales=CitizenLocales(self.factory),
            factory=self.factory,
            documents=DocumentStore(self.settings.files_dir, self.settings.max_document_bytes),
        )

    async def run(self, polling_timeout: int = 30) -> None:
        """Poll every bot until stopped; one update never blocks another (handled as tasks)."""
        await self.dispatcher.start_polling(
            *self.bots, polling_timeout=polling_timeout, handle_signals=False, close_bot_session=True
        )

    async def stop(self) -> None:
        """Stop polling (if running) and release the database."""
        if self.dispatcher._running_lock.locked():
            await self.dispatcher.stop_polling()
        await self.dispatcher.storage.close()
        await self.engine.dispose()


def run_bots() -> int:
    """``miz run``: both platforms whose tokens are configured, by long polling."""
    setup_logging()
    settings = Settings()
    specs = [
        BotSpec(platform, token.get_secret_value(), base)
        for platform, token, base in (
            (Platform.TELEGRAM, settings.telegram_token, settings.telegram_api_base),
            (Platform.BALE, settings.bale_token, settings.bale_api_base),
        )
        if token is not None and token.get_secret_value()
    ]
    if not specs:
        logger.error("no bot token: set MIZ_TELEGRAM_TOKEN and/or MIZ_BALE_TOKEN (or try `make demo`)")
        return 2
    miz = Miz(settings, specs)

    async def main() -> None:
        await miz.prepare()
        try:
            await miz.run()
        finally:
            await miz.stop()

    asyncio.run(main())
    return 0
