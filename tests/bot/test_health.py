"""``/healthz`` and ``/readyz`` (issue #18, "Watch it"): alive whatever happens, ready only when the database
answers at the migrations' head and Redis (when configured) answers; never a URL or password in the answer."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from bot.health import Readiness, setup_health
from storage.db import create_engine
from storage.migrate import upgrade_async
from tests.conftest import Database


async def _client(readiness: Readiness) -> TestClient[Any, Any]:
    app = web.Application()
    setup_health(app, readiness=readiness)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def migrated(database: Database) -> Database:
    engine = database.engine()
    await upgrade_async(engine)
    await engine.dispose()
    return database


async def test_a_migrated_database_and_redis_make_the_worker_ready(migrated: Database, redis: Redis) -> None:
    engine = migrated.engine()
    client = await _client(Readiness(engine, redis))
    try:
        alive = await client.get("/healthz")
        assert alive.status == 200
        ready = await client.get("/readyz")
        assert ready.status == 200, await ready.text()
        assert await ready.json() == {
            "status": "ready",
            "checks": {"database": "ok", "migrations": "ok", "redis": "ok"},
        }
    finally:
        await client.close()
        await engine.dispose()


async def test_a_database_behind_the_code_is_not_ready_and_says_where_it_is(database: Database) -> None:
    engine = database.engine()  # empty: never migrated
    client = await _client(Readiness(engine))
    try:
        ready = await client.get("/readyz")
        assert ready.status == 503
        body = await ready.json()
        assert body["checks"]["database"] == "ok"
        assert "no revision" in body["checks"]["migrations"]
        assert body["checks"]["redis"] == "not configured"
        assert (await client.get("/healthz")).status == 200, "alive all the same"
    finally:
        await client.close()
        await engine.dispose()


async def test_unreachable_database_and_redis_are_not_ready_and_nothing_secret_is_said() -> None:
    engine = create_engine("postgresql+asyncpg://miz:s3cret-pw@127.0.0.1:1/miz")
    redis = Redis.from_url("redis://:r3dis-pw@127.0.0.1:1/0", socket_connect_timeout=1)
    client = await _client(Readiness(engine, redis))
    try:
        ready = await client.get("/readyz")
        assert ready.status == 503
        text = await ready.text()
        body = await ready.json()
        assert body["checks"]["database"].startswith("unreachable")
        assert body["checks"]["redis"].startswith("unreachable")
        for secret in ("s3cret-pw", "r3dis-pw", "127.0.0.1"):
            assert secret not in text
        assert (await client.get("/healthz")).status == 200
    finally:
        await client.close()
        await redis.aclose()
        await engine.dispose()
