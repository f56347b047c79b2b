"""``miz serve``: Miz as a web application receiving both bots' updates by webhook, one of several workers.

Long polling (``miz run``) allows one process per bot token; a webhook lets the messenger post each update to a web
server, which may hand it to any of several ``miz serve`` processes (or machines) sharing one PostgreSQL and one
Redis. Each worker:

- listens on ``MIZ_SERVE_HOST:MIZ_SERVE_PORT`` (behind the reverse proxy, which terminates TLS) and, once its bot
  answers ``getMe``, points the bot's webhook at ``MIZ_WEBHOOK_URL`` plus the bot's secret path
  ``/webhook/<platform>/<secret>``. The secret is an HMAC of the token (keyed by ``MIZ_WEBHOOK_SECRET`` when set), so
  every worker computes the same one and no path ever shows the token. Telegram also sends the secret header
  ``X-Telegram-Bot-Api-Secret-Token`` (another HMAC), checked in constant time; Bale's ``setWebhook`` takes only a
  URL (``desk.platforms``: ``webhook_secret_token``), so the path is its only secret. A wrong path is 404, a wrong
  header 401, and neither reaches the Dispatcher.
- answers 200 as soon as the update is parsed and written down as taken (:mod:`bot.update_ledger`: each update is
  handled once across the workers, however often it is delivered), and handles it in the background, as polling
  does; a worker told to stop first stops listening, then lets every update it took finish before it stops the
  outbox, so an update once answered 200 is handled.
- deletes the webhooks on stop only when it is the last worker standing (the others' heartbeats in Redis say so),
  so a rolling restart never leaves the messengers without an address. While no worker listens, the messenger
  keeps the updates and delivers them to the next one.

Everything else runs as under ``miz run``, in every worker: the outbox senders share rows by lease, the send limits
and the conversations live in Redis, and each scheduled job runs once for the cluster (``bot.scheduler``).
:func:`create_web_app` builds the aiohttp application; other routes are mounted on it by passing their
``setup`` functions (a route module's ``setup(app)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.utils.backoff import Backoff
from aiohttp import web
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.app import BotSpec, Miz
from bot.dispatcher import START_BACKOFF, MizDispatcher
from bot.session import parse_update
from bot.update_ledger import DatabaseLedger, Orphan, RedisLedger, UpdateLedger

__all__ = [
    "DRAIN_SECONDS",
    "HUNG_SECONDS",
    "MIZ_KEY",
    "SECRET_HEADER",
    "WEBHOOK_ROUTE",
    "WebhookReceiver",
    "WebhookSecrets",
    "WorkerRoll",
    "create_web_app",
    "serve",
    "serve_bots",
    "webhook_address",
    "webhook_secrets",
]

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_ROUTE = "/webhook/{platform}/{secret}"
DRAIN_SECONDS = 30.0
"""How long a stopping worker waits for the updates it took to be handled."""

MIZ_KEY: web.AppKey[Miz] = web.AppKey("miz", Miz)
"""The running Miz of a web application (for routes mounted on it)."""

RouteSetup = Callable[[web.Application], None]


@dataclass(frozen=True, slots=True)
class WebhookSecrets:
    """One bot's webhook secrets: its path segment, and the header token where the platform sends one."""

    path: str
    header: str | None


def webhook_secrets(spec: BotSpec, key: str | None = None) -> WebhookSecrets:
    """The secrets of ``spec``'s webhook, the same in every worker: HMACs of the token keyed by ``key``
    (``MIZ_WEBHOOK_SECRET``), or by the token itself when there is none. Hex, so Telegram accepts the header token
    (``A-Z``, ``a-z``, ``0-9``, ``_``, ``-``)."""
    material = (key or spec.token).encode()

    def digest(purpose: str) -> str:
        message = f"miz-webhook:{purpose}:{spec.platform.value}:{spec.token}".encode()
        return hmac.new(material, message, hashlib.sha256).hexdigest()

    header = digest("header") if spec.platform.spec.webhook_secret_token else None
    return WebhookSecrets(path=digest("path")[:40], header=header)


@dataclass(frozen=True, slots=True)
class _Endpoint:
    bot: Bot
    spec: BotSpec
    secrets: WebhookSecrets


