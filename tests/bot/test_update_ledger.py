"""Each webhook update handled once across workers, and none lost when a worker dies with updates in flight
(``bot.update_ledger``, issue #18): on the test Redis, with workers of their own names."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import BotSpec
from bot.platforms import Platform
from bot.update_ledger import DatabaseLedger, MemoryLedger, RedisLedger
from bot.worker import lease_owner
from tests.conftest import REDIS_URL

SLOW_SPEC = BotSpec(
    Platform.BALE, "2200000003:TEST-SLOW-cccccccccccccccccccccccccccccccccc", "http://127.0.0.1:9"
)


def _raw(update_id: int) -> bytes:
    return json.dumps({"update_id": update_id, "message": {"text": "سلام"}}, ensure_ascii=False).encode()


def _workers(redis: Redis, prefix: str) -> dict[str, RedisLedger]:
    return {name: RedisLedger(redis, f"{prefix}-{name}", prefix=f"{prefix}:update") for name in "abcd"}


async def test_an_update_is_taken_by_the_first_worker_to_see_it_and_dropped_by_every_other(
    redis: Redis,
) -> None:
    prefix = f"test-ledger-{uuid.uuid4().hex[:8]}"
    workers = _workers(redis, prefix)
    assert await workers["a"].take("telegram", 11, 501, _raw(501))
    assert not await workers["b"].take("telegram", 11, 501, _raw(501)), "delivered again, to another worker"
    assert not await workers["a"].take("telegram", 11, 501, _raw(501)), "delivered again, to the same worker"
    assert await workers["b"].take("bale", 11, 501, _raw(501)), "another platform's update of the same id"
    assert await workers["b"].take("telegram", 12, 501, _raw(501)), "another bot's"


async def test_a_dead_workers_updates_in_flight_are_adopted_once_and_a_living_ones_never(
    redis: Redis,
) -> None:
    prefix = f"test-ledger-{uuid.uuid4().hex[:8]}"
    roll = f"{prefix}:workers"
    workers = _workers(redis, prefix)
    now = time.time()
    await redis.zadd(
        roll, {f"{prefix}-a": now - 100, f"{prefix}-b": now, f"{prefix}-c": now, f"{prefix}-d": now}
    )
    for update_id in (601, 602, 603):
        assert await workers["a"].take("bale", 22, update_id, _raw(update_id))
    await workers["a"].done("bale", 22, 602)  # handled before it died
    assert await workers["d"].take("telegram", 11, 700, _raw(700))  # alive, busy with it

    found = await asyncio.gather(*(workers[n].adopt_orphans(roll, now - 30) for n in "bc"))

    adopted = [update for one in found for update in one]
    assert sorted(update["update_id"] for _, update in adopted) == [601, 603], "each once, by one adopter"
    assert all(platform == "bale" for platform, _ in adopted)
    assert adopted[0][1]["message"]["text"] == "سلام", "the update whole, as it was delivered"
    again = await asyncio.gather(*(workers[n].adopt_orphans(roll, now - 30) for n in "bcd"))
    assert again == [[], [], []]

    # A worker that stopped without finishing everything (its heartbeat set to the epoch) is adopted too.
    adopter = next(n for n, one in zip("bc", found, strict=True) if one)
    await redis.zadd(roll, {f"{prefix}-{adopter}": 0})
    taken_over = await workers["d"].adopt_orphans(roll, time.time() - 30)
    assert sorted(update["update_id"] for _, update in taken_over) == [601, 603]
    await redis.delete(roll, *(RedisLedger.inflight_key(f"{prefix}-{n}") for n in "abcd"))


async def test_one_worker_without_redis_drops_what_it_has_already_taken() -> None:
    ledger = MemoryLedger(size=2)
    assert await ledger.take("bale", 1, 1, b"{}")
    assert not await ledger.take("bale", 1, 1, b"{}")
    assert await ledger.adopt_orphans("workers", time.time()) == []


async def test_without_redis_an_update_in_flight_is_kept_in_the_database_and_replayed_once(
    factory: async_sessionmaker[AsyncSession],
) -> None:
    machine = lease_owner().split(":")[0]
    dead = DatabaseLedger(factory, owner="0123456789abcdef:4242:0badcafe")  # a process of a machine gone
    for update_id in (901, 902, 903):
        assert await dead.take("bale", 22, update_id, _raw(update_id))
    assert not await dead.take("bale", 22, 901, _raw(901)), "delivered again while in flight"
    await dead.done("bale", 22, 902)  # handled before it died
    me = DatabaseLedger(factory)
    alive = DatabaseLedger(factory, owner=f"{machine}:{os.getppid()}:feedf00d")  # a running process of ours
    assert await alive.take("telegram", 11, 904, _raw(904))
    assert not await me.take("bale", 22, 903, _raw(903)), "another process's update in flight"

    found = await asyncio.gather(me.adopt_orphans("", time.time()), alive.adopt_orphans("", time.time()))

    replayed = [update["update_id"] for one in found for _, update in one]
    assert sorted(replayed) == [901, 903], "the dead process's updates once, never a living one's"
    assert next(one for one in found if one)[0] == ("bale", json.loads(_raw(901)))
    assert await me.adopt_orphans("", time.time()) == []
    for ledger in (me, alive):
        for platform, bot_id, update_id in (("bale", 22, 901), ("bale", 22, 903), ("telegram", 11, 904)):
            await ledger.done(platform, bot_id, update_id)
    assert await DatabaseLedger(factory).adopt_orphans("", time.time()) == [], "handled: struck off"


async def test_a_starting_worker_handles_what_a_dead_worker_left_in_flight(redis: Redis) -> None:

    from aiogram import Bot

    from bot.app import BotSpec
    from bot.platforms import Platform
    from bot.serve import WebhookReceiver, WorkerRoll, _Endpoint, webhook_secrets

    class Dispatcher:
        """Stands in for Miz's: records what it is fed."""

        def __init__(self) -> None:
            self.fed: list[int] = []

        async def feed_update(self, bot: Bot, update: Any, **kwargs: Any) -> None:
            self.fed.append(update.update_id)

    prefix = f"test-ledger-{uuid.uuid4().hex[:8]}"
    spec = BotSpec(Platform.BALE, "2200000002:TEST-LEDGER-bbbbbbbbbbbbbbbbbbbbbbbbbbb", "http://127.0.0.1:9")
    bot = Bot(spec.token)
    roll = WorkerRoll(redis, key=f"{prefix}:workers", beat=0.05)
    dead = RedisLedger(redis, f"{prefix}-dead", prefix=f"{prefix}:update")
    await redis.zadd(roll.key, {f"{prefix}-dead": 0})  # stopped (or silent) before it finished
    raw = {"update_id": 801, "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}}}
    assert await dead.take("bale", bot.id, 801, json.dumps(raw).encode())
    living = RedisLedger(redis, roll.name, prefix=f"{prefix}:update")
    dispatcher = Dispatcher()
    receiver = WebhookReceiver(dispatcher, [_Endpoint(bot, spec, webhook_secrets(spec))], living, {})  # type: ignore[arg-type]

    heart = asyncio.create_task(roll.run(living, receiver))
    try:
        async with asyncio.timeout(30):  # generous: the heartbeat adopts it on a busy machine too
            while not dispatcher.fed:  # noqa: ASYNC110 (a fake dispatcher's list)
                await asyncio.sleep(0.05)
        await receiver.drain()
    finally:
        heart.cancel()
        await asyncio.gather(heart, return_exceptions=True)
        await bot.session.close()

    assert dispatcher.fed == [801], "handled once, by the living worker"
    assert await redis.hlen(RedisLedger.inflight_key(roll.name)) == 0, "and struck off once handled"
    assert not await living.take("bale", bot.id, 801, b"{}"), "a late delivery of it is still dropped"
    await redis.delete(roll.key)


class _Recorder:
    """Stands in for Miz's Dispatcher: records what it is fed, after holding the event loop ``stall`` seconds
    (a slow synchronous step in a handler) and then awaiting ``then`` seconds more."""

    def __init__(self, stall: float = 0.0, then: float = 0.0) -> None:
        self.fed: list[int] = []
        self._stall = stall
        self._then = then

    async def feed_update(self, bot: Any, update: Any, **kwargs: Any) -> None:
        time.sleep(self._stall)  # noqa: ASYNC251 (the point: the worker's event loop is held)
        await asyncio.sleep(self._then)
        self.fed.append(update.update_id)


def _other_worker(roll_key: str, prefix: str, stop: threading.Event) -> tuple[threading.Thread, _Recorder]:
    """A second worker on an event loop (and a thread) of its own, adopting what silent workers left in flight, as
    another ``miz serve`` process would while this one's loop is held."""
    from aiogram import Bot

    from bot.serve import WebhookReceiver, WorkerRoll, _Endpoint, webhook_secrets

    fed = _Recorder()

    async def work() -> None:
        client = Redis.from_url(REDIS_URL)
        bot = Bot(SLOW_SPEC.token)
        roll = WorkerRoll(client, key=roll_key, beat=0.5)
        ledger = RedisLedger(client, roll.name, prefix=f"{prefix}:update")
        receiver = WebhookReceiver(fed, [_Endpoint(bot, SLOW_SPEC, webhook_secrets(SLOW_SPEC))], ledger, {})  # type: ignore[arg-type]
        heart = asyncio.create_task(roll.run(ledger, receiver))
        await asyncio.to_thread(stop.wait)
        heart.cancel()
        await asyncio.gather(heart, return_exceptions=True)
        await receiver.drain()
        await roll.leave()
        await bot.session.close()
        await client.aclose()

    return threading.Thread(target=asyncio.run, args=(work(),)), fed


async def _hold_loop_while_handling(
    redis: Redis, *, stall: float, hung: float
) -> tuple[list[int], list[int]]:
    """One update handled by a worker whose handler holds its event loop ``stall`` seconds (heartbeats every 0.5 s,
    stale after 1.5 s), beside a second worker; what each fed its Dispatcher."""
    from aiogram import Bot

    from bot.serve import WebhookReceiver, WorkerRoll, _Endpoint, webhook_secrets

    prefix = f"test-ledger-{uuid.uuid4().hex[:8]}"
    roll = WorkerRoll(redis, key=f"{prefix}:workers", beat=0.5, url=REDIS_URL, hung=hung)
    ledger = RedisLedger(redis, roll.name, prefix=f"{prefix}:update")
    slow = _Recorder(stall=stall, then=1.2)
    bot = Bot(SLOW_SPEC.token)
    receiver = WebhookReceiver(slow, [_Endpoint(bot, SLOW_SPEC, webhook_secrets(SLOW_SPEC))], ledger, {})  # type: ignore[arg-type]
    heart = asyncio.create_task(roll.run(ledger, receiver))
    stop = threading.Event()
    other, fed = _other_worker(roll.key, prefix, stop)
    other.start()
    try:
        await asyncio.sleep(0.8)  # both beating
        raw = {
            "update_id": 901,
            "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}},
        }
        assert await ledger.take("bale", bot.id, 901, json.dumps(raw).encode())
        receiver.adopt([("bale", raw)])  # handled here, as a delivery answered 200 is
        await receiver.drain()
        await asyncio.sleep(1.2)  # the other worker's next beats
    finally:
        stop.set()
        await asyncio.to_thread(other.join, 10)
        heart.cancel()
        await asyncio.gather(heart, return_exceptions=True)
        await roll.leave()
        await bot.session.close()
        await redis.delete(roll.key)
    return slow.fed, fed.fed


async def test_a_worker_whose_handler_holds_its_event_loop_past_the_lease_is_not_taken_over(
    redis: Redis,
) -> None:
    here, there = await _hold_loop_while_handling(redis, stall=3.0, hung=60)

    assert here == [901]
    assert there == [], "handled twice: the other worker adopted an update still being handled"


async def test_a_worker_whose_event_loop_is_stuck_for_good_has_its_update_taken_over(redis: Redis) -> None:
    here, there = await _hold_loop_while_handling(redis, stall=5.0, hung=1.0)

    assert there == [901], "a hung worker's update is handled by another"
    assert here == [901], (
        "and by the stuck one if it ever runs again: the price of not waiting for it forever"
    )
