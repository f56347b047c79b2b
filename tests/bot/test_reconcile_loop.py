"""The periodic reconciliation of Bale wallet payments (``bot.payments.reconcile_periodically``), as an operator
relies on it: a pass at start-up, the next pass after a failed one, and a clean stop on shutdown.

A pass is seen through the database: each one reads the pending wallet payments in one session. The database
here is real (an empty one); the wrapper around its session factory counts the passes and can fail one, as a
database that is briefly unreachable does. The reconciliation step itself is tested in tests/desk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
from aiogram import Bot
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.payments import reconcile_periodically
from catalog.loader import CatalogHolder
from config.settings import PROJECT_ROOT

Factory = async_sessionmaker[AsyncSession]

WAIT = 5.0
"""Seconds a test waits for a pass before failing; a pass on an empty database takes milliseconds."""


class CountedDatabase:
    """The session factory of a pass: counts the sessions opened, and fails the ones numbered in ``failing``."""

    def __init__(self, factory: Factory, failing: frozenset[int] = frozenset()) -> None:
        self.factory = factory
        self.failing = failing
        self.opened = 0
        self._reached: dict[int, asyncio.Event] = {}

    def __call__(self) -> AsyncSession:
        self.opened += 1
        for count, event in self._reached.items():
            if self.opened >= count:
                event.set()
        if self.opened in self.failing:
            raise OperationalError("SELECT payment", {}, ConnectionRefusedError("the database is down"))
        return self.factory()

    async def reached(self, count: int) -> None:
        """Return once ``count`` sessions were opened (fail the test after ``WAIT`` seconds)."""
        event = self._reached.setdefault(count, asyncio.Event())
        if self.opened >= count:
            event.set()
        await asyncio.wait_for(event.wait(), WAIT)


@pytest.fixture(scope="module")
def catalogs() -> CatalogHolder:
    return CatalogHolder(Path(PROJECT_ROOT) / "catalog" / "data")


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    # No pending payment, so the wallet is never asked: the bot makes no request.
    bale = Bot("123456:reconcile-test")
    yield bale
    await bale.session.close()


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_a_pass_runs_at_start_and_the_next_one_waits_for_the_interval(
    factory: Factory, bot: Bot, catalogs: CatalogHolder
) -> None:
    database = CountedDatabase(factory)
    task = asyncio.create_task(
        reconcile_periodically(cast(Factory, database), bot, catalogs, every=timedelta(hours=1))
    )
    await database.reached(1)
    await asyncio.sleep(0.05)
    assert database.opened == 1, "one pass at start, the next only after the interval"
    await stop(task)
    assert database.opened == 1


async def test_a_failed_pass_is_logged_and_the_next_pass_still_runs(
    factory: Factory, bot: Bot, catalogs: CatalogHolder, caplog: pytest.LogCaptureFixture
) -> None:
    database = CountedDatabase(factory, failing=frozenset({1, 2}))
    with caplog.at_level(logging.ERROR, logger="bot.payments"):
        task = asyncio.create_task(
            reconcile_periodically(cast(Factory, database), bot, catalogs, every=timedelta(milliseconds=10))
        )
        await database.reached(4)
        await stop(task)
    failures = [record for record in caplog.records if "reconciliation failed" in record.getMessage()]
    assert len(failures) == 2, "each failed pass is logged once"
    assert all(record.exc_info and isinstance(record.exc_info[1], OperationalError) for record in failures)


async def test_cancelling_stops_the_loop_while_it_waits(
    factory: Factory, bot: Bot, catalogs: CatalogHolder
) -> None:
    database = CountedDatabase(factory)
    task = asyncio.create_task(
        reconcile_periodically(cast(Factory, database), bot, catalogs, every=timedelta(milliseconds=10))
    )
    await database.reached(3)
    await stop(task)
    passes = database.opened
    await asyncio.sleep(0.05)
    assert database.opened == passes, "no pass after the loop was cancelled"
