"""The daily digest scheduler: when it runs (across midnight, in Tehran time), its start-up catch-up, and its loop.

A fake clock stands in for the wall clock; the catalog is the county's own, so the organizations, their groups
and their calendars (Thursday and Friday off) are the real ones.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from bot.scheduler import DigestScheduler
from catalog.loader import CatalogHolder
from config.settings import PROJECT_ROOT
from desk.persian import TEHRAN
from storage.models import OutboxMessage, ServiceRequest
from storage.repositories import Citizens, Requests, ServiceVersions
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]

SATURDAY = date(2026, 5, 2)  # a working day
FRIDAY = date(2026, 5, 1)  # the weekend


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class FakeOutbox:
    """Counts the nudges the scheduler gives the outbox sender."""

    def __init__(self) -> None:
        self.nudges = 0
        self.nudged = asyncio.Event()

    def notify(self) -> None:
        self.nudges += 1
        self.nudged.set()


def tehran(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TEHRAN)


@pytest.fixture(scope="module")
def catalogs() -> CatalogHolder:
    return CatalogHolder(Path(PROJECT_ROOT) / "catalog" / "data")


def scheduler(
    factory: Any, catalogs: CatalogHolder, clock: FakeClock, outbox: FakeOutbox | None = None, **options: Any
) -> DigestScheduler:
    # These tests count the deadline digests; the weekly reports queued with them are tests/bot/test_report_digests.py's.
    options.setdefault("weekly_reports", False)
    return DigestScheduler(factory, catalogs, outbox or FakeOutbox(), clock=clock, **options)


async def overdue_request(
    factory: Factory, org: str = "falavarjan", deadline: date = date(2026, 4, 20)
) -> None:
    async with unit_of_work(factory, write=True) as session:
        citizen = await Citizens(session).get_or_create("telegram", 77, chat_id=77)
        assert citizen.id is not None
        await Requests(session).add(
            ServiceRequest(
                tracking_code=f"{deadline.toordinal()}{org}"[:32],
                citizen_id=citizen.id,
                organization_id=org,
                service_id="renovation_fee",
                service_version="v1",
                definition=await ServiceVersions(session).get_or_create(
                    "renovation_fee", "v1", {"title": {"fa": "پرداخت عوارض نوسازی"}}
                ),
                status="submitted",
                deadline=deadline,
            )
        )


async def dedupe_keys(factory: Factory) -> list[str]:
    async with factory() as session:
        stmt = select(OutboxMessage.dedupe_key).order_by(col(OutboxMessage.id))
        return list((await session.scalars(stmt)).all())


# When it runs.


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (tehran(SATURDAY, 6), tehran(SATURDAY, 7, 30)),
        (tehran(SATURDAY, 7, 30), tehran(date(2026, 5, 3), 7, 30)),  # exactly now: the next one is tomorrow
        (tehran(SATURDAY, 23, 59), tehran(date(2026, 5, 3), 7, 30)),
        # 21:00 UTC is already 00:30 the next day in Tehran: that day's 07:30, not the UTC day's.
        (datetime(2026, 5, 2, 21, 0, tzinfo=UTC), tehran(date(2026, 5, 3), 7, 30)),
        (datetime(2026, 5, 2, 3, 59, tzinfo=UTC), tehran(SATURDAY, 7, 30)),  # 07:29 in Tehran
        (tehran(date(2027, 3, 20), 8), tehran(date(2027, 3, 21), 7, 30)),  # across the Jalali new year
        (tehran(date(2026, 12, 31), 9), tehran(date(2027, 1, 1), 7, 30)),
    ],
)
def test_the_next_run_is_the_next_local_digest_time(
    factory: Factory, catalogs: CatalogHolder, now: datetime, expected: datetime
) -> None:
    planner = scheduler(factory, catalogs, FakeClock(now))
    run_at = planner.next_run(now)
    assert run_at == expected
    assert run_at.astimezone(TEHRAN).time() == time(7, 30)


def test_a_digest_is_due_from_its_time_until_the_catch_up_window_closes(
    factory: Factory, catalogs: CatalogHolder
) -> None:
    planner = scheduler(factory, catalogs, FakeClock(tehran(SATURDAY, 6)))
    assert planner.due_day(tehran(SATURDAY, 7, 29)) is None
    assert planner.due_day(tehran(SATURDAY, 7, 30)) == SATURDAY
    assert planner.due_day(tehran(SATURDAY, 13, 29)) == SATURDAY
    assert planner.due_day(tehran(SATURDAY, 13, 30)) is None  # too late today: no digest in the evening
    anytime = scheduler(factory, catalogs, FakeClock(tehran(SATURDAY, 6)), catch_up=None)
    assert anytime.due_day(tehran(SATURDAY, 23, 59)) == SATURDAY


def test_a_naive_time_of_day_and_an_aware_clock_are_required(
    factory: Factory, catalogs: CatalogHolder
) -> None:
    with pytest.raises(ValueError, match="naive"):
        scheduler(factory, catalogs, FakeClock(tehran(SATURDAY, 6)), at=time(7, 30, tzinfo=UTC))
    with pytest.raises(ValueError, match="aware"):
        scheduler(factory, catalogs, FakeClock(tehran(SATURDAY, 6))).next_run(datetime(2026, 5, 2, 6))


# The start-up catch-up.


async def test_start_up_after_the_digest_time_queues_todays_digest_once(
    factory: Factory, catalogs: CatalogHolder
) -> None:
    await overdue_request(factory)
    outbox = FakeOutbox()
    clock = FakeClock(tehran(SATURDAY, 9))
    first = scheduler(factory, catalogs, clock, outbox)

    result = await first.catch_up_at_start()

    assert result is not None
    assert result.digests == ("falavarjan",)
    assert result.escalated == ("falavarjan",)  # 12 days late
    keys = await dedupe_keys(factory)
    assert set(keys) == {
        "digest:falavarjan:2026-05-02:telegram",
        "digest:falavarjan:2026-05-02:bale",
        "escalation:2026-05-02:telegram",
        "escalation:2026-05-02:bale",
    }
    assert outbox.nudges == 1
    # A restart later the same morning finds today's digest queued and does nothing.
    await overdue_request(factory, org="imanshahr", deadline=SATURDAY)
    again = scheduler(factory, catalogs, clock, outbox)
    assert await again.catch_up_at_start() is None
    assert await dedupe_keys(factory) == keys
    assert outbox.nudges == 1


async def test_start_up_before_the_digest_time_or_too_late_queues_nothing(
    factory: Factory, catalogs: CatalogHolder
) -> None:
    await overdue_request(factory)
    for now in (tehran(SATURDAY, 7, 29), tehran(SATURDAY, 20)):
        assert await scheduler(factory, catalogs, FakeClock(now)).catch_up_at_start() is None
    assert await dedupe_keys(factory) == []


async def test_no_digest_on_the_weekend(factory: Factory, catalogs: CatalogHolder) -> None:
    await overdue_request(factory)
    result = await scheduler(factory, catalogs, FakeClock(tehran(FRIDAY, 8))).catch_up_at_start()
    assert result is not None
    assert (result.queued, result.digests, result.escalated) == (0, (), ())
    assert await dedupe_keys(factory) == []


# The loop.


async def test_the_loop_runs_at_the_digest_time_and_stops_when_asked(
    factory: Factory, catalogs: CatalogHolder
) -> None:
    await overdue_request(factory)
    clock = FakeClock(tehran(SATURDAY, 6))
    outbox = FakeOutbox()
    planner = scheduler(factory, catalogs, clock, outbox, max_wait=timedelta(milliseconds=10))
    task = asyncio.create_task(planner.run())
    await asyncio.sleep(0.05)
    assert await dedupe_keys(factory) == []  # not yet 07:30

    clock.now = tehran(SATURDAY, 7, 30)
    await asyncio.wait_for(outbox.nudged.wait(), timeout=10)
    assert len(await dedupe_keys(factory)) == 4
    await asyncio.sleep(0.05)
    assert outbox.nudges == 1  # once a day, not once per wake-up

    await asyncio.wait_for(planner.stop(), timeout=5)
    assert task.done()
    assert task.exception() is None


async def test_cancelling_the_loop_while_it_waits_ends_it_cleanly(
    factory: Factory, catalogs: CatalogHolder
) -> None:
    planner = scheduler(factory, catalogs, FakeClock(tehran(SATURDAY, 6)))
    task = asyncio.create_task(planner.run())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await planner.stop()  # stopping a cancelled scheduler is harmless


async def test_a_failed_run_is_tried_again_within_the_window(
    factory: Factory, catalogs: CatalogHolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    await overdue_request(factory)
    clock = FakeClock(tehran(SATURDAY, 8))
    outbox = FakeOutbox()
    planner = scheduler(
        factory, catalogs, clock, outbox, retry=timedelta(minutes=5), max_wait=timedelta(milliseconds=10)
    )
    real = planner.run_once
    calls = 0
    first_call = asyncio.Event()

    async def flaky(day: date) -> Any:
        nonlocal calls
        calls += 1
        first_call.set()
        if calls == 1:
            raise OSError("database is down")
        return await real(day)

    monkeypatch.setattr(planner, "run_once", flaky)
    task = asyncio.create_task(planner.run())
    await asyncio.wait_for(first_call.wait(), timeout=10)  # a loaded machine may take a while to start it
    await asyncio.sleep(0.05)
    assert calls == 1
    assert await dedupe_keys(factory) == []
    clock.now += timedelta(minutes=5)
    await asyncio.wait_for(outbox.nudged.wait(), timeout=10)
    assert calls == 2
    assert len(await dedupe_keys(factory)) == 4
    await planner.stop()
    assert task.done()
