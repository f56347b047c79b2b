"""The morning digest of deadlines: a long-running task that queues ``desk.deadlines`` digests once a day, and
with them the reports due that day (``desk.report_digests``: last month's, last week's).

At ``at`` (07:30 Asia/Tehran by default) it reads the catalog in service, builds each organization's
:class:`~desk.deadlines.OrgGroups` (its operator groups, and whether today is a working day in its calendar; the
governorate is the organization of kind ``governorate``), queues the digests in one write transaction, and
nudges the outbox sender. At start-up it catches up on today's digest when the time has passed (within
``catch_up``) and no digest of today is in the outbox yet; the dedupe keys make a second run harmless anyway.

Time is read from ``clock`` (an aware datetime) and re-read after every wait, so a suspended machine or a clock
change never makes it run early; a run that fails (database down) is retried every ``retry`` within the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notifier import Notifier
from catalog.loader import CatalogHolder
from catalog.schema import OrganizationKind
from desk.deadlines import DigestResult, OrgGroups, digests_queued, queue_digests
from desk.inquiry_reminders import ESCALATE_AFTER_DAYS, queue_inquiry_reminders
from desk.persian import TEHRAN
from desk.report_digests import queue_report_digests
from storage.uow import unit_of_work

__all__ = ["DigestScheduler"]

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Organizations:
    """The catalog's organizations for one day's digest: each with its groups, the governorate, the names."""

    organizations: list[OrgGroups] = field(default_factory=list)
    governorate: OrgGroups | None = None
    names: dict[str, str] = field(default_factory=dict)


class DigestScheduler:
    """Queues the deadline digests every day at ``at`` in ``tz`` (see the module docstring).

    Start it with ``asyncio.create_task(scheduler.run())`` and :meth:`stop` it (or cancel the task) on shutdown;
    a run in progress finishes or rolls back as a whole.
    """

    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        catalogs: CatalogHolder,
        outbox: Notifier,
        *,
        at: time = time(7, 30),
        tz: tzinfo = TEHRAN,
        clock: Clock = _now,
        escalate_after_days: int = 3,
        weekly_reports: bool = True,
        inquiry_escalate_after_days: int = ESCALATE_AFTER_DAYS,
        catch_up: timedelta | None = timedelta(hours=6),
        retry: timedelta = timedelta(minutes=5),
        max_wait: timedelta = timedelta(minutes=10),
    ) -> None:
        """``catch_up`` is how long after ``at`` a missed digest is still queued (None: until midnight);
        ``max_wait`` is the longest single sleep before the clock is read again."""
        if at.tzinfo is not None:
            raise ValueError("give `at` as a naive local time; `tz` says where")
        self.factory = factory
        self.catalogs = catalogs
        self.outbox = outbox
        self.at = at
        self.tz = tz
        self.clock = clock
        self.escalate_after_days = escalate_after_days
        self.weekly_reports = weekly_reports
        self.inquiry_escalate_after_days = inquiry_escalate_after_days
        self.catch_up = catch_up
        self.retry = retry
        self.max_wait = max_wait
        self._stopping = asyncio.Event()
        self._done: date | None = None
        self._retry_at: datetime | None = None
        self._running: asyncio.Task[None] | None = None

    # ----------------------------------------------------------------------------------------- timing

    def _local(self, now: datetime) -> datetime:
        if now.tzinfo is None:
            raise ValueError("the clock must give aware datetimes")
        return now.astimezone(self.tz)

    def _run_time(self, day: date) -> datetime:
        return datetime.combine(day, self.at, tzinfo=self.tz)

    def next_run(self, now: datetime) -> datetime:
        """The first run time strictly after ``now``: today at ``at`` if still ahead, else tomorrow's (local)."""
        today = self._local(now).date()
        candidate = self._run_time(today)
        if candidate <= now:
            candidate = self._run_time(today + timedelta(days=1))
        return candidate

    def due_day(self, now: datetime) -> date | None:
        """The local day whose digest is due at ``now`` (its time passed, within ``catch_up``), else None."""
        today = self._local(now).date()
        start = self._run_time(today)
        if now < start or (self.catch_up is not None and now >= start + self.catch_up):
            return None
        return today

    # ------------------------------------------------------------------------------------------ running

    def organizations(self, day: date) -> _Organizations:
        """The catalog's organizations as the digest of ``day`` needs them, the governorate, and their names."""
        catalog = self.catalogs.catalog
        found = _Organizations()
        for org in catalog.organizations:
            entry = OrgGroups(
                organization_id=org.id,
                groups=catalog.operator_groups(org.id),
                is_working_day=catalog.calendar_for(org.id).is_working_day(day),
            )
            found.organizations.append(entry)
            found.names[org.id] = org.name.get("fa")
            if org.kind is OrganizationKind.GOVERNORATE and found.governorate is None:
                found.governorate = entry
        return found

    def _agencies(self, day: date) -> list[OrgGroups]:
        """The agencies as the inquiries' reminders need them (their groups, and whether they work on ``day``)."""
        catalog = self.catalogs.catalog
        return [
            OrgGroups(
                organization_id=agency.id,
                groups=catalog.operator_groups(agency.id),
                is_working_day=catalog.calendar_for(agency.id).is_working_day(day),
            )
            for agency in catalog.agencies
        ]

    async def run_once(self, day: date) -> DigestResult:
        """Queue the digests of ``day`` from the catalog in service, commit, and nudge the outbox sender."""
        orgs = self.organizations(day)
        result = await queue_digests(
            lambda: unit_of_work(self.factory, write=True),
            today=day,
            organizations=orgs.organizations,
            governorate=orgs.governorate,
            escalate_after_days=self.escalate_after_days,
            names=orgs.names,
        )
        async with unit_of_work(self.factory, write=True) as session:
            reports = await queue_report_digests(
                session,
                today=day,
                organizations=orgs.organizations,
                governorate_id=orgs.governorate.organization_id if orgs.governorate is not None else None,
                calendar_of=self.catalogs.catalog.calendar_for,
                weekly=self.weekly_reports,
            )
        async with unit_of_work(self.factory, write=True) as session:
            reminders = await queue_inquiry_reminders(
                session,
                today=day,
                organizations=[*orgs.organizations, *self._agencies(day)],
                governorate=orgs.governorate,
                escalate_after_days=self.inquiry_escalate_after_days,
                names={**orgs.names, **{a.id: a.name.get("fa") for a in self.catalogs.catalog.agencies}},
            )
        if result.queued or reports or reminders.queued:
            self.outbox.notify()
        if result.unreachable:
            logger.warning("digest: requests due but no operator group at %s", ", ".join(result.unreachable))
        logger.info(
            "digest of %s: %d queued (%d already), %d organizations, %d escalated, %d reports",
            day,
            result.queued,
            result.already_queued,
            len(result.digests),
            len(result.escalated),
            reports,
        )
        return result

    async def catch_up_at_start(self) -> DigestResult | None:
        """Queue today's digest now if its time has passed (within ``catch_up``) and none of today's is queued yet."""
        day = self.due_day(self.clock())
        if day is None:
            return None
        orgs = self.organizations(day)
        async with self.factory() as session:
            already = await digests_queued(session, day, orgs.organizations, orgs.governorate)
        if already:
            self._done = day
            return None
        return await self._attempt(day)

    async def run(self) -> None:
        """Catch up at start-up, then queue the digests every day at ``at`` until :meth:`stop` or cancellation."""
        self._running = asyncio.current_task()
        self._stopping.clear()
        try:
            await self.catch_up_at_start()
        except Exception:
            logger.exception("digest: the start-up check failed; it will be tried again")
            self._retry_at = self.clock() + self.retry
        while not self._stopping.is_set():
            now = self.clock()
            day = self.due_day(now)
            if day is not None and day != self._done and (self._retry_at is None or now >= self._retry_at):
                await self._attempt(day)
                now = self.clock()
                day = self.due_day(now)
            wake = self.next_run(now)
            if day is not None and day != self._done and self._retry_at is not None:
                wake = min(wake, self._retry_at)  # the run failed: try again shortly, within the window
            await self._sleep_until(wake)

    async def stop(self) -> None:
        """Stop waiting for the next run and return when :meth:`run` has ended; a run in progress (one short
        transaction) is let finish."""
        self._stopping.set()
        task = self._running
        if task is not None and task is not asyncio.current_task() and not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _attempt(self, day: date) -> DigestResult | None:
        try:
            result = await self.run_once(day)
        except Exception:
            logger.exception("digest of %s failed; it will be tried again in %s", day, self.retry)
            self._retry_at = self.clock() + self.retry
            return None
        self._done = day
        self._retry_at = None
        return result

    async def _sleep_until(self, wake: datetime) -> None:
        """Wait until ``wake`` by the clock (in steps of at most ``max_wait``), or until :meth:`stop`."""
        while not self._stopping.is_set():
            left = (wake - self.clock()).total_seconds()
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(left, self.max_wait.total_seconds())):
                    await self._stopping.wait()
