"""Transferring a request to the right organization (desk.transfers), on SQLite and PostgreSQL: who may, where to,
what the citizen and the groups hear, and the new deadline in the new organization's calendar."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from desk import handling
from desk.calendar import WEEKDAYS, WorkCalendar
from desk.errors import NotFound, TransitionError, ValidationError
from desk.handling import ActorRef
from desk.lifecycle import Actor, Status
from desk.requests import Submission, submit_request, track
from desk.transfers import Destination, destinations_for, transfer
from storage.models import OutboxMessage, ServiceRequest
from storage.repositories import Citizens, Events
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]

FALAVARJAN_CLERK = ActorRef(Actor.CLERK, "telegram", 501, "رضا", organization_id="falavarjan")
GHAHDERIJAN_CLERK = ActorRef(Actor.CLERK, "telegram", 601, "علی", organization_id="ghahderijan")
INSPECTOR = ActorRef(Actor.SUPERVISOR, "telegram", 901, "ناظر", organization_id="governorate", oversight=True)
ORDINARY: dict[str, Any] = {
    "id": "renovation_fee",
    "title": {"fa": "عوارض نوسازی"},
    "duration_days": 3,
    "form": [],
}
COMPLAINT: dict[str, Any] = {
    "id": "complaint",
    "title": {"fa": "ثبت شکایت"},
    "duration_days": 10,
    "form": [{"id": "anonymous", "type": "yes_no"}],
}
WEDNESDAY = date(2026, 4, 1)
GROUPS = {
    "falavarjan": {"telegram": -1001, "bale": -5001},
    "ghahderijan": {"telegram": -1002, "bale": -5002},
    "governorate": {"telegram": -1012},
}
_keys = iter(range(1, 1_000_000))


class Directory:
    """The catalog as a transfer sees it: Ghahderijan closes on Thursdays too, and takes 5 days, not 3."""

    def __init__(self, offered_by: tuple[str, ...] = ("falavarjan", "ghahderijan", "baharan")) -> None:
        self.offered_by = offered_by

    def destinations(self, service_id: str) -> Mapping[str, Destination]:
        thursday_friday = WorkCalendar(frozenset({WEEKDAYS["thursday"], WEEKDAYS["friday"]}))
        every = {
            "falavarjan": Destination("falavarjan", 3, WorkCalendar()),
            "ghahderijan": Destination("ghahderijan", 5, thursday_friday),
            "baharan": Destination("baharan", 3, WorkCalendar()),
            "governorate": Destination("governorate", 10, WorkCalendar()),
        }
        return {org: every[org] for org in self.offered_by}

    def groups(self, organization_id: str) -> Mapping[str, int]:
        return GROUPS.get(organization_id, {})


async def file(
    factory: Factory,
    snapshot: dict[str, Any] = ORDINARY,
    answers: dict[str, Any] | None = None,
    *,
    phone: bool = False,
) -> int:
    async with unit_of_work(factory, write=True) as session:
        result = await submit_request(
            session,
            Submission(
                platform="telegram",
                user_id=1001,
                chat_id=1011,
                first_name="زهرا",
                last_name=None,
                username=None,
                organization_id="falavarjan",
                service_id=snapshot["id"],
                service_version="v1",
                service_snapshot=snapshot,
                answers=answers or {},
                documents=[],
                idempotency_key=f"transfer-{next(_keys)}",
                calendar=WorkCalendar(),
                today=WEDNESDAY,
                governorate_id="governorate",
            ),
        )
        if phone:
            citizen = await Citizens(session).find("telegram", 1001)
            assert citizen is not None
            citizen.phone, citizen.phone_verified, citizen.sms_enabled = "09123456789", True, True
            session.add(citizen)
    return result.request_id


async def move(
    factory: Factory,
    request_id: int,
    to: str = "ghahderijan",
    *,
    actor: ActorRef = FALAVARJAN_CLERK,
    seen: Status = Status.SUBMITTED,
    reason: str = "ملک در محدودهٔ قهدریجان است",
    directory: Directory | None = None,
) -> Any:
    async with unit_of_work(factory, write=True) as session:
        return await transfer(
            session,
            request_id,
            actor,
            to,
            reason,
            seen_status=seen,
            directory=directory or Directory(),
            today=WEDNESDAY,
        )


async def stored(factory: Factory, request_id: int) -> ServiceRequest:
    async with factory() as session:
        found = await session.get(ServiceRequest, request_id)
    assert found is not None
    return found


async def outbox(factory: Factory) -> list[OutboxMessage]:
    async with factory() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def test_a_transfer_keeps_the_code_and_hands_the_request_over_with_a_new_deadline(
    factory: Factory,
) -> None:
    request_id = await file(factory, phone=True)
    before = await stored(factory, request_id)
    async with unit_of_work(factory, write=True) as session:
        await handling.claim(
            session, request_id, FALAVARJAN_CLERK, seen_status=Status.SUBMITTED, groups=GROUPS["falavarjan"]
        )
    done = await move(factory, request_id, seen=Status.IN_PROGRESS)

    after = await stored(factory, request_id)
    assert after.tracking_code == before.tracking_code == done.tracking_code
    assert (after.organization_id, after.about_organization_id) == ("ghahderijan", "ghahderijan")
    assert after.status == Status.SUBMITTED, "the new organization takes it up as a new arrival"
    assert (after.assignee_platform, after.assignee_user_id) == (None, None)
    # Five working days of Ghahderijan (Thursday and Friday closed) from Wednesday 1 April: Sat, Sun, Mon, Tue, Wed.
    assert after.deadline == done.deadline == date(2026, 4, 8)

    rows = await outbox(factory)
    citizen = [r for r in rows if r.dedupe_key == f"event:{done.event_id}:citizen"]
    assert len(citizen) == 1
    assert citizen[0].chat_id == 1011
    assert citizen[0].payload["key"] == "notify.citizen.transferred"
    assert citizen[0].payload["params"]["org"] == "ghahderijan"
    assert citizen[0].payload["params"]["text"] == "ملک در محدودهٔ قهدریجان است"
    assert citizen[0].payload["dates"]["deadline"] == "2026-04-08"
    sms = [r for r in rows if r.dedupe_key == f"event:{done.event_id}:sms"]
    assert [r.payload["key"] for r in sms] == ["sms.transferred"]
    cards = {
        (r.chat_id, r.dedupe_key.split(":")[2])
        for r in rows
        if r.dedupe_key.startswith(f"event:{done.event_id}:")
    }
    assert {(-1001, "moved"), (-5001, "moved"), (-1002, "card"), (-5002, "card")} <= cards


async def test_the_public_history_says_where_it_went_and_why(factory: Factory) -> None:
    request_id = await file(factory)
    await move(factory, request_id)
    async with factory() as session:
        events = list(await Events(session).history(request_id, public_only=True))
        code = (await stored(factory, request_id)).tracking_code
        view = await track(session, code, platform="telegram", user_id=1001)
    moved = events[-1]
    assert (moved.from_organization_id, moved.to_organization_id) == ("falavarjan", "ghahderijan")
    assert moved.public
    assert moved.actor_id == "telegram:501"
    assert view.organization_id == "ghahderijan"
    assert view.history[-1].transferred_to == "ghahderijan"
    assert view.history[-1].text == "ملک در محدودهٔ قهدریجان است"


async def test_the_old_organization_can_no_longer_act_and_the_new_one_can(factory: Factory) -> None:
    request_id = await file(factory)
    await move(factory, request_id)
    async with unit_of_work(factory, write=True) as session:
        with pytest.raises(NotFound):
            await handling.claim(
                session,
                request_id,
                FALAVARJAN_CLERK,
                seen_status=Status.SUBMITTED,
                groups=GROUPS["falavarjan"],
            )
    async with unit_of_work(factory, write=True) as session:
        change = await handling.claim(
            session, request_id, GHAHDERIJAN_CLERK, seen_status=Status.SUBMITTED, groups=GROUPS["ghahderijan"]
        )
    assert change.to_status is Status.IN_PROGRESS


async def test_a_second_tap_of_the_same_transfer_is_refused_and_writes_nothing(factory: Factory) -> None:
    request_id = await file(factory)
    await move(factory, request_id)
    queued = len(await outbox(factory))
    with pytest.raises(NotFound):
        await move(factory, request_id)
    assert len(await outbox(factory)) == queued


@pytest.mark.parametrize(
    ("to", "key"),
    [
        ("falavarjan", "desk.transfer.same"),
        ("zazeran", "desk.transfer.not_offered"),
        ("nowhere", "desk.transfer.not_offered"),
    ],
)
async def test_a_transfer_goes_only_where_the_service_is_offered(factory: Factory, to: str, key: str) -> None:
    request_id = await file(factory)
    with pytest.raises(ValidationError) as raised:
        await move(factory, request_id, to)
    assert raised.value.key == key
    assert (await stored(factory, request_id)).organization_id == "falavarjan"


async def test_a_transfer_needs_a_reason(factory: Factory) -> None:
    request_id = await file(factory)
    with pytest.raises(ValidationError, match=r"desk.text.empty"):
        await move(factory, request_id, reason="  ")


async def test_another_organizations_clerk_cannot_transfer_a_request(factory: Factory) -> None:
    request_id = await file(factory)
    with pytest.raises(NotFound):
        await move(factory, request_id, actor=GHAHDERIJAN_CLERK)
    async with factory() as session:
        with pytest.raises(NotFound):
            await destinations_for(session, request_id, GHAHDERIJAN_CLERK, Directory())
    assert (await stored(factory, request_id)).organization_id == "falavarjan"


async def test_the_governorate_may_send_any_request_where_it_belongs(factory: Factory) -> None:
    request_id = await file(factory)
    await move(factory, request_id, "baharan", actor=INSPECTOR)
    assert (await stored(factory, request_id)).organization_id == "baharan"


@pytest.mark.parametrize("status", [Status.NEEDS_INFO, Status.WAITING_EXTERNAL, Status.COMPLETED])
async def test_a_request_waiting_on_someone_or_finished_is_not_transferred(
    factory: Factory, status: Status
) -> None:
    request_id = await file(factory)
    async with unit_of_work(factory, write=True) as session:
        request = await session.get(ServiceRequest, request_id)
        assert request is not None
        request.status = status.value
        session.add(request)
    with pytest.raises(TransitionError, match=r"desk.transfer.status"):
        await move(factory, request_id, seen=status)


async def test_an_old_card_is_refused(factory: Factory) -> None:
    request_id = await file(factory)
    with pytest.raises(TransitionError, match=r"desk.handling.changed"):
        await move(factory, request_id, seen=Status.IN_PROGRESS)


async def test_an_anonymous_complaint_never_reaches_the_organization_it_accuses(factory: Factory) -> None:
    request_id = await file(factory, COMPLAINT, {"anonymous": True})
    directory = Directory(("falavarjan", "ghahderijan", "governorate"))
    async with factory() as session:
        offered = await destinations_for(session, request_id, INSPECTOR, directory)
    assert offered == ["ghahderijan"], "neither its handler (the governorate) nor the accused Falavarjan"
    with pytest.raises(ValidationError, match=r"desk.transfer.accused"):
        await move(factory, request_id, "falavarjan", actor=INSPECTOR, directory=directory)

    # Sent on to Ghahderijan, it still cannot be sent back from there to the accused.
    await move(factory, request_id, "ghahderijan", actor=INSPECTOR, directory=directory)
    complaint = await stored(factory, request_id)
    assert (complaint.organization_id, complaint.about_organization_id) == ("ghahderijan", "falavarjan")
    with pytest.raises(ValidationError, match=r"desk.transfer.accused"):
        await move(factory, request_id, "falavarjan", actor=GHAHDERIJAN_CLERK, directory=directory)


async def test_a_request_no_one_else_offers_has_nowhere_to_go(factory: Factory) -> None:
    request_id = await file(factory)
    async with factory() as session:
        with pytest.raises(ValidationError, match=r"desk.transfer.nowhere"):
            await destinations_for(session, request_id, FALAVARJAN_CLERK, Directory(("falavarjan",)))
