"""What the outbox's two senders share: the run loop, waking and stopping, leases and backoff.

A sender (:class:`bot.outbox.OutboxSender` for chats, :class:`bot.sms_sender.SmsSender` for SMS) claims the
due rows of its channel under a lease that names this process (:func:`lease_owner`), sends them, and records
each outcome in its own short transaction. On start it ends the leases of this machine's dead processes
(:func:`end_dead_leases`); another machine's leases run out. :class:`Worker` is that skeleton: a sender says
what one round does and what stopping leaves to do.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import hashlib
import logging
import os
import random
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import OutboxMessage
from storage.repositories import Outbox
from storage.uow import unit_of_work

__all__ = ["LEASE_MARGIN", "Backoff", "Clock", "Worker", "dead_owners", "end_dead_leases", "lease_owner"]

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

LEASE_MARGIN = timedelta(seconds=10)
"""A lease with less than this left may be another sender's by now: it is not renewed, nor (beyond the send's
own timeout) is a send started under it."""
_NONCE = secrets.token_hex(4)  # tells this process from an earlier one that had the same pid


def _machine() -> str:
    """Where a process id names one process: the host name, its boot and the pid namespace, hashed."""
    parts = [socket.gethostname()]
    with contextlib.suppress(OSError):
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    with contextlib.suppress(OSError):
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def lease_owner() -> str:
    """This process as the owner of the leases it takes: ``machine:pid:nonce``."""
    return f"{_machine()}:{os.getpid()}:{_NONCE}"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, alive
        return True
    return True


def dead_owners(owners: Iterable[str]) -> list[str]:
    """The lease owners among ``owners`` known dead: processes of this machine whose pid is gone, or is ours
    under another nonce (an earlier process). Another machine's owners are never in it: it cannot be told."""
    machine, pid, nonce = lease_owner().split(":")
    dead = []
    for owner in owners:
        their_machine, their_pid, their_nonce = [*owner.split(":"), "", ""][:3]
        if their_machine != machine or not their_pid.isdigit() or int(their_pid) <= 0:
            continue
        if (their_pid == pid and their_nonce != nonce) or (their_pid != pid and not _running(int(their_pid))):
            dead.append(owner)
    return dead


async def end_dead_leases(factory: async_sessionmaker[AsyncSession], channel: str, now: datetime) -> int:
    """End the leases that dead processes of this machine hold on ``channel``'s rows; how many rows."""
    try:
        async with unit_of_work(factory, write=True) as session:
            outbox = Outbox(session)
            dead = dead_owners(await outbox.lease_owners(channel))
            ended = await outbox.end_leases(dead, channel=channel, now=now)
    except Exception:
        logger.exception("outbox: could not end the leases of dead senders; they will run out")
        return 0
    if ended:
        logger.info("outbox: took back %d %s rows from a sender that died", ended, channel)
    return ended


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff with jitter: attempt n waits between half and all of ``base * 2**(n-1)``."""

    base: float = 2.0
    cap: float = 900.0
    max_attempts: int = 15
    """A row whose attempt number ``max_attempts`` fails transiently is marked failed (about 2.5 h in)."""

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        return float(ceiling / 2 + rng.uniform(0, ceiling / 2))


class Worker(abc.ABC):
    """A long-running sender of one channel's outbox rows.

    Start it with ``asyncio.create_task(worker.run())``, call :meth:`notify` after each commit that queued a
    row, and :meth:`stop` it before closing what it sends with. A subclass is a dataclass with the attributes
    below; it says what one round does (:meth:`_round`) and what stopping leaves to do (:meth:`_shutdown`).
    """

    name: ClassVar[str]
    """Its log lines start with this."""
    channel: ClassVar[str]
    """The rows it sends (``OutboxMessage.channel``)."""

    factory: async_sessionmaker[AsyncSession]
    clock: Clock
    lease: timedelta
    owner: str
    poll_interval: float
    backoff: Backoff
    rng: random.Random

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._running: asyncio.Task[Any] | None = None
        self._db = asyncio.Lock()  # one write transaction of ours at a time (SQLite has a single writer)

    def notify(self) -> None:
        """Something was queued and committed: look for due rows now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Send until :meth:`stop` (or until cancelled); then :meth:`_shutdown`."""
        self._running = asyncio.current_task()
        self._stopping.clear()
        try:
            await self._begin()
            while not self._stopping.is_set():
                self._wake.clear()
                if await self._round():
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
        finally:
            await self._shutdown()

    async def stop(self) -> None:
        """Stop taking rows, finish the sends in flight, hand back the rest; wait until :meth:`run` ends."""
        self._stopping.set()
        self._wake.set()
        task = self._running
        if task is not None and task is not asyncio.current_task() and not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _begin(self) -> None:
        """Take back the rows that dead processes of this machine held."""
        async with self._db:
            await end_dead_leases(self.factory, self.channel, self.clock())

    @abc.abstractmethod
    async def _round(self) -> bool:
        """Claim what is due and send it (or hand it to tasks that do); True when more may be due at once."""

    async def _shutdown(self) -> None:  # noqa: B027 (an optional hook: nothing to finish by default)
        """After the last round: finish or hand back the rows still claimed."""

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction, one of ours at a time."""
        async with self._db, unit_of_work(self.factory, write=True) as session:
            yield session

    async def _claim_due(
        self, session: AsyncSession, limit: int, now: datetime, platform: str | None = None
    ) -> list[OutboxMessage]:
        """Lease up to ``limit`` due rows of the channel (of one ``platform``'s lane, when given) to this sender
        (``Outbox.claim_due``)."""
        rows = await Outbox(session).claim_due(
            limit, now=now, lease=self.lease, channel=self.channel, platform=platform, owner=self.owner
        )
        return list(rows)

    async def _renew(self, ids: Sequence[int], until: datetime) -> bool:
        """Extend to ``until`` this sender's leases on ``ids``; False (logged) when that failed."""
        try:
            async with self._write() as session:
                await Outbox(session).renew(ids, owner=self.owner, until=until)
        except Exception:
            logger.exception("%s: renewing the leases of %d rows failed", self.name, len(ids))
            return False
        return True

    def _retry_at(self, row: OutboxMessage, now: datetime) -> datetime:
        """When a row that failed for now is tried again: :attr:`backoff` after its latest attempt."""
        return now + timedelta(seconds=self.backoff.delay(row.attempts, self.rng))
