"""Assemble Miz: settings, catalog, database, the two bots and one Dispatcher that serves both.

``create_dispatcher`` is shared by ``miz run``, ``miz demo`` and the end-to-end tests, so they all run the
same bot. Long-lived objects go into the Dispatcher's keyword arguments; per-update ones come from the
outer middlewares.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramForbiddenError
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.redis import RedisStorage
from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import payments
from bot.clerks import ClerkRegistry
from bot.cluster_jobs import ClusterJobs, Job, PeriodicTask
from bot.dialogs import (
    answers,
    browse,
    completion,
    dues,
    fees,
    followup,
    form,
    mine,
    sms_settings,
    track,
    verify,
    verify_phone,
)
from bot.dispatcher import MizDispatcher
from bot.filters import route_by_state, route_callbacks_by_prefix, run_filters_inline
from bot.fsm import DatabaseStorage, key_conversations_by_bot, make_fsm_storage
from bot.handlers import commands, errors, fallback, inquiries, operator, reports, start
from bot.health import Readiness, setup_health, side_server
from bot.inquiry_cards import answer_file_sender, closed_card_drawer, inquiry_drawer
from bot.locale_store import CitizenLocales
from bot.log_context import JsonFormatter
from bot.metrics import setup_metrics
from bot.middlewares import (
    AlbumCollector,
    ContextMiddleware,
    FloodControl,
    FlushConversations,
    LocaleStore,
    SkipEmptyUpdates,
)
from bot.notifier import Notifier, NotifyAll
from bot.operator_cards import card_drawer
from bot.outbox import OutboxSender, PayloadHandler
from bot.payments import invoice_sender
from bot.platforms import Platform
from bot.ratelimit import SendLimiter, limits_for
from bot.routing import the_governorate
from bot.scheduler import DigestScheduler
from bot.session import make_session
from bot.sms import SmsProvider, create_sms_provider
from bot.sms_sender import SmsSender
from catalog.index import NotInCatalogError
from catalog.loader import CatalogHolder
from config.settings import Settings
from desk.access import rehome_anonymous_complaints
from desk.certificates import certificate_throttle
from desk.deeplinks import deep_link
from desk.dues import dues_throttle
from desk.inquiry_ends import CLOSED_PAYLOAD
from desk.privacy import RedactingFilter
from desk.report_digests import REPORT_PAYLOAD
from desk.sms import queue_request_sms
from desk.throttle import Limiter, tracking_code_throttle, tracking_throttle
from storage.db import create_engine, session_factory
from storage.files import DocumentStore
from storage.locks import HeldLock, try_lock
from storage.migrate import upgrade_async
from storage.models import OutboxMessage
from storage.repositories import Citizens, GroupMessages, Outbox, Requests
from storage.uow import unit_of_work

__all__ = [
    "ALREADY_POLLED",
    "NO_TOKEN",
    "BotSpec",
    "Miz",
    "Throttles",
    "bot_specs",
    "create_dispatcher",
    "make_bot",
    "make_send_limiters",
    "make_throttles",
    "no_token_names",
    "run_bots",
    "setup_logging",
    "tune_garbage_collector",
]

logger = logging.getLogger("miz")


ALREADY_POLLED = (
    "%s: another `miz run` already polls this bot token, and a token can be polled by one process only (a "
    "second one makes the messenger answer 409 Conflict to both); not starting. Stop the other one first, or run "
    "several workers by webhook (`miz serve`, docs/ARCHITECTURE.md)"
)
"""What ``miz run`` says when it refuses to start a second poller of a token (``%s``: the platform)."""


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


def tune_garbage_collector() -> None:
    """Set the collector for a long-running bot that makes many short-lived objects per update (call it once,
    after start-up: ``miz run``, ``miz demo`` and ``make bench`` do; tests do not, so they keep Python's defaults).

    Everything made at start-up (modules, catalog, templates, routers) is moved out of the collector's
    reach (``gc.freeze``), so a full collection no longer walks it; and the youngest generation is collected
    after 10,000 allocations instead of 700, since nearly every object of an update dies with it. Measured
    with ``make bench`` (4 rounds): bot CPU per update 2.18 -> 2.02 ms with the freeze, 1.94 ms with both,
    for 6 MB more peak RSS.
    """
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


@dataclass(frozen=True, slots=True)
class Throttles:
    """The guessing limits: the dialogs' ``throttle``, ``track_code_throttle``, ``dues_throttle`` and
    ``certificate_throttle``."""

    track: Limiter
    dues: Limiter
    certificate: Limiter
    track_code: Limiter
    """Per tracking code, whoever guesses (``desk.throttle.tracking_code_throttle``)."""


def make_throttles(settings: Settings, fsm_storage: BaseStorage) -> Throttles:
    """The limits of tracking, dues and certificates: in Redis when ``MIZ_REDIS_URL`` is set, else in memory.

    With Redis, several workers may serve the same citizens (the conversations are in Redis too), so the
    counts must be shared, or a guesser would get the limit once per worker; and a restart must not reset
    them. They use the conversation storage's client, so a worker has one connection pool, closed with the
    storage when Miz stops.
    """
    track, dues, certificate = tracking_throttle(), dues_throttle(), certificate_throttle()
    track_code = tracking_code_throttle()
    if not settings.redis_url:
        return Throttles(track, dues, certificate, track_code)
    from aiogram.fsm.storage.redis import RedisStorage

    from storage.throttle import RedisThrottle

    if not isinstance(fsm_storage, RedisStorage):
        raise ValueError("MIZ_REDIS_URL is set but the conversations are not in Redis (see make_fsm_storage)")
    redis = fsm_storage.redis
    return Throttles(
        RedisThrottle.like(track, redis, "track"),
        RedisThrottle.like(dues, redis, "dues"),
        RedisThrottle.like(certificate, redis, "certificate"),
        RedisThrottle.like(track_code, redis, "track-code"),
    )


def make_send_limiters(
    settings: Settings, fsm_storage: BaseStorage, bots: Mapping[str, Bot]
) -> dict[str, SendLimiter] | None:
    """The outbox's send limits per platform, in Redis when ``MIZ_REDIS_URL`` is set, so that every worker's sends
    count against the same limits (:mod:`bot.shared_limits`; the conversation storage's client, as for
    :func:`make_throttles`); None without Redis: each process would have its own, so only one sends
    (``OutboxSender.locker``)."""
    if not settings.redis_url:
        return None
    from aiogram.fsm.storage.redis import RedisStorage

    from bot.shared_limits import SharedSendLimiter

    if not isinstance(fsm_storage, RedisStorage):
        raise ValueError("MIZ_REDIS_URL is set but the conversations are not in Redis (see make_fsm_storage)")

    return {
        platform: SharedSendLimiter(limits_for(platform), fsm_storage.redis, f"{platform}:{bot.id}")
        for platform, bot in bots.items()
    }


def create_dispatcher(
    *,
    settings: Settings,
    catalogs: CatalogHolder,
    platforms: Mapping[int, Platform],
    fsm_storage: BaseStorage,
    locales: LocaleStore,
    factory: async_sessionmaker[AsyncSession],
    documents: DocumentStore,
    outbox: Notifier,
    clerks: ClerkRegistry,
) -> Dispatcher:
    """The Dispatcher of Miz with every router in order, catch-alls last."""
    throttles = make_throttles(settings, fsm_storage)
    dp = MizDispatcher(
        platforms=platforms,
        default_lang=settings.locale,
        storage=fsm_storage,
        settings=settings,
        catalogs=catalogs,
        locales=locales,
        session_factory=factory,
        documents=documents,
        throttle=throttles.track,
        track_code_throttle=throttles.track_code,
        dues_throttle=throttles.dues,
        certificate_throttle=throttles.certificate,
        outbox=outbox,
        clerks=clerks,
        submitting=form.Submitting(),
    )
    if isinstance(fsm_storage, DatabaseStorage):
        dp.update.outer_middleware(FlushConversations(fsm_storage))
    dp.update.outer_middleware(SkipEmptyUpdates())
    dp.update.outer_middleware(ContextMiddleware(platforms, settings.locale, locales))
    dp.update.outer_middleware(
        FloodControl(burst=settings.flood_burst, quiet_seconds=settings.flood_quiet_seconds)
    )
    dp.update.outer_middleware(
        AlbumCollector(redis=fsm_storage.redis if isinstance(fsm_storage, RedisStorage) else None)
    )
    dp.include_routers(
        errors.router(platforms, settings.locale),
        reports.router(),
        inquiries.router(),  # before the operator's: it takes the card's inquiry buttons
        operator.router(),
        payments.router(),
        commands.router(),  # before every dialog: no conversation state swallows a command
        start.router(),
        answers.reply_router(),
        form.router(),
        completion.router(),
        verify_phone.router(),
        followup.router(),
        dues.router(),
        verify.router(),
        mine.router(),
        track.router(),
        fees.router(),
        sms_settings.router(),
        browse.router(),
        answers.router(),
        browse.search_router(),
        fallback.router(),
    )
    logger.debug("callback queries routed by prefix to %s", route_callbacks_by_prefix(dp))
    logger.debug("updates routed by conversation state to %s", route_by_state(dp))
    run_filters_inline(dp)
    return dp


async def sms_when_blocked(session: AsyncSession, row: OutboxMessage, error: BaseException) -> None:
    """A citizen who blocked the bot still hears of their request: one SMS per request and status."""
    if not isinstance(error, TelegramForbiddenError) or row.request_id is None or (row.chat_id or 0) <= 0:
        return
    request = await Requests(session).get(row.request_id)
    if request is None or request.id is None:
        return
    citizen = await Citizens(session).get(request.citizen_id)
    if citizen is None or citizen.chat_id != row.chat_id:
        return  # the failed message was not for the citizen who filed it
    if row.dedupe_key.endswith(":citizen") and await Outbox(session).has_key(
        row.dedupe_key.removesuffix(":citizen") + ":sms"
    ):
        return  # this stage already has its own SMS
    await queue_request_sms(
        session,
        citizen,
        request,
        key="sms.blocked",
        dedupe_key=f"request:{request.id}:sms:blocked:{request.status}",
    )


async def link_relayed(session: AsyncSession, row: OutboxMessage, message_id: int | None) -> None:
    """Remember which request a message relayed into an operator group, or sent to the citizen, is about, so a
    clerk's or the citizen's reply to it finds the request (``desk.bridge``)."""
    if message_id is None or row.request_id is None or row.chat_id is None or row.platform is None:
        return
    if row.payload.get("type") == "card":
        return
    await GroupMessages(session).link(
        platform=row.platform,
        chat_id=row.chat_id,
        message_id=message_id,
        request_id=row.request_id,
        kind="relay" if row.chat_id < 0 else "citizen",
    )


def setup_logging(level: int = logging.INFO, *, json_lines: bool = False) -> None:
    """Log to stderr with national IDs, phone numbers and bot tokens masked in every record; one JSON object per
    line with the update, platform, organization and request where known when ``json_lines``
    (``MIZ_LOG_FORMAT=json``, :mod:`bot.log_context`)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if json_lines:
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    # aiogram logs every handled update at INFO: a flood would fill the log with one line per message.
    logging.getLogger("aiogram.event").setLevel(max(level, logging.WARNING))
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
    outbox: OutboxSender = field(init=False)
    sms: SmsSender = field(init=False)
    sms_provider: SmsProvider = field(init=False)
    clerks: ClerkRegistry = field(init=False)
    _locks: list[HeldLock] = field(init=False, default_factory=list)
    _stop_requested: asyncio.Event = field(init=False, default_factory=asyncio.Event)

    async def prepare(self) -> None:
        """Load the catalog (refusing a broken one), upgrade a SQLite database, and build the Dispatcher."""
        self.catalogs = CatalogHolder(self.settings.catalog_dir, cache_dir=self.settings.cache_dir)
        if self.settings.database_url.startswith("sqlite"):
            await upgrade_async(self.settings.database_url)
        self.engine = create_engine(self.settings.database_url)
        self.factory = session_factory(self.engine)
        governorate = the_governorate(self.catalogs.catalog)
        if governorate is not None:
            async with unit_of_work(self.factory, write=True) as session:
                await rehome_anonymous_complaints(session, governorate)
        self.bots = [make_bot(spec) for spec in self.specs]
        platforms = {bot.id: spec.platform for bot, spec in zip(self.bots, self.specs, strict=True)}
        documents = DocumentStore(self.settings.files_dir, self.settings.max_document_bytes)
        self.clerks = ClerkRegistry(self.factory, self.catalogs)
        await self.clerks.load()
        handlers: dict[str, PayloadHandler] = {
            "card": card_drawer(self.factory, self.clerks, documents, self.catalogs),
            "inquiry": inquiry_drawer(self.factory, documents, self.catalogs),
            "inquiry_file": answer_file_sender(self.factory, documents, self.catalogs),
            CLOSED_PAYLOAD: closed_card_drawer(self.factory, self.catalogs),
            REPORT_PAYLOAD: reports.report_sender(self.factory, self.catalogs, self.clerks),
        }
        provider_token = self.settings.bale_provider_token
        if provider_token is not None:
            # Only citizens of a platform with invoices get them (desk.platforms), and only when this is set.
            handlers["invoice"] = invoice_sender(provider_token.get_secret_value(), self._org_name)
        bots = {spec.platform.value: bot for bot, spec in zip(self.bots, self.specs, strict=True)}
        fsm_storage = make_fsm_storage(self.settings.redis_url, self.factory)
        if isinstance(fsm_storage, RedisStorage):
            try:
                await key_conversations_by_bot(fsm_storage.redis, [bot.id for bot in self.bots])
            except (RedisError, OSError) as error:
                logger.warning(
                    "conversations: Redis cannot be reached (%s); older keys are moved at the next start",
                    type(error).__name__,
                )
        limiters = make_send_limiters(self.settings, fsm_storage, bots)
        self.outbox = OutboxSender(
            self.factory,
            bots=bots,
            handlers=handlers,
            on_sent=link_relayed,
            on_failed=sms_when_blocked,
            org_names=self._org_name,
            limiters=limiters,
            locker=None if limiters is not None else functools.partial(try_lock, self.engine),
        )
        self.sms_provider = create_sms_provider(self.settings)
        self.sms = SmsSender(
            self.factory,
            self.sms_provider,
            sms_allowed=self._org_sms_allowed,
            org_names=self._org_name,
            start_links=self._start_link,
        )
        self.dispatcher = create_dispatcher(
            settings=self.settings,
            catalogs=self.catalogs,
            platforms=platforms,
            fsm_storage=fsm_storage,
            locales=CitizenLocales(self.factory),
            factory=self.factory,
            documents=documents,
            outbox=NotifyAll([self.outbox, self.sms]),
            clerks=self.clerks,
        )

    async def hold_tokens(self) -> list[BotSpec]:
        """Take, for each bot, the lock of its token's poller (:mod:`storage.locks`); the bots whose token another
        process already polls (their locks are not taken: the caller refuses to start).

        Long polling allows one poller per token: a second one makes the messenger answer 409 Conflict to both.
        The lock's name holds a hash of the token, never the token.
        """
        busy = []
        for spec in self.specs:
            lock = await try_lock(self.engine, f"poller:{hashlib.sha256(spec.token.encode()).hexdigest()}")
            if lock is None:
                busy.append(spec)
            else:
                self._locks.append(lock)
        return busy

    def _scheduled_jobs(self) -> list[Callable[[], Job]]:
        """The jobs one worker of the cluster runs (:mod:`bot.cluster_jobs`): the morning digests and reports, and
        the wallet payments' reconciliation when Bale's provider token is set."""

        def digests() -> Job:
            return DigestScheduler(
                self.factory,
                self.catalogs,
                self.outbox,
                at=self.settings.digest_time,
                escalate_after_days=self.settings.escalate_after_days,
                weekly_reports=self.settings.weekly_reports,
                inquiry_escalate_after_days=self.settings.inquiry_escalate_after_days,
            )

        jobs: list[Callable[[], Job]] = [digests]
        wallet = next(
            (b for b, s in zip(self.bots, self.specs, strict=True) if s.platform.spec.invoices), None
        )
        if wallet is not None and self.settings.bale_provider_token is not None:
            jobs.append(
                lambda: PeriodicTask(
                    lambda: payments.reconcile_periodically(self.factory, wallet, self.catalogs)
                )
            )
        return jobs

    @property
    def redis(self) -> Redis | None:
        """The Redis client of the conversations (``MIZ_REDIS_URL``), None when they are in the database."""
        storage = self.dispatcher.storage
        return storage.redis if isinstance(storage, RedisStorage) else None

    def web_routes(self) -> list[Callable[[web.Application], None]]:
        """The routes every web server of this Miz answers: ``/healthz``, ``/readyz`` and ``/metrics``."""
        readiness = Readiness(self.engine, self.redis)
        return [
            functools.partial(setup_health, readiness=readiness),
            functools.partial(setup_metrics, factory=self.factory),
        ]

    def public_routes(self) -> list[Callable[[web.Application], None]]:
        """The pages a public web server of this Miz answers: the web tracking page ``/track``, behind the very
        guessing limits of the bots' tracking (the Dispatcher's, in memory or in Redis)."""
        from public.track import Tracking, setup_tracking, trusted_proxies

        tracking = Tracking(
            self.factory,
            self.catalogs,
            self.dispatcher["throttle"],
            self.dispatcher["track_code_throttle"],
            trusted_proxies(self.settings.trusted_proxies),
        )
        return [functools.partial(setup_tracking, tracking=tracking)]

    def _org_sms_allowed(self, org_id: str) -> bool:
        try:
            return self.catalogs.catalog.organization(org_id).sms
        except NotInCatalogError:
            return True

    def _start_link(self, platform: str, payload: str) -> str | None:
        """The link opening ``platform``'s bot with ``payload``; None until that bot has answered ``getMe``."""
        dispatcher = getattr(self, "dispatcher", None)
        username = dispatcher.usernames.get(platform) if isinstance(dispatcher, MizDispatcher) else None
        return deep_link(platform, username, payload) if username else None

    def _org_name(self, org_id: str, lang: str) -> str:
        try:
            return self.catalogs.catalog.organization(org_id).name.get(lang)
        except NotInCatalogError:
            return org_id

    @contextlib.asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        """Deliver the outbox and SMS, reconcile payments and queue the morning digests while inside the block;
        on leaving, stop them in order (the digests first: they may still queue rows and nudge the outbox), close
        the bots' sessions and mark Miz stopped. Both ways of receiving updates (``run``: polling, and
        ``bot.serve``: webhooks) run inside it."""
        self._stopped = asyncio.Event()
        sender = asyncio.create_task(self.outbox.run(), name="miz-outbox")
        sms_task = asyncio.create_task(self.sms.run(), name="miz-sms")
        jobs = ClusterJobs(functools.partial(try_lock, self.engine), self._scheduled_jobs())
        jobs_task = asyncio.create_task(jobs.run(), name="miz-scheduled-jobs")
        try:
            yield
        finally:
            await jobs.stop()  # first: the digests may still queue rows and nudge the outbox
            await jobs_task
            await self.outbox.stop()
            await _cancelled(sender)
            await self.sms.stop()
            await _cancelled(sms_task)
            await self.sms_provider.close()
            await _close_sessions(self.bots)
            self._stopped.set()

    async def run(self, polling_timeout: int = 30) -> None:
        """Poll every bot and deliver the outbox until stopped; one update never blocks another, and a bot whose
        Bot API is down at start waits for it alone (:mod:`bot.dispatcher`)."""
        async with self.background():
            await self.dispatcher.start_polling(
                *self.bots, polling_timeout=polling_timeout, handle_signals=False, close_bot_session=False
            )

    async def wait_for_stop(self) -> None:
        """Return when :meth:`stop` is called (``bot.serve`` serves webhooks until then)."""
        await self._stop_requested.wait()

    async def stop(self) -> None:
        """Stop receiving updates and the outbox (if running), wait for them to finish, and release the
        database."""
        self._stop_requested.set()
        if self.dispatcher._running_lock.locked():
            await self.dispatcher.stop_polling()
        stopped = getattr(self, "_stopped", None)
        if stopped is not None:
            await stopped.wait()
        else:
            await _close_sessions(self.bots)
        await self.dispatcher.storage.close()
        for lock in self._locks:
            await lock.release()
        self._locks.clear()
        await self.engine.dispose()


async def _close_sessions(bots: Sequence[Bot]) -> None:
    """Close every bot's HTTP session at once: aiogram waits 250 ms after each close for its connections to end,
    so closing them one after another made every stop wait that long per bot."""
    await asyncio.gather(*(bot.session.close() for bot in bots))


async def _cancelled(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait until it has ended."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def bot_specs(settings: Settings) -> list[BotSpec]:
    """The bots of every platform whose token (``MIZ_<PLATFORM>_TOKEN``) is configured."""
    return [
        BotSpec(platform, token.get_secret_value(), getattr(settings, f"{platform.value}_api_base"))
        for platform in Platform
        if (token := getattr(settings, f"{platform.value}_token")) is not None and token.get_secret_value()
    ]


NO_TOKEN = "no bot token: set %s (or try `make demo`)"


def no_token_names() -> str:
    """The settings one of which ``miz run`` and ``miz serve`` need."""
    return " and/or ".join(f"MIZ_{platform.value.upper()}_TOKEN" for platform in Platform)


def run_bots() -> int:
    """``miz run``: every platform whose token (``MIZ_<PLATFORM>_TOKEN``) is configured, by long polling."""
    settings = Settings()
    setup_logging(json_lines=settings.log_format == "json")
    specs = bot_specs(settings)
    if not specs:
        logger.error(NO_TOKEN, no_token_names())
        return 2
    miz = Miz(settings, specs)

    async def main() -> int:
        await miz.prepare()
        try:
            busy = await miz.hold_tokens()
            for spec in busy:
                logger.error(ALREADY_POLLED, spec.platform.value)
            if busy:
                return 3
            side = None
            if settings.health_port is not None:
                side = await side_server(settings.health_port, *miz.web_routes())
                logger.info("health and metrics on 127.0.0.1:%d", settings.health_port)
            tune_garbage_collector()
            try:
                await miz.run()
            finally:
                if side is not None:
                    await side.cleanup()
        finally:
            await miz.stop()
        return 0

    return asyncio.run(main())
