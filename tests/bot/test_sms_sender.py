"""The SMS sender delivers the outbox's SMS rows through the emulated Kavenegar gateway, over real HTTP.

What a citizen would notice: the SMS arrives once (also across a restart of the bot), a gateway hiccup only
delays it, an invalid number or an organization that turned SMS off never costs anything, and a one-time code
does not stay readable in the database once sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from bot.outbox import lease_owner
from bot.sms import SmsProvider, SmsResult, create_sms_provider
from bot.sms_sender import SmsSender
from config.settings import Settings
from desk.notifications import enqueue_sms, sms_payload
from desk.sms import sms_parts
from emulator import EmulatorClient, RunningEmulator
from emulator.sms import PRICE_PER_PART
from storage.columns import utcnow
from storage.models import OutboxMessage
from storage.repositories import Outbox
from storage.uow import unit_of_work

PHONE = "09121234567"


@pytest.fixture(autouse=True)
def persian(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIZ_LOCALE", "fa")


@pytest.fixture
async def provider(emu: RunningEmulator) -> AsyncIterator[SmsProvider]:
    settings = Settings(
        _env_file=None,
        sms_provider="kavenegar",
        sms_api_base=emu.base_url,
        sms_api_key="test-key",
        sms_sender="30007732",
        sms_timeout_seconds=1,
    )
    made = create_sms_provider(settings)
    yield made
    await made.close()


def _names(org: str, lang: str) -> str:
    return {"falavarjan": "شهرداری فلاورجان"}.get(org, org)


Make = Callable[..., SmsSender]


@pytest.fixture
def make(factory: async_sessionmaker[AsyncSession], provider: SmsProvider) -> Make:
    def build(**overrides: object) -> SmsSender:
        options: dict[str, object] = {"org_names": _names, "per_second": 100.0, "poll_interval": 0.05}
        options.update(overrides)
        return SmsSender(factory, provider, **options)  # type: ignore[arg-type]

    return build


async def _queue(factory: async_sessionmaker[AsyncSession], key: str = "sms-1", **payload: object) -> int:
    body = payload or sms_payload(
        "sms.submitted", "fa", params={"org": "falavarjan", "code": "۱۲۳۴-۵۶۷۸-۹۰۱۲"}
    )
    async with unit_of_work(factory, write=True) as session:
        await enqueue_sms(session, phone=PHONE, organization_id="falavarjan", payload=body, dedupe_key=key)
        found = (
            await session.scalars(select(OutboxMessage).where(col(OutboxMessage.dedupe_key) == key))
        ).one()
    assert found.id is not None
    return found.id


async def _row(factory: async_sessionmaker[AsyncSession], row_id: int) -> OutboxMessage:
    async with factory() as session:
        row = await Outbox(session).get(row_id)
    assert row is not None
    return row


async def _run_until(sender: SmsSender, done: Callable[[], Awaitable[bool]]) -> None:
    task = asyncio.create_task(sender.run())
    try:
        async with asyncio.timeout(30):  # generous: a busy machine is many times slower
            while not await done():
                sender.notify()
                await asyncio.sleep(0.02)
    finally:
        await sender.stop()
        await task


async def test_a_queued_sms_reaches_the_phone_once_with_its_cost(
    factory: async_sessionmaker[AsyncSession], make: Make, client: EmulatorClient
) -> None:
    row_id = await _queue(factory)
    sender = make()

    async def sent() -> bool:
        return (await _row(factory, row_id)).status == "sent"

    await _run_until(sender, sent)
    [sms] = await client.sms_messages(to=PHONE)
    assert sms["text"] == "میز: درخواست شما در شهرداری فلاورجان ثبت شد؛ کد رهگیری ۱۲۳۴-۵۶۷۸-۹۰۱۲"
    row = await _row(factory, row_id)
    charged = sms_parts(sms["text"]) * PRICE_PER_PART  # 69 Persian characters: one part
    assert row.cost_rials == charged == PRICE_PER_PART
    async with factory() as session:
        costs = await Outbox(session).sms_costs()
    assert costs["falavarjan"] == (1, 1, charged)

    again = make()  # a restart: a new sender finds nothing left to send
    task = asyncio.create_task(again.run())
    await asyncio.sleep(0.3)
    await again.stop()
    await task
    assert len(await client.sms_messages(to=PHONE)) == 1


async def test_an_sms_claimed_by_a_sender_that_died_is_sent_once_its_lease_runs_out(
    factory: async_sessionmaker[AsyncSession], make: Make, client: EmulatorClient
) -> None:
    row_id = await _queue(factory)
    async with unit_of_work(factory, write=True) as session:  # the dead sender's claim
        [claimed] = await Outbox(session).claim_due(1, lease=timedelta(seconds=60), channel="sms")
    assert claimed.id == row_id

    early = make()
    task = asyncio.create_task(early.run())
    await asyncio.sleep(0.3)
    await early.stop()
    await task
    assert await client.sms_messages(to=PHONE) == [], "sent while another sender still held it"

    later = make(clock=lambda: utcnow() + timedelta(seconds=61))

    async def sent() -> bool:
        return (await _row(factory, row_id)).status == "sent"

    await _run_until(later, sent)
    assert len(await client.sms_messages(to=PHONE)) == 1


async def test_an_sms_held_by_a_dead_process_of_this_machine_is_sent_at_once_after_a_restart(
    factory: async_sessionmaker[AsyncSession], make: Make, client: EmulatorClient
) -> None:
    died = await asyncio.create_subprocess_exec("true")
    await died.wait()
    owner = f"{lease_owner().split(':')[0]}:{died.pid}:0"
    row_id = await _queue(factory)
    async with unit_of_work(factory, write=True) as session:  # claimed for long, then the process was killed
        [claimed] = await Outbox(session).claim_due(
            1, lease=timedelta(minutes=10), channel="sms", owner=owner
        )
    assert claimed.id == row_id

    async def sent() -> bool:
        return (await _row(factory, row_id)).status == "sent"

    await _run_until(make(), sent)  # within seconds, not ten minutes
    assert len(await client.sms_messages(to=PHONE)) == 1


async def test_a_slow_gateway_does_not_let_the_batchs_leases_run_out(
    factory: async_sessionmaker[AsyncSession], provider: SmsProvider, client: EmulatorClient
) -> None:
    """Each SMS takes 65 s of a 90 s lease here: the rows still waiting have theirs renewed before each send."""
    later = [timedelta(0)]
    real_send = provider.send

    async def slow_send(phone: str, text: str) -> SmsResult:
        later[0] += timedelta(seconds=65)
        return await real_send(phone, text)

    provider.send = slow_send  # type: ignore[method-assign]
    first, second = await _queue(factory, "sms-1"), await _queue(factory, "sms-2")
    sender = SmsSender(factory, provider, per_second=100.0, clock=lambda: utcnow() + later[0])

    async def both_sent() -> bool:
        return {(await _row(factory, row_id)).status for row_id in (first, second)} == {"sent"}

    await _run_until(sender, both_sent)
    assert len(await client.sms_messages(to=PHONE)) == 2


async def test_a_gateway_error_only_delays_the_sms(
    factory: async_sessionmaker[AsyncSession], make: Make, client: EmulatorClient
) -> None:
    await client.inject_sms_fault(kind="http", status=502, count=1)
    row_id = await _queue(factory)
    sender = make()
    sender.backoff = type(sender.backoff)(base=0.05, cap=0.1, max_attempts=5)

    async def sent() -> bool:
        return (await _row(factory, row_id)).status == "sent"

    await _run_until(sender, sent)
    assert sender.stats.retried == 1
    assert len(await client.sms_messages(to=PHONE)) == 1


async def test_no_credit_keeps_the_sms_for_later(
    factory: async_sessionmaker[AsyncSession], make: Make, client: EmulatorClient
) -> None:
    await client.configure_sms_gateway(credit=0)
    row_id = await _queue(factory)
    sender = make()

    async def waiting() -> bool:
        row = await _row(factory, row_id)
        return row.status == "pending" and row.attempts == 1

    await _run_until(sender, waiting)
    row = await _row(factory, row_id)
    assert row.next_attempt_at > utcnow() + timedelta(minutes=29)
    assert sender.stats.no_credit == 1
    assert await client.sms_messages(to=PHONE) == []


async def test_an_invalid_number_fails_for_good_without_a_charge(
    factory: async_sessionmaker[AsyncSession], make: Make, client: EmulatorClient
) -> None:
    await client.inject_sms_fault(kind="status", provider="kavenegar", status=411, count=1)
    row_id = await _queue(factory)
    sender = make()

    async def failed() -> bool:
        return (await _row(factory, row_id)).status == "failed"

    await _run_until(sender, failed)
    row = await _row(factory, row_id)
    assert row.cost_rials is None
    assert "411" in (row.last_error or "")


async def test_an_organization_that_turned_sms_off_sends_nothing(
    factory: async_sessionmaker[AsyncSession], make: Make, client: EmulatorClient
) -> None:
    row_id = await _queue(factory)
    sender = make(sms_allowed=lambda org: org != "falavarjan")

    async def failed() -> bool:
        return (await _row(factory, row_id)).status == "failed"

    await _run_until(sender, failed)
    assert await client.sms_messages(to=PHONE) == []
    assert "turned SMS off" in ((await _row(factory, row_id)).last_error or "")


async def test_a_one_time_code_is_sent_and_then_wiped_from_the_database(
    factory: async_sessionmaker[AsyncSession], make: Make, client: EmulatorClient
) -> None:
    row_id = await _queue(factory, key="code-1", type="sms_code", code="48213")
    sender = make()

    async def sent() -> bool:
        return (await _row(factory, row_id)).status == "sent"

    await _run_until(sender, sent)
    sms = await client.expect_sms(PHONE, "48213", timeout=2)
    assert "48213" in sms["text"]
    assert "48213" not in str((await _row(factory, row_id)).payload)
