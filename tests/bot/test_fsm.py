"""The conversation storage: a citizen's half-filled form is stored once per update and survives a restart."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.fsm import DatabaseStorage, RedisKeys, key_conversations_by_bot, make_fsm_storage
from storage.repositories import ConversationStates
from tests.conftest import REDIS_URL

KEY = StorageKey(bot_id=1, chat_id=42, user_id=42)


@pytest.fixture
async def storage(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[DatabaseStorage]:
    storage = DatabaseStorage(factory)
    yield storage
    await storage.close()


def _count_commits(engine: AsyncEngine) -> list[int]:
    commits = [0]

    def on_commit(_conn: object) -> None:
        commits[0] += 1

    event.listen(engine.sync_engine, "commit", on_commit)
    return commits


async def test_every_change_of_an_update_is_stored_in_one_transaction(
    engine: AsyncEngine, factory: async_sessionmaker[AsyncSession], storage: DatabaseStorage
) -> None:
    commits = _count_commits(engine)

    await storage.set_state(KEY, "Form:answering")
    await storage.set_data(KEY, {"service": "tree_cutting", "answers": {"name": "مریم"}})
    await storage.set_data(
        KEY, {"service": "tree_cutting", "answers": {"name": "مریم", "phone": "09121234567"}}
    )
    assert commits[0] == 0, "nothing is written before the update has been handled"
    assert await storage.get_state(KEY) == "Form:answering"

    await storage.flush()
    assert commits[0] == 1

    restarted = DatabaseStorage(factory)  # a new process reads what the old one stored
    assert await restarted.get_state(KEY) == "Form:answering"
    assert (await restarted.get_data(KEY))["answers"]["phone"] == "09121234567"


async def test_an_update_that_changes_nothing_writes_nothing(
    engine: AsyncEngine, storage: DatabaseStorage
) -> None:
    await storage.set_state(KEY, "Form:answering")
    await storage.flush()
    commits = _count_commits(engine)

    await storage.set_state(KEY, "Form:answering")
    await storage.set_data(KEY, {})
    await storage.flush()
    assert commits[0] == 0


async def test_a_failed_flush_keeps_the_changes_for_the_next_one(
    factory: async_sessionmaker[AsyncSession], storage: DatabaseStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    await storage.set_data(KEY, {"answers": {"address": "خیابان امام"}})

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise ConnectionError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(ConversationStates, "set_many", broken)
        with pytest.raises(ConnectionError):
            await storage.flush()

    await storage.flush()
    async with factory() as session:
        row = await ConversationStates(session).get("1:42:42")
    assert row is not None
    assert row.data == {"answers": {"address": "خیابان امام"}}


async def test_data_read_from_the_storage_cannot_change_what_it_holds(storage: DatabaseStorage) -> None:
    await storage.set_data(KEY, {"answers": {"name": "علی"}})
    data = await storage.get_data(KEY)
    data["answers"]["name"] = "changed by a handler without set_data"
    assert (await storage.get_data(KEY))["answers"]["name"] == "علی"


async def test_with_redis_a_form_set_aside_is_kept_beside_the_conversation(redis: Redis) -> None:
    storage = make_fsm_storage(REDIS_URL, async_sessionmaker())
    key = StorageKey(bot_id=1, chat_id=9_100_042, user_id=9_100_042)
    parked = StorageKey(bot_id=1, chat_id=9_100_042, user_id=9_100_042, destiny="parked_form")
    try:
        await storage.set_state(key, "Form:answering")
        await storage.set_data(
            parked, {"data": {"service": "building-permit"}}
        )  # was refused with ValueError

        assert await storage.get_data(parked) == {"data": {"service": "building-permit"}}
        assert await storage.get_state(key) == "Form:answering", "the conversation is untouched"
    finally:
        await storage.set_state(key, None)
        await storage.set_data(parked, {})
        await storage.close()


async def test_with_redis_a_telegram_user_and_a_bale_user_of_the_same_id_never_share_a_form(
    redis: Redis,
) -> None:
    storage = make_fsm_storage(REDIS_URL, async_sessionmaker())
    telegram = StorageKey(bot_id=1_100_000_001, chat_id=9_100_043, user_id=9_100_043)
    bale = StorageKey(bot_id=2_200_000_002, chat_id=9_100_043, user_id=9_100_043)
    try:
        await storage.set_state(telegram, "Form:answering")
        await storage.set_data(telegram, {"answers": {"national_id": "0499370899"}})

        assert await storage.get_state(bale) is None
        assert await storage.get_data(bale) == {}, "another person's answers"
    finally:
        await storage.set_state(telegram, None)
        await storage.set_data(telegram, {})
        await storage.close()


async def test_conversations_stored_in_redis_before_go_on_on_their_messenger(redis: Redis) -> None:
    prefix = f"test-fsm-{uuid.uuid4().hex[:8]}"  # "fsm" itself: the keys of every other test's bots
    storage = RedisStorage(redis, key_builder=RedisKeys(prefix))
    bots = (1_100_000_003, 2_200_000_004)
    await redis.set(f"{prefix}:44:44:state", "Form:documents")  # as aiogram's default keys had them
    await redis.set(f"{prefix}:44:44:data", '{"step": 2}')
    await redis.set(f"{prefix}:45:45:state", "Form:review")
    newer = StorageKey(bot_id=bots[1], chat_id=45, user_id=45)
    await storage.set_state(newer, "Form:answering")

    moved = await asyncio.gather(*(key_conversations_by_bot(redis, bots, prefix) for _ in range(3)))

    assert sum(moved) == 3, "each key once, however many workers start"
    for bot_id in bots:
        key = StorageKey(bot_id=bot_id, chat_id=44, user_id=44)
        assert await storage.get_state(key) == "Form:documents"
        assert await storage.get_data(key) == {"step": 2}
    assert await storage.get_state(newer) == "Form:answering", "a conversation stored since is kept"
    assert await redis.exists(f"{prefix}:44:44:state", f"{prefix}:44:44:data", f"{prefix}:45:45:state") == 0
    await redis.delete(*await redis.keys(f"{prefix}:*"))
