"""The scheduled jobs (the morning digests and reports, the wallet payments' reconciliation) run by one worker of
the cluster at a time.

Every ``miz serve`` (or ``miz run``) process starts a :class:`ClusterJobs`; the one that holds the lock
``scheduler`` (:mod:`storage.locks`: a PostgreSQL session advisory lock, or an ``flock`` next to a SQLite file)
runs the jobs, and the others wait, trying to take it every ``poll`` seconds. The lock ends with its holder, even one
killed hard, so another worker takes over within a poll; the new one's digest scheduler catches up on a digest
that is due and not yet queued (``bot.scheduler``), and the outbox's dedupe keys make a run that was cut short
harmless to repeat. The holder checks every ``poll`` that its lock's database connection still answers: when it
does not (the database restarted, and the lock with its session), it stops its jobs and waits its turn again, so
two workers never run them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from storage.locks import HeldLock

__all__ = ["LOCK_NAME", "ClusterJobs", "Job"]

logger = logging.getLogger(__name__)

LOCK_NAME = "scheduler"


class Job(Protocol):
    """A long-running job: runs until stopped or cancelled (``bot.scheduler.DigestScheduler`` is one)."""

    async def run(self) -> None: ...

    async def stop(self) -> None: ...


class PeriodicTask:
    """A coroutine that loops by itself (the payments' reconciliation) as a :class:`Job`: stopping cancels it."""

    def __init__(self, make: Callable[[], Awaitable[None]]) -> None:
        self._make = make
        self._task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        self._task = asyncio.current_task()
        await self._make()

    async def stop(self) -> None:
        task = self._task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class ClusterJobs:
    """Runs ``jobs`` (made afresh each time this worker takes the lead) while this worker holds the lock."""

    def __init__(
        self,
        locker: Callable[[str], Awaitable[HeldLock | None]],
        jobs: Sequence[Callable[[], Job]],
        *,
        poll: float = 15.0,
    ) -> None:
        self._locker = locker
        self._jobs = jobs
        self._poll = poll
        self._stopping = asyncio.Event()
        self.leading = False
        """Whether this worker runs the jobs now."""

    async def run(self) -> None:
        """Take the lead when it is free, run the jobs while it lasts, and again, until :meth:`stop`."""
        while not self._stopping.is_set():
            lock = await self._take()
            if lock is None:
                return
            try:
                await self._lead(lock)
            finally:
                self.leading = False
                await lock.release()

    async def stop(self) -> None:
        """Stop the jobs (a run in progress ends as the job's own ``stop`` lets it) and give up the lead."""
        self._stopping.set()

    async def _take(self) -> HeldLock | None:
        while not self._stopping.is_set():
            try:
                lock = await self._locker(LOCK_NAME)
            except Exception as error:  # the database is down: nobody can run the jobs now
                logger.warning(
                    "scheduled jobs: cannot reach the lock (%s); trying again", type(error).__name__
                )
                lock = None
            if lock is not None:
                return lock
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._stopping.wait()
        return None

    async def _lead(self, lock: HeldLock) -> None:
        self.leading = True
        logger.info("scheduled jobs: this worker runs them")
        jobs = [make() for make in self._jobs]
        tasks = [asyncio.create_task(job.run(), name=f"miz-job-{type(job).__name__}") for job in jobs]
        try:
            while not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll):
                        await self._stopping.wait()
                if not self._stopping.is_set() and not await lock.held():
                    logger.error("scheduled jobs: the lock's database session is gone; stopping them here")
                    return
        finally:
            for job in jobs:
                with contextlib.suppress(Exception):
                    await job.stop()
            for task in tasks:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                except Exception:
                    logger.exception("scheduled jobs: %s had failed", task.get_name())
