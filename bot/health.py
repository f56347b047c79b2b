"""``/healthz`` and ``/readyz``: what a load balancer, a container runtime or a monitor asks a worker.

- ``GET /healthz``: the process answers (its event loop runs). 200 ``{"status": "alive"}``, nothing else checked,
  so a database outage never gets a healthy worker restarted.
- ``GET /readyz``: the worker can serve: the database answers ``SELECT 1`` and is at the migrations' head (a
  worker of a newer release waits for ``miz db upgrade``), and Redis answers ``PING`` when ``MIZ_REDIS_URL`` is
  set. 200 when all pass, else 503; the body names each check and, for one that failed, why (the kind of error,
  never a URL or a password).

Each check has :data:`CHECK_SECONDS` to answer. ``miz serve`` answers both on its own port; ``miz run`` on
``127.0.0.1:MIZ_HEALTH_PORT`` when that is set (:func:`side_server`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.migrate import current_revision, head_revision

__all__ = ["CHECK_SECONDS", "Readiness", "setup_health", "side_server"]

logger = logging.getLogger(__name__)

CHECK_SECONDS = 3.0
"""How long one readiness check may take before it counts as failed."""


class Readiness:
    """The checks of ``/readyz`` for one worker's database and (optional) Redis."""

    def __init__(self, engine: AsyncEngine, redis: Redis | None = None) -> None:
        self._engine = engine
        self._redis = redis
        self._head = head_revision()

    async def database(self) -> str:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return "ok"

    async def migrations(self) -> str:
        current = await current_revision(self._engine)
        if current != self._head:
            raise LookupError(f"the database is at {current or 'no revision'}, the code at {self._head}")
        return "ok"

    async def redis(self) -> str:
        if self._redis is None:
            return "not configured"
        await self._redis.ping()
        return "ok"

    async def check(self) -> tuple[bool, dict[str, str]]:
        """Run every check at once; whether all passed, and each one's outcome."""
        checks: dict[str, Callable[[], Awaitable[str]]] = {
            "database": self.database,
            "migrations": self.migrations,
            "redis": self.redis,
        }
        results = await asyncio.gather(
            *(_timed(check()) for check in checks.values()), return_exceptions=True
        )
        outcome: dict[str, str] = {}
        ready = True
        for name, result in zip(checks, results, strict=True):
            if isinstance(result, BaseException):
                ready = False
                outcome[name] = _reason(result)
            else:
                outcome[name] = result
        return ready, outcome


async def _timed(check: Awaitable[str]) -> str:
    async with asyncio.timeout(CHECK_SECONDS):
        return await check


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {CHECK_SECONDS:.0f} s"
    if isinstance(error, LookupError):
        return str(error)
    return f"unreachable ({type(error).__name__})"  # the message may carry a host or a user name


def setup_health(app: web.Application, *, readiness: Readiness) -> None:
    """Add ``/healthz`` and ``/readyz`` to ``app``."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(_request: web.Request) -> web.Response:
        ready, checks = await readiness.check()
        if not ready:
            logger.warning("not ready: %s", checks)
        return web.json_response(
            {"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503
        )

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


async def side_server(port: int, *setups: Callable[[web.Application], Any]) -> web.AppRunner:
    """A small web server on ``127.0.0.1:port`` with the given routes (``miz run``'s health and metrics); the
    caller cleans it up."""
    app = web.Application()
    for setup in setups:
        setup(app)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner
