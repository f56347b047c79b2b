"""Automatic reports with a frozen clock: last month's on the month's first working day, last week's on the week's,
to every operator group, once however often the day's run repeats and however many workers run it."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from bot.scheduler import DigestScheduler
from catalog.loader import CatalogHolder
from storage.models import OutboxMessage
from tests.bot.test_scheduler import FakeClock, FakeOutbox, catalogs, tehran

__all__ = ["catalogs"]  # the catalog fixture, shared with the deadline digests' tests

Factory = async_sessionmaker[AsyncSession]

HOLIDAY = date(2026, 12, 22)  # 1405/10/01, the first of Dey: the Birth of Imam Ali, offices closed
DEY_OPENS = date(2026, 12, 23)  # 1405/10/02: the month's first working day
SATURDAY = date(2026, 12, 26)  # the first working day of a week (Thursday and Friday are the weekend)


def planner(factory: Factory, catalogs: CatalogHolder, day: date, **options: Any) -> DigestScheduler:
    return DigestScheduler(factory, catalogs, FakeOutbox(), clock=FakeClock(tehran(day, 8)), **options)


async def report_rows(factory: Factory) -> list[OutboxMessage]:
    async with factory() as session:
        stmt = select(OutboxMessage).where(col(OutboxMessage.dedupe_key).like("report:%"))
        return list((await session.scalars(stmt.order_by(col(OutboxMessage.id)))).all())


async def test_last_months_report_comes_on_the_months_first_working_day(
    factory: Factory, catalogs: CatalogHolder
) -> None:
    await planner(factory, catalogs, HOLIDAY).run_once(HOLIDAY)
    assert await report_rows(factory) == [], "not on the holiday that opens the month"

    await planner(factory, catalogs, DEY_OPENS).run_once(DEY_OPENS)
    rows = await report_rows(factory)
    catalog = catalogs.catalog
    groups = {(org.id, p) for org in catalog.organizations for p in catalog.operator_groups(org.id)}
    assert {(r.organization_id, r.platform) for r in rows} == groups, (
        "every operator group, on both messengers"
    )
    assert all(r.dedupe_key.startswith("report:month:") for r in rows)
    governorate = [r for r in rows if r.organization_id == "governorate"]
    falavarjan = [r for r in rows if r.organization_id == "falavarjan"]
    assert all(r.payload["governorate"] for r in governorate), "every organization side by side"
    assert not any(r.payload["governorate"] for r in falavarjan), "its own figures"
    assert falavarjan[0].payload["first"] == "2026-11-22"  # Azar 1405, the month just ended
    assert falavarjan[0].payload["last"] == "2026-12-21"
    chat = {r.chat_id for r in falavarjan}
    assert chat == set(catalog.operator_groups("falavarjan").values())


async def test_a_report_is_queued_once_by_repeated_runs_and_parallel_workers(
    factory: Factory, catalogs: CatalogHolder
) -> None:
    await asyncio.gather(*(planner(factory, catalogs, DEY_OPENS).run_once(DEY_OPENS) for _ in range(3)))
    await planner(factory, catalogs, DEY_OPENS).run_once(DEY_OPENS)
    keys = [r.dedupe_key for r in await report_rows(factory)]
    assert keys
    assert len(keys) == len(set(keys))


async def test_last_weeks_report_comes_on_saturday_unless_switched_off(
    factory: Factory, catalogs: CatalogHolder
) -> None:
    await planner(factory, catalogs, SATURDAY, weekly_reports=False).run_once(SATURDAY)
    assert await report_rows(factory) == []
    await planner(factory, catalogs, SATURDAY).run_once(SATURDAY)
    rows = await report_rows(factory)
    assert rows
    assert all(r.dedupe_key.startswith("report:week:") for r in rows)
    assert {(r.payload["first"], r.payload["last"]) for r in rows} == {("2026-12-19", "2026-12-25")}
    await planner(factory, catalogs, date(2026, 12, 27)).run_once(date(2026, 12, 27))
    assert len(await report_rows(factory)) == len(rows), "Sunday brings no second weekly report"
