"""The queries behind the morning digest of deadlines: due-by lists and counts, and finding a day's digest keys."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Citizen, OutboxMessage
from storage.repositories import Outbox, Requests
from storage.uow import unit_of_work


async def test_requests_due_by_a_day_are_open_ones_most_overdue_first_and_counted_per_organization(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    rows = [
        ("51", "falavarjan", "in_progress", date(2026, 5, 2)),
        ("52", "falavarjan", "submitted", date(2026, 4, 20)),
        ("53", "falavarjan", "completed", date(2026, 4, 1)),
        ("54", "falavarjan", "needs_info", None),
        ("55", "falavarjan", "submitted", date(2026, 5, 3)),
        ("56", "imanshahr", "waiting_external", date(2026, 4, 25)),
        ("57", "falavarjan", "awaiting_payment", date(2026, 4, 20)),
    ]
    async with unit_of_work(factory) as session:
        for code, org, status, deadline in rows:
            await Requests(session).add(
                make_request(
                    citizen.id, tracking_code=code, organization_id=org, status=status, deadline=deadline
                )
            )
    async with factory() as session:
        requests = Requests(session)
        day = date(2026, 5, 2)
        assert [r.tracking_code for r in await requests.due_by(day)] == ["52", "57", "56", "51"]
        here = await requests.due_by(day, organization_id="falavarjan")
        assert [r.tracking_code for r in here] == ["52", "57", "51"]
        first = await requests.due_by(day, organization_id="falavarjan", limit=1)
        assert [r.tracking_code for r in first] == ["52"]
        assert await requests.count_due_by(day) == {"falavarjan": 3, "imanshahr": 1}
        assert await requests.count_due_by(date(2026, 4, 24)) == {"falavarjan": 2}
        assert await requests.count_due_by(date(2026, 1, 1)) == {}


async def test_the_outbox_tells_whether_one_of_some_exact_keys_was_queued_without_reading_it_all(
    factory: async_sessionmaker[AsyncSession], statements: list[str]
) -> None:
    async with unit_of_work(factory, write=True) as session:
        await Outbox(session).enqueue(
            OutboxMessage(
                channel="chat",
                platform="bale",
                chat_id=-5,
                organization_id="falavarjan",
                payload={"type": "text"},
                dedupe_key="digest:falavarjan:2026-05-02:bale",
            )
        )
    statements.clear()
    async with factory() as session:
        outbox = Outbox(session)
        assert await outbox.has_key("digest:imanshahr:2026-05-02:bale", "digest:falavarjan:2026-05-02:bale")
        assert not await outbox.has_key("digest:falavarjan:2026-05-03:bale")
        assert not await outbox.has_key("digest:falavarjan:2026-05-02:")
        assert not await outbox.has_key()
    assert statements
    assert not any(" LIKE " in s.upper() for s in statements)


async def test_work_lists_and_counts_name_the_open_statuses_so_the_indexes_serve_them(
    factory: async_sessionmaker[AsyncSession], statements: list[str]
) -> None:
    async with factory() as session:
        requests = Requests(session)
        await requests.work_list("falavarjan", assignee=("bale", 7), late_on=date(2026, 5, 2))
        await requests.count_work("falavarjan")
        await requests.due_by(date(2026, 5, 2), organization_id="falavarjan", limit=30)
        await requests.count_due_by(date(2026, 5, 2))
    listed = [s for s in statements if "service_request" in s]
    assert len(listed) == 4
    for statement in listed:
        assert "NOT IN" not in statement.upper()
        assert "status IN" in statement