class WebhookReceiver:
    """Takes the webhook deliveries of every bot, checks them, and hands each new update to the Dispatcher.

    aiogram's ``SimpleRequestHandler`` serves one bot, closes its session when the web server stops (the outbox
    still needs it then) and forgets the updates it handles in the background; this one serves both bots on one
    route, writes each update down in the ledger before answering, and can wait for the ones it took
    (:meth:`drain`).
    """

    def __init__(
        self,
        dispatcher: MizDispatcher,
        endpoints: Iterable[_Endpoint],
        ledger: UpdateLedger,
        workflow_data: Mapping[str, Any],
    ) -> None:
        self._dispatcher = dispatcher
        self._endpoints = {endpoint.spec.platform.value: endpoint for endpoint in endpoints}
        self._ledger = ledger
        self._data = dict(workflow_data)
        self._handling: set[asyncio.Task[None]] = set()

    async def handle(self, request: web.Request) -> web.Response:
        endpoint = self._endpoints.get(request.match_info["platform"])
        if endpoint is None or not hmac.compare_digest(request.match_info["secret"], endpoint.secrets.path):
            raise web.HTTPNotFound()
        expected = endpoint.secrets.header
        if expected is not None and not hmac.compare_digest(request.headers.get(SECRET_HEADER, ""), expected):
            logger.warning(
                "%s: a webhook delivery without the right secret header, refused", endpoint.spec.platform
            )
            raise web.HTTPUnauthorized()
        body = await request.read()
        try:
            raw = json.loads(body)
        except ValueError:
            raise web.HTTPBadRequest(text="not JSON") from None
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(update_id, int):
            raise web.HTTPBadRequest(text="no update_id")
        platform = endpoint.spec.platform.value
        if not await self._ledger.take(platform, endpoint.bot.id, update_id, body):
            logger.info("%s: update %s delivered again; already taken, dropped", platform, update_id)
            return web.json_response({})
        self._start(endpoint, raw)
        return web.json_response({})

    def adopt(self, orphans: Iterable[Orphan]) -> None:
        """Handle the updates a dead worker had taken and not finished (:mod:`bot.update_ledger`)."""
        for platform, raw in orphans:
            endpoint = self._endpoints.get(platform)
            if endpoint is not None and isinstance(raw, dict) and isinstance(raw.get("update_id"), int):
                self._start(endpoint, raw)

    def _start(self, endpoint: _Endpoint, raw: dict[str, Any]) -> None:
        platform, update_id = endpoint.spec.platform.value, int(raw["update_id"])
        try:
            update = parse_update(endpoint.bot, raw)
        except Exception as error:  # never expected (unparseable updates become bare ones): drop it, noted
            logger.error(
                "%s: update %s cannot be read (%s); dropped", platform, update_id, type(error).__name__
            )
            task = asyncio.create_task(self._ledger.done(platform, endpoint.bot.id, update_id))
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)
            return
        name = f"miz-update-{endpoint.spec.platform.value}-{update.update_id}"
        task = asyncio.create_task(self._feed(endpoint, update), name=name)
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def _feed(self, endpoint: _Endpoint, update: Any) -> None:
        try:
            await self._dispatcher.feed_update(endpoint.bot, update, **self._data)
        except Exception:
            # The error router answers the person; what still escapes is logged, as polling does.
            logger.exception("update %s failed outside the error handler", update.update_id)
        finally:
            await self._ledger.done(endpoint.spec.platform.value, endpoint.bot.id, update.update_id)

    @property
    def in_flight(self) -> int:
        """How many taken updates are still being handled."""
        return len(self._handling)

    async def drain(self, timeout: float = DRAIN_SECONDS) -> None:  # noqa: ASYNC109 (a stop's bound)
        """Wait until every update taken so far has been handled (at most ``timeout`` seconds)."""
        if not self._handling:
            return
        _done, pending = await asyncio.wait(set(self._handling), timeout=timeout)
        if pending:
            logger.error(
                "%d updates still being handled after %.0f s; stopping anyway", len(pending), timeout
            )


HUNG_SECONDS = 300.0
"""A worker whose event loop has not run for this long is taken as hung: its heartbeat stops, so the updates it
holds are adopted by another worker."""


