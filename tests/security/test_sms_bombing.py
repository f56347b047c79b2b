"""SMS bombing: many accounts asking at once for codes to one number, or to many numbers on one organization's bill.

Desk-level, on SQLite and PostgreSQL (``factory``): every code request runs in its own unit of work, as the bot's
handlers run them, all fired together with ``asyncio.gather`` so they race as concurrent updates would.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from desk.i18n import translator
from desk.persian import to_persian_digits
from desk.verification import PHONE_LIMIT, StartResult, StartStatus, start_verification
from storage.models import OutboxMessage
from storage.repositories import Citizens
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]

SECRET = "test-secret"
VICTIM = "09123456789"
ORG = "falavarjan"
T0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


async def accounts(factory: Factory, count: int, *, first: int = 7001) -> list[int]:
    """``count`` citizens, each a separate messenger account (user ids from ``first`` on)."""
    ids = []
    async with unit_of_work(factory, write=True) as session:
        for user_id in range(first, first + count):
            citizen = await Citizens(session).get_or_create("telegram", user_id, chat_id=user_id)
            assert citizen.id is not None
            ids.append(citizen.id)
    return ids


async def ask_code(
    factory: Factory,
    citizen_id: int,
    phone: str = VICTIM,
    *,
    now: datetime = T0,
    org: str = ORG,
    org_limit: int = 1000,
) -> StartResult:
    async with unit_of_work(factory, write=True) as session:
        return await start_verification(
            session, citizen_id, phone, org, now=now, secret=SECRET, org_limit=org_limit
        )


async def sms_to(factory: Factory, phone: str | None = None) -> int:
    async with factory() as session:
        stmt = select(OutboxMessage).where(col(OutboxMessage.channel) == "sms")
        if phone is not None:
            stmt = stmt.where(col(OutboxMessage.phone) == phone)
        return len((await session.scalars(stmt)).all())


async def test_ten_accounts_at_once_cannot_bomb_one_number(factory: Factory) -> None:
    citizens = await accounts(factory, 10)

    results = await asyncio.gather(*(ask_code(factory, citizen_id) for citizen_id in citizens))

    statuses = [result.status for result in results]
    assert statuses.count(StartStatus.SENT) == PHONE_LIMIT
    assert statuses.count(StartStatus.THROTTLED) == 10 - PHONE_LIMIT
    assert await sms_to(factory, VICTIM) == PHONE_LIMIT


async def test_many_accounts_cannot_run_up_one_organizations_sms_bill(factory: Factory) -> None:
    ceiling = 12
    citizens = await accounts(factory, 8)
    numbers = iter(f"0912{n:07d}" for n in range(1, 1000))

    # Eight accounts, three numbers each (under every per-number and per-account limit), all at once.
    results = await asyncio.gather(
        *(
            ask_code(factory, citizen_id, next(numbers), org_limit=ceiling)
            for citizen_id in citizens
            for _ in range(3)
        )
    )

    sent = [result for result in results if result.status is StartStatus.SENT]
    busy = [result for result in results if result.status is StartStatus.BUSY]
    assert len(sent) == ceiling
    assert len(busy) == len(results) - ceiling
    assert await sms_to(factory) == ceiling
    refusal = busy[0]
    assert refusal.key == "phone.start.busy"
    assert 0 < refusal.retry_after <= 3600
    text = translator("fa")(refusal.key, minutes=to_persian_digits(refusal.retry_minutes))
    assert "پیامک" in text
    assert "لطفاً ۶۰ دقیقه دیگر دوباره امتحان کنید" in text
    # Within the hour it stays shut, for new accounts and numbers too (another organization's bill is another
    # matter); an hour on, codes go out again.
    (late,) = await accounts(factory, 1, first=8001)
    minute_59 = T0 + timedelta(minutes=59)
    later = await ask_code(factory, late, next(numbers), now=minute_59, org_limit=ceiling)
    assert later.status is StartStatus.BUSY
    elsewhere = await ask_code(
        factory, late, next(numbers), now=minute_59, org="mobarakeh", org_limit=ceiling
    )
    assert elsewhere.status is StartStatus.SENT
    again = await ask_code(
        factory, late, next(numbers), now=T0 + timedelta(hours=1, seconds=1), org_limit=ceiling
    )
    assert again.status is StartStatus.SENT
