"""The morning digest of deadlines and the escalation to the governorate, on SQLite and PostgreSQL.

Each test stores requests with deadlines around ``TODAY``, runs ``queue_digests`` in a write unit of work as the
scheduler does, and looks at the outbox rows it queued and at the texts the sender will make of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from bot.outbox import render_text
from bot.platforms import Platform
from desk.deadlines import (
    LIST_LINES,
    DigestResult,
    OrgGroups,
    digest_key,
    digests_queued,
    escalation_key,
    queue_digests,
)
from desk.persian import format_jalali_date, format_number
from desk.tracking import format_tracking_code
from storage.models import OutboxMessage, ServiceRequest
from storage.repositories import Citizens, Requests, ServiceVersions
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]

TODAY = date(2026, 5, 2)  # a Saturday: 12 Ordibehesht 1405
FALAVARJAN = OrgGroups("falavarjan", {"telegram": -100_001, "bale": -5_001})
IMANSHAHR = OrgGroups("imanshahr", {"telegram": -100_005, "bale": -5_005})
GOVERNORATE = OrgGroups("governorate", {"telegram": -100_012, "bale": -5_012})
NAMES = {"falavarjan": "شهرداری فلاورجان", "imanshahr": "شهرداری ایمانشهر", "governorate": "فرمانداری"}
SNAPSHOT: dict[str, Any] = {
    "id": "renovation_fee",
    "title": {"fa": "پرداخت عوارض نوسازی", "en": "Renovation fee"},
}

_codes = itertools.count(100_000_000_001)


def org_name(org_id: str, lang: str) -> str:
    return NAMES.get(org_id, org_id)


async def file(
    factory: Factory,
    *,
    deadline: date | None,
    org: str = "falavarjan",
    status: str = "in_progress",
    title: str | None = None,
) -> str:
    """A request of ``org`` with ``deadline`` (None: none) in ``status``; its tracking code."""
    code = str(next(_codes))
    snapshot = dict(SNAPSHOT)
    if title is not None:
        snapshot["title"] = {"fa": title}
    async with unit_of_work(factory, write=True) as session:
        citizen = await Citizens(session).get_or_create("bale", 9001, chat_id=9001)
        assert citizen.id is not None
        await Requests(session).add(
            ServiceRequest(
                tracking_code=code,
                citizen_id=citizen.id,
                organization_id=org,
                service_id="renovation_fee",
                service_version="v1",
                definition=await ServiceVersions(session).get_or_create("renovation_fee", "v1", snapshot),
                status=status,
                deadline=deadline,
            )
        )
    return code


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


async def run(
    factory: Factory,
    *,
    today: date = TODAY,
    organizations: tuple[OrgGroups, ...] = (FALAVARJAN, IMANSHAHR),
    governorate: OrgGroups | None = GOVERNORATE,
    escalate_after_days: int = 3,
) -> DigestResult:
    return await queue_digests(
        lambda: unit_of_work(factory, write=True),
        today=today,
        organizations=organizations,
        governorate=governorate,
        escalate_after_days=escalate_after_days,
        names=NAMES,
    )


async def outbox(factory: Factory) -> list[OutboxMessage]:
    async with factory() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


def keyed(rows: list[OutboxMessage]) -> dict[str, OutboxMessage]:
    return {row.dedupe_key: row for row in rows}


def fa(code: str) -> str:
    return format_tracking_code(code, "fa")


# The organization's digest.


async def test_requests_due_today_and_overdue_go_to_each_group_of_the_organization(factory: Factory) -> None:
    due = await file(factory, deadline=TODAY)
    late = await file(factory, deadline=days_ago(2), status="needs_info")
    await file(factory, deadline=TODAY + timedelta(days=1))  # not yet due
    await file(factory, deadline=days_ago(5), status="completed")  # finished
    await file(factory, deadline=None)  # no deadline

    result = await run(factory, governorate=None)

    assert result.digests == ("falavarjan",)
    assert result.queued == 2
    rows = keyed(await outbox(factory))
    assert set(rows) == {digest_key("falavarjan", TODAY, p) for p in ("telegram", "bale")}
    telegram = rows["digest:falavarjan:2026-05-02:telegram"]
    assert (telegram.platform, telegram.chat_id, telegram.organization_id) == (
        "telegram",
        -100_001,
        "falavarjan",
    )
    assert rows["digest:falavarjan:2026-05-02:bale"].chat_id == -5_001
    payload = telegram.payload
    assert payload["key"] == "notify.digest.organization"
    assert payload["lang"] == "fa"
    assert payload["dates"] == {"date": "2026-05-02"}
    params = payload["params"]
    assert (params["org"], params["overdue"], params["due"]) == ("falavarjan", 1, 1)
    lines = params["items"].split("\n")
    assert len(lines) == 2
    assert fa(late) in lines[0]  # most overdue first
    assert format_jalali_date(days_ago(2), "fa") in lines[0]
    assert "۲ روز تأخیر" in lines[0]
    assert fa(due) in lines[1]
    assert "مهلت امروز" in lines[1]
    assert "پرداخت عوارض نوسازی" in lines[1]


async def test_nothing_due_queues_nothing(factory: Factory) -> None:
    await file(factory, deadline=TODAY + timedelta(days=3))
    await file(factory, deadline=days_ago(10), status="rejected")
    await file(factory, deadline=days_ago(10), status="draft")

    result = await run(factory)

    assert result == DigestResult()
    assert await outbox(factory) == []


async def test_no_digest_on_the_organizations_holiday_but_the_others_get_theirs(factory: Factory) -> None:
    await file(factory, deadline=days_ago(1), org="falavarjan")
    await file(factory, deadline=days_ago(1), org="imanshahr")
    on_holiday = OrgGroups("falavarjan", FALAVARJAN.groups, is_working_day=False)

    result = await run(factory, organizations=(on_holiday, IMANSHAHR), governorate=None)

    assert result.digests == ("imanshahr",)
    assert {row.organization_id for row in await outbox(factory)} == {"imanshahr"}


async def test_running_twice_on_one_day_sends_once_and_the_next_day_again(factory: Factory) -> None:
    await file(factory, deadline=days_ago(6))
    first = await run(factory)
    assert first.queued == 4  # two digest rows, two escalation rows
    async with factory() as session:
        assert await digests_queued(session, TODAY, (FALAVARJAN, IMANSHAHR), GOVERNORATE)
        assert not await digests_queued(
            session, TODAY + timedelta(days=1), (FALAVARJAN, IMANSHAHR), GOVERNORATE
        )
        assert not await digests_queued(session, TODAY, (IMANSHAHR,), None)

    second = await run(factory)

    assert (second.queued, second.already_queued) == (0, 4)
    assert second.digests == first.digests
    assert len(await outbox(factory)) == 4
    third = await run(factory, today=TODAY + timedelta(days=1))
    assert third.queued == 4
    assert len(await outbox(factory)) == 8


async def test_an_organization_without_a_group_is_reported_not_queued(factory: Factory) -> None:
    await file(factory, deadline=TODAY, org="imanshahr")

    result = await run(factory, organizations=(FALAVARJAN, OrgGroups("imanshahr")), governorate=None)

    assert result.unreachable == ("imanshahr",)
    assert result.digests == ()
    assert await outbox(factory) == []


async def test_a_long_list_is_cut_with_and_n_more(factory: Factory) -> None:
    for n in range(LIST_LINES + 5):
        await file(factory, deadline=days_ago(n % 3), title="درخواست " * 20)

    await run(factory, governorate=None)

    row = keyed(await outbox(factory))[digest_key("falavarjan", TODAY, "telegram")]
    params = row.payload["params"]
    assert params["overdue"] + params["due"] == LIST_LINES + 5
    lines = params["items"].split("\n")
    shown = [line for line in lines if "«" in line]
    assert len(shown) <= LIST_LINES
    assert lines[-1].endswith(f"و {format_number(LIST_LINES + 5 - len(shown), 'fa')} درخواست دیگر")
    assert all(len(line) < 150 for line in shown)  # long titles are cut
    for platform in Platform:
        text, _ = render_text(platform, row.payload, org_name)
        assert len(text) < 4096


# Escalation to the governorate.


async def test_requests_overdue_past_the_threshold_are_escalated_grouped_by_organization(
    factory: Factory,
) -> None:
    await file(factory, deadline=days_ago(3), org="falavarjan")  # exactly 3 days late: not escalated
    old = await file(factory, deadline=days_ago(4), org="falavarjan")
    older = await file(factory, deadline=days_ago(9), org="imanshahr")
    await file(factory, deadline=days_ago(20), org="imanshahr", status="withdrawn")

    result = await run(factory)

    assert result.escalated == ("falavarjan", "imanshahr")
    rows = keyed(await outbox(factory))
    row = rows[escalation_key(TODAY, "telegram")]
    assert (row.chat_id, row.organization_id) == (-100_012, "governorate")
    assert rows[escalation_key(TODAY, "bale")].chat_id == -5_012
    payload = row.payload
    assert payload["key"] == "notify.digest.escalation"
    params = payload["params"]
    assert (params["days"], params["count"], params["orgs"]) == (3, 2, 2)
    assert "org" not in params  # the names are written in the list
    blocks = params["items"].split("\n\n")
    assert blocks[0].startswith("🏛 شهرداری فلاورجان: ۱ درخواست")
    assert fa(old) in blocks[0]
    assert "۴ روز تأخیر" in blocks[0]
    assert blocks[1].startswith("🏛 شهرداری ایمانشهر: ۱ درخواست")
    assert fa(older) in blocks[1]
    # Both organizations still get their own digest, with the 3-day-late request too.
    assert rows[digest_key("falavarjan", TODAY, "bale")].payload["params"]["overdue"] == 2


@pytest.mark.parametrize("threshold", [0, 1, 5])
async def test_the_threshold_counts_calendar_days(factory: Factory, threshold: int) -> None:
    for late in range(7):
        await file(factory, deadline=days_ago(late))

    result = await run(factory, escalate_after_days=threshold)

    row = keyed(await outbox(factory))[escalation_key(TODAY, "telegram")]
    assert row.payload["params"]["count"] == 6 - threshold
    assert result.escalated == ("falavarjan",)


async def test_no_escalation_when_nothing_is_late_enough_or_on_the_governorates_holiday(
    factory: Factory,
) -> None:
    await file(factory, deadline=days_ago(2))
    assert (await run(factory)).escalated == ()
    await file(factory, deadline=days_ago(10), org="imanshahr")
    closed = OrgGroups("governorate", GOVERNORATE.groups, is_working_day=False)

    result = await run(factory, today=TODAY, governorate=closed)

    assert result.escalated == ()
    assert not [row for row in await outbox(factory) if row.dedupe_key.startswith("escalation:")]


async def test_an_organization_on_holiday_is_still_escalated(factory: Factory) -> None:
    await file(factory, deadline=days_ago(8))
    on_holiday = OrgGroups("falavarjan", FALAVARJAN.groups, is_working_day=False)

    result = await run(factory, organizations=(on_holiday,))

    assert (result.digests, result.escalated) == ((), ("falavarjan",))


async def test_a_negative_threshold_is_a_programming_error(factory: Factory) -> None:
    with pytest.raises(ValueError, match="escalate_after_days"):
        await run(factory, escalate_after_days=-1)


def test_groups_on_an_unknown_platform_are_refused() -> None:
    with pytest.raises(ValueError, match="whatsapp"):
        OrgGroups("falavarjan", {"whatsapp": 1})


# The texts as the sender makes them.


@pytest.mark.parametrize("platform", list(Platform))
async def test_every_digest_renders_in_persian_on_both_platforms(
    factory: Factory, platform: Platform
) -> None:
    await file(factory, deadline=TODAY, title="مجوز *حفر* _معبر_ <b>")
    await file(factory, deadline=days_ago(12), org="imanshahr")

    await run(factory)

    rows = await outbox(factory)
    assert len(rows) == 6
    for row in rows:
        if row.platform != platform.value:
            continue
        text, markup = render_text(platform, row.payload, org_name)
        assert markup is None
        assert "{" not in text
        assert "notify." not in text
        assert not re.search(r"[0-9]", text), text
        assert "۱۲ اردیبهشت ۱۴۰۵" in text
        if row.dedupe_key.startswith("digest:falavarjan"):
            assert "شهرداری فلاورجان" in text
            if platform is Platform.TELEGRAM:
                assert "&lt;b&gt;" in text  # a title is text, never markup
            else:
                assert "*حفر*" not in text  # nor Bale Markdown
        if row.dedupe_key.startswith("escalation:"):
            assert "شهرداری ایمانشهر" in text
            assert "۱۲ روز تأخیر" in text


async def test_each_organization_is_queued_in_its_own_transaction_and_the_loop_runs_between_them(
    factory: Factory,
) -> None:
    """On SQLite the database runs in the event loop: one transaction for the whole county would hold it."""
    await file(factory, deadline=days_ago(6), org="falavarjan")
    await file(factory, deadline=days_ago(6), org="imanshahr")
    seen: list[str] = []

    @contextlib.asynccontextmanager
    async def transaction() -> AsyncIterator[AsyncSession]:
        seen.append("begin")
        async with unit_of_work(factory, write=True) as session:
            yield session
        seen.append("commit")

    async def others() -> None:
        while True:
            if seen and seen[-1] != "loop":
                seen.append("loop")
            await asyncio.sleep(0)

    probe = asyncio.create_task(others())
    await asyncio.sleep(0)
    try:
        result = await queue_digests(
            transaction,
            today=TODAY,
            organizations=(FALAVARJAN, IMANSHAHR),
            governorate=GOVERNORATE,
            names=NAMES,
        )
    finally:
        probe.cancel()

    assert result.digests == ("falavarjan", "imanshahr")
    assert result.escalated == ("falavarjan", "imanshahr")
    steps = [step for step in seen if step != "loop"]
    assert steps == ["begin", "commit"] * 3, "each organization's digest, then the escalation"
    assert "commit,loop,begin" in ",".join(seen).replace("loop,loop", "loop"), (
        "others are answered between them"
    )
