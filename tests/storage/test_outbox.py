"""The outbox: written with the change it announces, deduplicated, claimed under a lease."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Citizen, OutboxMessage, ServiceRequest
from storage.repositories import Outbox, Requests
from storage.uow import unit_of_work

NOW = datetime(2026, 3, 21, 6, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def message(key: str, *, due: datetime = NOW, **fields: object) -> OutboxMessage:
    values: dict[str, object] = {
        "channel": "chat",
        "platform": "bale",
        "chat_id": 7_000_000_123,
        "organization_id": "falavarjan",
        "payload": {
            "key": "desk.notify.status_changed",
            "params": {"code": "405123457", "status": "در حال بررسی"},
        },
        "dedupe_key": key,
        "next_attempt_at": due,
    }
    values.update(fields)
    return OutboxMessage(**values)  # type: ignore[arg-type]


async def _rows(factory: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with factory() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def test_a_notification_exists_only_if_its_transaction_committed(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    async def crashing_use_case() -> None:
        async with unit_of_work(factory) as session:
            request, _ = await Requests(session).add(make_request(citizen.id, tracking_code="61"))
            assert await Outbox(session).enqueue(message("status:61:submitted", request_id=request.id))
            raise RuntimeError("crashed before commit")

    with pytest.raises(RuntimeError, match="crashed"):
        await crashing_use_case()
    assert await _rows(factory) == []
    async with factory() as session:
        assert (await session.execute(select(func.count()).select_from(ServiceRequest))).scalar_one() == 0


async def test_a_notification_can_refer_to_a_request_added_in_the_same_transaction(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    async with unit_of_work(factory) as session:
        request = make_request(citizen.id, tracking_code="62")
        session.add(request)  # not flushed yet: enqueue must flush it first
        await session.flush()
        assert await Outbox(session).enqueue(message("status:62:submitted", request_id=request.id))
    rows = await _rows(factory)
    assert [row.request_id for row in rows] == [request.id]
    assert rows[0].payload["params"]["status"] == "در حال بررسی"


async def test_the_same_notification_is_enqueued_once(factory: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(factory) as session:
        outbox = Outbox(session)
        first = message("status:1:in_progress")
        assert await outbox.enqueue(first)
        assert first.id is not None
        assert not await outbox.enqueue(message("status:1:in_progress", payload={"other": True}))
        # The duplicate did not spoil the transaction: more work in it still commits.
        assert await outbox.enqueue(message("status:1:completed"))
    async with unit_of_work(factory) as session:
        assert not await Outbox(session).enqueue(message("status:1:in_progress"))
    rows = await _rows(factory)
    assert [row.dedupe_key for row in rows] == ["status:1:in_progress", "status:1:completed"]
    assert rows[0].payload["params"]["code"] == "405123457"  # the first one is kept


async def test_claim_takes_due_rows_oldest_first_and_leases_them(
    factory: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(factory) as session:
        outbox = Outbox(session)
        await outbox.enqueue(message("b", due=NOW - timedelta(minutes=1)))
        await outbox.enqueue(message("a", due=NOW - timedelta(minutes=5)))
        await outbox.enqueue(message("later", due=NOW + timedelta(minutes=5)))
        await outbox.enqueue(message("c", due=NOW))
    async with unit_of_work(factory, write=True) as session:
        claimed = await Outbox(session).claim_due(2, now=NOW, lease=LEASE)
    assert [m.dedupe_key for m in claimed] == ["a", "b"]
    assert all(m.status == "sending" and m.attempts == 1 and m.locked_until == NOW + LEASE for m in claimed)
    async with unit_of_work(factory, write=True) as session:
        rest = await Outbox(session).claim_due(10, now=NOW, lease=LEASE)
        assert [m.dedupe_key for m in rest] == ["c"]  # leased rows and future rows are not handed out
        assert await Outbox(session).claim_due(10, now=NOW + timedelta(seconds=30), lease=LEASE) == []


async def test_a_lease_that_runs_out_is_claimed_again(factory: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(factory) as session:
        await Outbox(session).enqueue(message("crash"))
    async with unit_of_work(factory, write=True) as session:
        (first,) = await Outbox(session).claim_due(5, now=NOW, lease=LEASE)
    # the sender died here, before marking anything
    async with unit_of_work(factory, write=True) as session:
        (again,) = await Outbox(session).claim_due(5, now=NOW + LEASE, lease=LEASE)
    assert again.id == first.id
    assert again.attempts == 2


async def test_a_lease_is_renewed_by_its_owner_alone_and_ended_for_the_owners_named(
    factory: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(factory) as session:
        for key in ("mine", "theirs", "dead"):
            await Outbox(session).enqueue(message(key, chat_id=len(key)))
    async with unit_of_work(factory, write=True) as session:
        outbox = Outbox(session)
        ids = {
            key: (await outbox.claim_due(1, now=NOW, lease=LEASE, owner=key))[0].id or 0
            for key in ("mine", "theirs", "dead")
        }
        await outbox.renew(ids.values(), owner="mine", until=NOW + 3 * LEASE)
        assert sorted(await outbox.lease_owners("chat")) == ["dead", "mine", "theirs"]
        assert await outbox.lease_owners("sms") == []
        assert await outbox.end_leases(["dead"], channel="chat", now=NOW) == 1
    leases = {row.dedupe_key: row.locked_until for row in await _rows(factory)}
    assert leases == {"mine": NOW + 3 * LEASE, "theirs": NOW + LEASE, "dead": NOW}
    async with unit_of_work(factory, write=True) as session:
        (again,) = await Outbox(session).claim_due(5, now=NOW, lease=LEASE, owner="next")
        assert (again.dedupe_key, again.locked_by) == ("dead", "next")
        await Outbox(session).mark_sent(again.id or 0, at=NOW)
    assert {row.dedupe_key: row.locked_by for row in await _rows(factory)}["dead"] is None


async def test_sent_retried_and_failed_messages(factory: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(factory) as session:
        for key in ("sent", "retry", "failed"):
            await Outbox(session).enqueue(message(key))
    async with unit_of_work(factory, write=True) as session:
        ids = {m.dedupe_key: m.id or 0 for m in await Outbox(session).claim_due(10, now=NOW, lease=LEASE)}
    retry_at = NOW + timedelta(minutes=2)
    async with unit_of_work(factory) as session:
        outbox = Outbox(session)
        await outbox.mark_sent(ids["sent"], at=NOW + timedelta(seconds=1))
        await outbox.mark_retry(ids["retry"], at=retry_at, error="429 Too Many Requests: retry after 120")
        await outbox.mark_failed(ids["failed"], error="403 Forbidden: bot was blocked by the user")
    async with factory() as session:
        outbox = Outbox(session)
        sent = await outbox.get(ids["sent"])
        retry = await outbox.get(ids["retry"])
        failed = await outbox.get(ids["failed"])
        assert sent is not None
        assert retry is not None
        assert failed is not None
        assert (sent.status, sent.sent_at) == ("sent", NOW + timedelta(seconds=1))
        assert (retry.status, retry.next_attempt_at, retry.locked_until) == ("pending", retry_at, None)
        assert retry.last_error is not None
        assert retry.last_error.startswith("429")
        assert failed.status == "failed"
        assert await outbox.count_by_status() == {"sent": 1, "pending": 1, "failed": 1}
    async with unit_of_work(factory, write=True) as session:
        assert await Outbox(session).claim_due(10, now=retry_at - timedelta(seconds=1), lease=LEASE) == []
        (due,) = await Outbox(session).claim_due(10, now=retry_at + timedelta(days=1), lease=LEASE)
    assert due.dedupe_key == "retry"
    assert due.attempts == 2


@pytest.mark.parametrize("database", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
async def test_concurrent_senders_on_postgresql_never_claim_the_same_row(
    factory: async_sessionmaker[AsyncSession],
) -> None:
    # SQLite has a single writer, so only PostgreSQL has concurrent claimers (FOR UPDATE SKIP LOCKED).
    async with unit_of_work(factory) as session:
        for n in range(30):
            await Outbox(session).enqueue(message(f"m{n}", due=NOW - timedelta(seconds=n)))

    first_claimed = asyncio.Event()
    release_first = asyncio.Event()

    async def slow_sender() -> list[int]:
        async with unit_of_work(factory) as session:
            claimed = await Outbox(session).claim_due(12, now=NOW, lease=LEASE)
            first_claimed.set()
            await release_first.wait()  # hold the row locks while the other sender claims
            return [m.id or 0 for m in claimed]

    async def fast_sender() -> list[int]:
        await first_claimed.wait()
        async with unit_of_work(factory) as session:
            claimed = await asyncio.wait_for(Outbox(session).claim_due(12, now=NOW, lease=LEASE), timeout=5)
        release_first.set()
        return [m.id or 0 for m in claimed]

    slow, fast = await asyncio.gather(slow_sender(), fast_sender())
    assert len(slow) == 12
    assert len(fast) == 12  # it skipped the locked rows instead of waiting for them
    assert not set(slow) & set(fast)

    async def sender() -> list[int]:
        async with unit_of_work(factory) as session:
            return [m.id or 0 for m in await Outbox(session).claim_due(2, now=NOW, lease=LEASE)]

    rest = await asyncio.gather(*(sender() for _ in range(5)))
    flat = [i for batch in rest for i in batch]
    assert len(flat) == len(set(flat)) == 6
    assert not set(flat) & (set(slow) | set(fast))