class WorkerRoll:
    """Which ``miz serve`` workers are alive: each renews its heartbeat in a Redis sorted set (none without Redis,
    where a worker is alone). A worker whose heartbeat is older than ``stale`` seconds counts as gone.

    With ``url`` (the Redis address), a thread of its own beats too, so a handler that holds the event loop for a
    while (a slow synchronous step, a long pause of the garbage collector) does not make the worker look dead and
    its updates adopted, and handled twice, while it is still handling them. The thread beats only while the event
    loop has run within ``hung`` seconds: a worker stuck for good has its updates adopted, not kept forever.
    """

    def __init__(
        self,
        redis: Redis | None,
        *,
        key: str = "miz:serve:workers",
        beat: float = 10.0,
        url: str | None = None,
        hung: float = HUNG_SECONDS,
    ) -> None:
        self._redis = redis
        self.key = key
        self._beat = beat
        self.stale = 3 * beat
        self.hung = hung
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._url = url if redis is not None else None
        self._loop_ran = time.monotonic()
        self._quit = threading.Event()
        self._beater: threading.Thread | None = None

    async def beat(self) -> None:
        """Say this worker is alive."""
        if self._redis is not None:
            await self._redis.zadd(self.key, {self.name: time.time()})

    async def run(self, ledger: UpdateLedger, receiver: WebhookReceiver) -> None:
        """Beat every ``beat`` seconds until cancelled, and each time adopt the updates that workers gone silent
        left in flight; a Redis outage only skips beats."""
        self._start_beater()
        try:
            while True:
                self._loop_ran = time.monotonic()
                try:
                    await self.beat()
                    receiver.adopt(await ledger.adopt_orphans(self.key, time.time() - self.stale))
                except (RedisError, OSError):
                    pass  # Redis is down: the next beat tries again
                except Exception:
                    logger.exception("serve: adopting other workers' updates failed; the heartbeat goes on")
                await asyncio.sleep(self._beat)
        finally:
            await self._stop_beater()

    def _start_beater(self) -> None:
        if self._url is None or self._beater is not None:
            return
        self._quit.clear()
        self._beater = threading.Thread(
            target=self._beat_apart, args=(self._url,), name="miz-heartbeat", daemon=True
        )
        self._beater.start()

    async def _stop_beater(self) -> None:
        beater, self._beater = self._beater, None
        if beater is not None:
            self._quit.set()
            await asyncio.to_thread(beater.join, 10)

    def _beat_apart(self, url: str) -> None:
        """The thread's beats, on a client of its own (the event loop's may be the one held)."""
        client = SyncRedis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        try:
            while not self._quit.wait(self._beat):
                if time.monotonic() - self._loop_ran >= self.hung:
                    continue  # the event loop is stuck: let another worker take over its updates
                with contextlib.suppress(RedisError, OSError):  # Redis is down: the next beat tries again
                    client.zadd(self.key, {self.name: time.time()})
        finally:
            client.close()

    async def leave(self) -> bool:
        """Say this worker is gone; True when no other worker is alive (or their liveness cannot be read).

        Its heartbeat is set to the epoch rather than removed, so an update it could not finish in time is still
        adopted by a worker, now or when the next one starts."""
        await self._stop_beater()
        if self._redis is None:
            return True
        try:
            await self._redis.zadd(self.key, {self.name: 0})
            others: int = await self._redis.zcount(self.key, time.time() - self.stale, "+inf")
        except (RedisError, OSError):
            return True
        return others == 0


def _ledger_and_roll(miz: Miz) -> tuple[UpdateLedger, WorkerRoll]:
    redis = miz.redis
    if redis is not None:
        roll = WorkerRoll(redis, url=miz.settings.redis_url)
        return RedisLedger(redis, roll.name), roll
    logger.info("no MIZ_REDIS_URL: this worker keeps its updates in flight in the database; run only one")
    return DatabaseLedger(miz.factory), WorkerRoll(None)


def create_web_app(
    miz: Miz, *, ledger: UpdateLedger | None = None, routes: Iterable[RouteSetup] = ()
) -> tuple[web.Application, WebhookReceiver]:
    """The aiohttp application of a prepared ``miz``: the webhook route, ``/healthz``, ``/readyz`` and ``/metrics``
    (:meth:`Miz.web_routes`), the web tracking page ``/track`` (:meth:`Miz.public_routes`), then every ``routes``
    setup (another module's pages: each is called with the application and adds its routes)."""
    app = web.Application()
    app[MIZ_KEY] = miz
    dispatcher = miz.dispatcher
    if not isinstance(dispatcher, MizDispatcher):
        raise TypeError("miz serve needs Miz's own Dispatcher")
    receiver = WebhookReceiver(
        dispatcher,
        (
            _Endpoint(bot, spec, webhook_secrets(spec, _key(miz)))
            for bot, spec in zip(miz.bots, miz.specs, strict=True)
        ),
        ledger or _ledger_and_roll(miz)[0],
        {"dispatcher": dispatcher, "bots": miz.bots},
    )
    app.router.add_post(WEBHOOK_ROUTE, receiver.handle)
    for setup in (*miz.web_routes(), *miz.public_routes(), *routes):
        setup(app)
    return app, receiver


def _key(miz: Miz) -> str | None:
    secret = miz.settings.webhook_secret
    return secret.get_secret_value() if secret is not None and secret.get_secret_value() else None


def webhook_address(base_url: str, spec: BotSpec, key: str | None = None) -> str:
    """The public address of ``spec``'s webhook under ``base_url`` (``MIZ_WEBHOOK_URL``)."""
    path = WEBHOOK_ROUTE.format(platform=spec.platform.value, secret=webhook_secrets(spec, key).path)
    return base_url.rstrip("/") + path


