"""An album whose parts reach different ``miz serve`` workers is still one message (``AlbumCollector`` with Redis):
two workers' collectors on the test Redis, the parts handed to them in turn, as a reverse proxy spreads them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.types import Update
from redis.asyncio import Redis

from bot.middlewares import ALBUM_KEY, AlbumCollector

TOKEN = "2200000002:TEST-ALBUM-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
CHAT = 5_000_001


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    bot = Bot(TOKEN)
    yield bot
    await bot.session.close()


def _part(bot: Bot, update_id: int, message_id: int, group: str) -> Update:
    message = {
        "message_id": message_id,
        "date": 1_700_000_000,
        "chat": {"id": CHAT, "type": "private", "first_name": "زهرا"},
        "from": {"id": CHAT, "is_bot": False, "first_name": "زهرا"},
        "media_group_id": group,
        "photo": [
            {"file_id": f"photo-{message_id}", "file_unique_id": f"u{message_id}", "width": 8, "height": 6}
        ],
    }
    return Update.model_validate({"update_id": update_id, "message": message}, context={"bot": bot})


class Handled:
    """The handler behind the collectors: what each call saw as the album."""

    def __init__(self) -> None:
        self.albums: list[list[str]] = []

    async def __call__(self, event: Any, data: dict[str, Any]) -> None:
        self.albums.append([part.photo[-1].file_id for part in data[ALBUM_KEY]])


async def _deliver(
    collector: AlbumCollector, handled: Handled, update: Update, bot: Bot, after: float
) -> None:
    await asyncio.sleep(after)
    await collector(handled, update, {"bot": bot})


async def test_an_albums_parts_reaching_two_workers_are_handled_once_and_whole(
    redis: Redis, bot: Bot
) -> None:
    prefix = f"test-album-{uuid.uuid4().hex[:8]}"
    workers = [AlbumCollector(quiet=0.5, redis=redis, prefix=prefix) for _ in range(2)]
    handled = Handled()
    parts = [_part(bot, 100 + n, 40 + n, "album-1") for n in range(4)]

    await asyncio.gather(
        *(_deliver(workers[n % 2], handled, part, bot, after=0.05 * n) for n, part in enumerate(parts))
    )

    assert handled.albums == [["photo-40", "photo-41", "photo-42", "photo-43"]], (
        "one message, in the order sent"
    )
    assert await redis.keys(f"{prefix}:*") == [], "nothing left behind once handled"


async def test_when_the_leading_worker_dies_the_worker_adopting_its_update_relays_the_album_whole(
    redis: Redis, bot: Bot
) -> None:
    prefix = f"test-album-{uuid.uuid4().hex[:8]}"
    dying, living = (AlbumCollector(quiet=0.3, redis=redis, prefix=prefix) for _ in range(2))
    handled = Handled()
    first, second, third = (_part(bot, 200 + n, 60 + n, "album-2") for n in range(3))
    leading = asyncio.create_task(dying(handled, first, {"bot": bot}))
    await asyncio.sleep(0.05)
    await living(handled, second, {"bot": bot})  # not the leader: its update ends here
    await living(handled, third, {"bot": bot})
    leading.cancel()  # killed while gathering
    await asyncio.gather(leading, return_exceptions=True)
    assert handled.albums == []

    await living(handled, first, {"bot": bot})  # the dead worker's update, adopted

    assert handled.albums == [["photo-60", "photo-61", "photo-62"]]


async def test_a_part_coming_after_the_album_was_gathered_is_not_lost(redis: Redis, bot: Bot) -> None:
    prefix = f"test-album-{uuid.uuid4().hex[:8]}"
    workers = [AlbumCollector(quiet=0.1, redis=redis, prefix=prefix) for _ in range(2)]
    handled = Handled()
    await asyncio.gather(
        _deliver(workers[0], handled, _part(bot, 300, 80, "album-3"), bot, after=0),
        _deliver(workers[1], handled, _part(bot, 301, 81, "album-3"), bot, after=0.02),
        _deliver(workers[1], handled, _part(bot, 302, 82, "album-3"), bot, after=1.5),  # very late
    )
    assert sorted(handled.albums) == [["photo-80", "photo-81"], ["photo-82"]]


async def test_without_redis_one_worker_gathers_its_parts_itself(bot: Bot) -> None:
    collector = AlbumCollector(quiet=0.1)
    handled = Handled()
    parts = [_part(bot, 400 + n, 90 + n, "album-4") for n in range(3)]
    await asyncio.gather(
        *(_deliver(collector, handled, part, bot, after=0.02 * n) for n, part in enumerate(parts))
    )
    assert handled.albums == [["photo-90", "photo-91", "photo-92"]]
