"""The access rules of ``desk`` themselves, on SQLite and PostgreSQL: whatever path a handler takes, the use case
refuses a request the actor's organization does not handle, and an anonymous complaint never belongs to the
organization it accuses."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from desk import handling
from desk.access import Access, rehome_anonymous_complaints
from desk.bridge import clerk_message
from desk.calendar import WorkCalendar
from desk.deadlines import OrgGroups, queue_digests
from desk.errors import NotFound, ValidationError
from desk.handling import ActorRef
from desk.lifecycle import Actor, Status
from desk.persian import to_persian_digits
from desk.requests import Submission, submit_request
from desk.tracking import damm_check_digit, is_well_formed
from storage.models import OutboxMessage, ServiceRequest
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]

ACCUSED = "falavarjan"
GOVERNORATE = "governorate"
FALAVARJAN_CLERK = ActorRef(Actor.CLERK, "telegram", 501, "رضا", organization_id=ACCUSED)
BAHARAN_CLERK = ActorRef(Actor.CLERK, "telegram", 601, "علی", organization_id="baharan")
INSPECTOR = ActorRef(Actor.SUPERVISOR, "telegram", 901, "ناظر", organization_id=GOVERNORATE, oversight=True)
COMPLAINT: dict[str, Any] = {
    "id": "complaint",
    "title": {"fa": "ثبت شکایت"},
    "duration_days": 10,
    "form": [{"id": "anonymous", "type": "yes_no"}],
    "documents": [],
}
ORDINARY: dict[str, Any] = {"id": "renovation_fee", "title": {"fa": "عوارض"}, "duration_days": 3, "form": []}
TODAY = date(2026, 4, 1)

_keys = iter(range(1, 1_000_000))


async def file(
    factory: Factory,
    snapshot: dict[str, Any],
    answers: dict[str, Any],
    *,
    governorate: str | None = GOVERNORATE,
) -> int:
    async with unit_of_work(factory, write=True) as session:
        result = await submit_request(
            session,
            Submission(
                platform="telegram",
                user_id=1001,
                chat_id=1001,
                first_name="مریم",
                last_name=None,
                username=None,
                organization_id=ACCUSED,
                service_id=snapshot["id"],
                service_version="v1",
                service_snapshot=snapshot,
                answers=answers,
                documents=[],
                idempotency_key=f"access-{next(_keys)}",
                calendar=WorkCalendar(),
                today=TODAY,
                governorate_id=governorate,
            ),
        )
    return result.request_id


async def request_of(factory: Factory, request_id: int) -> ServiceRequest:
    async with factory() as session:
        found = await session.get(ServiceRequest, request_id)
    assert found is not None
    return found


async def outbox_count(factory: Factory) -> int:
    async with factory() as session:
        return int((await session.scalar(select(func.count()).select_from(OutboxMessage))) or 0)


async def test_an_anonymous_complaint_is_handled_by_the_governorate_and_remembers_whom_it_accuses(
    factory: Factory,
) -> None:
    anonymous = await request_of(factory, await file(factory, COMPLAINT, {"anonymous": True}))
    named = await request_of(factory, await file(factory, COMPLAINT, {"anonymous": False}))
    assert (anonymous.organization_id, anonymous.about_organization_id) == (GOVERNORATE, ACCUSED)
    assert (named.organization_id, named.about_organization_id) == (ACCUSED, ACCUSED)


async def test_an_anonymous_complaint_with_no_governorate_to_take_it_is_refused_not_sent_to_the_accused(
    factory: Factory,
) -> None:
    with pytest.raises(ValidationError) as refused:
        await file(factory, COMPLAINT, {"anonymous": True}, governorate=None)
    assert refused.value.key == "desk.complaint.no_governorate"
    async with factory() as session:
        assert not (await session.scalars(select(ServiceRequest))).all()


async def test_the_accused_organizations_digest_neither_lists_nor_counts_an_anonymous_complaint(
    factory: Factory,
) -> None:
    await file(factory, COMPLAINT, {"anonymous": True})
    later = TODAY + timedelta(days=30)  # long overdue
    result = await queue_digests(
        lambda: unit_of_work(factory, write=True),
        today=later,
        organizations=[
            OrgGroups(ACCUSED, {"telegram": -100}),
            OrgGroups(GOVERNORATE, {"telegram": -200}),
        ],
        governorate=OrgGroups(GOVERNORATE, {"telegram": -200}),
    )
    assert ACCUSED not in result.digests
    assert ACCUSED not in result.escalated
    async with factory() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
    assert not [row for row in rows if row.chat_id == -100], "nothing about it reaches the accused group"


@pytest.mark.parametrize("intruder", [BAHARAN_CLERK, INSPECTOR], ids=["another organization", "governorate"])
async def test_a_clerk_cannot_act_on_note_or_message_a_request_their_organization_does_not_handle(
    factory: Factory, intruder: ActorRef
) -> None:
    request_id = await file(factory, ORDINARY, {})
    queued = await outbox_count(factory)
    groups = {"telegram": -1}
    attempts = [
        lambda s: handling.claim(s, request_id, intruder, seen_status=Status.SUBMITTED, groups=groups),
        lambda s: handling.reject(s, request_id, intruder, "نه", seen_status=Status.SUBMITTED, groups=groups),
        lambda s: handling.add_note(s, request_id, intruder, "یادداشت", groups=groups),
        lambda s: clerk_message(s, request_id, intruder, text="سلام از سازمان دیگر"),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            async with unit_of_work(factory, write=True) as session:
                await attempt(session)
    assert (await request_of(factory, request_id)).status == Status.SUBMITTED.value
    assert await outbox_count(factory) == queued, "nothing was queued for anyone"


async def test_a_card_is_shown_to_its_handler_read_only_to_the_governorate_and_to_nobody_else(
    factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    request_id = await file(factory, ORDINARY, {})
    queued = await outbox_count(factory)

    async def show(actor: ActorRef) -> Access:
        async with unit_of_work(factory, write=True) as session:
            return await handling.show_card(session, request_id, actor, platform="telegram", chat_id=-7)

    with pytest.raises(NotFound):
        await show(BAHARAN_CLERK)
    assert await outbox_count(factory) == queued
    assert await show(FALAVARJAN_CLERK) is Access.ACT
    with caplog.at_level(logging.INFO, logger="miz.audit"):
        assert await show(INSPECTOR) is Access.READ
    assert [r for r in caplog.records if r.name == "miz.audit" and "telegram:901" in r.getMessage()]
    async with factory() as session:
        assert (
            await handling.find_by_code(
                session, BAHARAN_CLERK, (await request_of(factory, request_id)).tracking_code
            )
            is None
        )


async def test_anonymous_complaints_filed_under_the_accused_before_are_moved_to_the_governorate(
    factory: Factory,
) -> None:
    request_id = await file(factory, COMPLAINT, {"anonymous": False})
    async with unit_of_work(factory, write=True) as session:  # as the old code stored an anonymous one
        stored = await session.get(ServiceRequest, request_id)
        assert stored is not None
        stored.answers = {"anonymous": True}
        stored.about_organization_id = None
        session.add(stored)
    named = await file(factory, COMPLAINT, {"anonymous": False})
    async with unit_of_work(factory, write=True) as session:
        assert await rehome_anonymous_complaints(session, GOVERNORATE) == 1
    async with unit_of_work(factory, write=True) as session:
        assert await rehome_anonymous_complaints(session, GOVERNORATE) == 0, "idempotent"
    moved = await request_of(factory, request_id)
    assert (moved.organization_id, moved.about_organization_id) == (GOVERNORATE, ACCUSED)
    assert (await request_of(factory, named)).organization_id == ACCUSED
    async with factory() as session:
        handled = (
            await session.scalars(
                select(ServiceRequest).where(col(ServiceRequest.organization_id) == ACCUSED)
            )
        ).all()
    assert [r.id for r in handled] == [named]


def test_a_clerk_without_an_organization_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="organization_id"):
        ActorRef(Actor.CLERK, "telegram", 5, None)


def _reversible_code() -> tuple[str, str]:
    """A tracking code whose groups in reverse order make another valid code: (as filed, reversed)."""
    for n in range(10_000_000_000, 10_000_100_000):
        code = str(n) + damm_check_digit(str(n))
        flipped = code[8:] + code[4:8] + code[:4]
        if flipped != code and flipped[0] != "0" and is_well_formed(flipped):
            return code, flipped
    raise AssertionError("no reversible code")


async def _filed_with(factory: Factory, code: str, organization_id: str) -> int:
    request_id = await file(factory, ORDINARY, {})
    async with unit_of_work(factory, write=True) as session:
        stored = await session.get(ServiceRequest, request_id)
        assert stored is not None
        stored.tracking_code, stored.organization_id = code, organization_id
        session.add(stored)
    return request_id


async def test_a_clerks_code_typed_in_reversed_groups_finds_only_their_own_organizations_request(
    factory: Factory,
) -> None:
    """``/find``, ``/transfer`` and ``/open`` read a code pasted with its groups reversed as citizens' tracking
    does: the reading naming the clerk's own organization's request wins, and another organization's request is
    never found by either reading."""
    code, flipped = _reversible_code()
    ours = await _filed_with(factory, code, ACCUSED)
    # The right-to-left paste of Falavarjan's code: as typed, it reads Baharan's request's code.
    pasted = "-".join(reversed([to_persian_digits(code[i : i + 4]) for i in range(0, 12, 4)]))
    ghahderijan_clerk = ActorRef(Actor.CLERK, "telegram", 701, "مینا", organization_id="ghahderijan")

    async def found_by(actor: ActorRef) -> int | None:
        async with factory() as session:
            request = await handling.find_by_code(session, actor, pasted)
        return request.id if request is not None else None

    async def opened_by(organization_id: str) -> int | None:
        async with factory() as session:
            request = await handling.find_handled_by_code(session, organization_id, pasted)
        return request.id if request is not None else None

    assert await found_by(FALAVARJAN_CLERK) == ours
    assert await opened_by(ACCUSED) == ours
    assert await found_by(BAHARAN_CLERK) is None
    assert await opened_by("baharan") is None

    theirs = await _filed_with(factory, flipped, "baharan")
    assert await found_by(FALAVARJAN_CLERK) == ours, "the asker's own reading wins over the code as typed"
    assert await found_by(BAHARAN_CLERK) == theirs
    assert await opened_by("baharan") == theirs
    assert await found_by(ghahderijan_clerk) is None, "a foreign code finds nothing"
    assert await opened_by("ghahderijan") is None
    async with factory() as session:
        with pytest.raises(ValidationError):
            await handling.find_by_code(session, FALAVARJAN_CLERK, code[:-1] + str((int(code[-1]) + 1) % 10))