async def _subscribe(miz: Miz, bot: Bot, spec: BotSpec, base_url: str) -> None:
    """Once ``bot``'s Bot API answers, point its webhook here; until then (and after a refusal) try again with
    backoff, while the other bot serves."""
    dispatcher = miz.dispatcher
    assert isinstance(dispatcher, MizDispatcher)
    await dispatcher.start_bot(bot)
    secrets = webhook_secrets(spec, _key(miz))
    backoff = Backoff(config=START_BACKOFF)
    while True:
        try:
            await bot.set_webhook(
                url=webhook_address(base_url, spec, _key(miz)),
                secret_token=secrets.header,
                allowed_updates=dispatcher.resolve_used_update_types(),
            )
        except Exception as error:  # unreachable, refused: this bot only, try again
            logger.error(
                "%s: setWebhook failed (%s: %s); trying again in %.0f s",
                spec.platform.value,
                type(error).__name__,
                error,
                backoff.next_delay,
            )
            await backoff.asleep()
            continue
        logger.info("%s: webhook set; serving", spec.platform.value)
        return


async def _unsubscribe(miz: Miz) -> None:
    for bot, spec in zip(miz.bots, miz.specs, strict=True):
        try:
            await bot.delete_webhook()
        except Exception as error:
            logger.warning("%s: deleteWebhook failed (%s)", spec.platform.value, type(error).__name__)
        else:
            logger.info("%s: webhook deleted (no worker left)", spec.platform.value)


async def serve(
    miz: Miz,
    *,
    host: str,
    port: int,
    base_url: str,
    routes: Iterable[RouteSetup] = (),
    reuse_port: bool = False,
) -> None:
    """Serve ``miz`` (prepared) on ``host:port`` until :meth:`Miz.stop`: webhooks set, updates handled, the
    outbox and the scheduled jobs running; on stop, the order of the module docstring."""
    ledger, roll = _ledger_and_roll(miz)
    app, receiver = create_web_app(miz, ledger=ledger, routes=routes)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    async with miz.background():
        try:
            await web.TCPSite(runner, host, port, reuse_port=reuse_port or None).start()
            logger.info("miz serve: listening on %s:%d", host, port)
            await roll.beat()
            heart = asyncio.create_task(roll.run(ledger, receiver), name="miz-serve-heartbeat")
            subscriptions = [
                asyncio.create_task(_subscribe(miz, bot, spec, base_url), name=f"miz-webhook-{spec.platform}")
                for bot, spec in zip(miz.bots, miz.specs, strict=True)
            ]
            try:
                await miz.wait_for_stop()
            finally:
                for task in subscriptions:
                    await _cancelled(task)
                await _stop_listening(runner, receiver)
                await _cancelled(heart)
                if await roll.leave():
                    await _unsubscribe(miz)
        finally:
            await _stop_listening(
                runner, receiver
            )  # when the site could not start (nothing left to do otherwise)


async def _stop_listening(runner: web.AppRunner, receiver: WebhookReceiver) -> None:
    """Stop listening (requests in progress are answered), then let every update answered 200 be handled, before
    the outbox stops."""
    if runner.server is not None:
        await runner.cleanup()
    await receiver.drain()


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def serve_bots() -> int:
    """``miz serve``: every platform whose token is configured, by webhook at ``MIZ_WEBHOOK_URL``."""
    from bot.app import NO_TOKEN, bot_specs, no_token_names, setup_logging, tune_garbage_collector
    from config.settings import Settings

    settings = Settings()
    setup_logging(json_lines=settings.log_format == "json")
    specs = bot_specs(settings)
    if not specs:
        logger.error(NO_TOKEN, no_token_names())
        return 2
    if not settings.webhook_url:
        logger.error(
            "no MIZ_WEBHOOK_URL: set the public HTTPS address the messengers post to (or use `miz run`, which polls)"
        )
        return 2
    miz = Miz(settings, specs)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await miz.prepare()
        serving = asyncio.create_task(
            serve(
                miz,
                host=settings.serve_host,
                port=settings.serve_port,
                base_url=settings.webhook_url or "",
                reuse_port=settings.serve_reuse_port,
            )
        )
        try:
            tune_garbage_collector()
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
        finally:
            await miz.stop()
        try:
            await serving
        except OSError as error:  # the port is taken, or the address is not this machine's
            logger.error(
                "miz serve: cannot listen on %s:%d (%s)", settings.serve_host, settings.serve_port, error
            )
            return 1
        return 0

    return asyncio.run(main())
