"""Scheduled jobs run once cluster-wide (issue #18): three workers' schedulers on one database, each on its own
connections, and the morning digest is queued by one of them, once; when that worker stops, another takes the
lead and does not queue it again. On SQLite (an ``flock`` beside the file) and PostgreSQL (an advisory lock)."""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cluster_jobs import ClusterJobs, Job
from bot.scheduler import DigestScheduler
from catalog.loader import CatalogHolder
from desk.deadlines import DigestResult
from storage.db import session_factory
from storage.locks import try_lock
from tests.bot.test_scheduler import (
    SATURDAY,
    FakeClock,
    FakeOutbox,
    catalogs,
    dedupe_keys,
    overdue_request,
    tehran,
)
from tests.conftest import Database

__all__ = ["catalogs"]  # the scheduler tests' fixture


class CountingScheduler(DigestScheduler):
    """A digest scheduler that counts its runs in a list shared by every worker of the test."""

    def __init__(self, runs: list[str], worker: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._runs = runs
        self._worker = worker

    async def run_once(self, day: Any) -> DigestResult:
        self._runs.append(self._worker)
        return await super().run_once(day)


async def _until(condition: Any, timeout: float = 10) -> None:  # noqa: ASYNC109 (a test's deadline)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_three_workers_schedulers_queue_the_morning_digest_once_and_the_lead_moves_when_one_stops(
    database: Database, engine: AsyncEngine, catalogs: CatalogHolder
) -> None:
    await overdue_request(session_factory(engine))
    clock = FakeClock(tehran(SATURDAY, 8))  # after 07:30: every scheduler would catch up on today's digest
    runs: list[str] = []
    engines = [database.engine() for _ in range(3)]  # each worker its own connections
    workers: list[ClusterJobs] = []
    for index, own in enumerate(engines):

        def digests(own: AsyncEngine = own, name: str = f"worker-{index}") -> Job:
            factory = session_factory(own)
            return CountingScheduler(
                runs, name, factory, catalogs, FakeOutbox(), clock=clock, weekly_reports=False
            )

        workers.append(ClusterJobs(functools.partial(try_lock, own), [digests], poll=0.1))
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    try:
        await _until(lambda: len(runs) >= 1)
        await asyncio.sleep(1.0)  # ten polls: time for anyone else to run it too
        assert len(runs) == 1, runs
        leaders = [worker for worker in workers if worker.leading]
        assert len(leaders) == 1
        keys = await dedupe_keys(session_factory(engine))
        assert "digest:falavarjan:2026-05-02:telegram" in keys

        first = workers.index(leaders[0])
        await workers[first].stop()
        await tasks[first]
        await _until(lambda: any(worker.leading for worker in workers))  # another takes the lead
        await asyncio.sleep(0.5)
        assert len(runs) == 1, f"the new leader found today's digest queued: {runs}"
        assert await dedupe_keys(session_factory(engine)) == keys
        assert sum(worker.leading for worker in workers) == 1
    finally:
        for worker in workers:
            await worker.stop()
        await asyncio.gather(*tasks)
        for own in engines:
            await own.dispose()
