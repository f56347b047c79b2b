"""A request filed under the wrong service moves with a chosen service (desk.transfers, ``service_id``): it keeps
its code, answers and documents, is handled under the new service's definition with the new service's deadline,
and the required questions its answers leave open are known; same access rules as any transfer."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pytest

from desk.calendar import WEEKDAYS, WorkCalendar
from desk.errors import NotFound, ValidationError
from desk.handling import ActorRef
from desk.i18n import translator
from desk.lifecycle import Status
from desk.requests import HistoryEntry, missing_answers, track
from desk.transfers import Destination, destinations_for, transfer
from storage.repositories import Events, Requests, ServiceVersions
from storage.uow import unit_of_work
from tests.desk.test_transfers import (
    COMPLAINT,
    FALAVARJAN_CLERK,
    GHAHDERIJAN_CLERK,
    GROUPS,
    INSPECTOR,
    WEDNESDAY,
    Factory,
    file,
    outbox,
    stored,
)

NAMED_COMPLAINT: dict[str, Any] = {
    **COMPLAINT,
    "form": [
        {"id": "anonymous", "type": "yes_no"},
        {"id": "national_id", "type": "national_id", "label": {"fa": "کد ملی"}},
        {"id": "text", "type": "text", "label": {"fa": "شرح"}},
    ],
}
PERMIT: dict[str, Any] = {
    "id": "building_permit",
    "title": {"fa": "پروانهٔ ساختمانی"},
    "duration_days": 7,
    "form": [
        {"id": "national_id", "type": "national_id", "label": {"fa": "کد ملی"}},
        {"id": "parcel", "type": "text", "label": {"fa": "پلاک ثبتی"}},
        {"id": "floors", "type": "number", "label": {"fa": "تعداد طبقات"}, "required": False},
    ],
}
ANSWERS = {"anonymous": False, "national_id": "0012345679", "text": "پروانه می‌خواهم"}


class ServiceDirectory:
    """Permits are offered by Falavarjan (7 days) and Ghahderijan (10 days, closed Thursdays and Fridays)."""

    def destinations(self, service_id: str) -> Mapping[str, Destination]:
        thursday_friday = WorkCalendar(frozenset({WEEKDAYS["thursday"], WEEKDAYS["friday"]}))
        if service_id == "building_permit":
            return {
                "falavarjan": Destination("falavarjan", 7, WorkCalendar(), "v2", PERMIT),
                "ghahderijan": Destination("ghahderijan", 10, thursday_friday, "v3", PERMIT),
            }
        if service_id == "complaint":
            return {org: Destination(org, 10, WorkCalendar(), "v1", COMPLAINT) for org in GROUPS}
        return {}

    def groups(self, organization_id: str) -> Mapping[str, int]:
        return GROUPS.get(organization_id, {})


async def move(factory: Factory, request_id: int, to: str, *, actor: ActorRef = FALAVARJAN_CLERK) -> Any:
    async with unit_of_work(factory, write=True) as session:
        return await transfer(
            session,
            request_id,
            actor,
            to,
            "درخواست پروانه است، نه شکایت",
            seen_status=Status.SUBMITTED,
            directory=ServiceDirectory(),
            today=WEDNESDAY,
            service_id="building_permit",
        )


async def test_the_request_keeps_its_code_and_answers_under_the_new_service_with_its_deadline(
    factory: Factory,
) -> None:
    request_id = await file(factory, NAMED_COMPLAINT, ANSWERS)
    before = await stored(factory, request_id)
    done = await move(factory, request_id, "ghahderijan")

    after = await stored(factory, request_id)
    assert after.tracking_code == before.tracking_code
    assert after.answers == ANSWERS, "the answers stay as filed"
    assert (after.service_id, after.service_version) == ("building_permit", "v3")
    assert (done.from_service_id, done.to_service_id) == ("complaint", "building_permit")
    assert (after.organization_id, after.about_organization_id) == ("ghahderijan", "ghahderijan")
    # Ten working days of Ghahderijan (closed Thursdays and Fridays) from Wednesday 1 April 2026.
    assert after.deadline == done.deadline == date(2026, 4, 15)
    async with factory() as session:
        request = await Requests(session).get(request_id)
        assert request is not None
        assert request.service_snapshot["title"] == {"fa": "پروانهٔ ساختمانی"}
        assert missing_answers(request.service_snapshot, request.answers) == ["parcel"]
        moved = list(await Events(session).history(request_id, public_only=True))[-1]
        assert moved.from_service_version_id is not None
        assert moved.to_service_version_id is not None
        old = await ServiceVersions(session).get(moved.from_service_version_id)
        new = await ServiceVersions(session).get(moved.to_service_version_id)
    assert old is not None
    assert new is not None
    assert (old.service_id, new.service_id) == ("complaint", "building_permit")
    assert new.id == after.service_version_id
    told = [r for r in await outbox(factory) if r.dedupe_key == f"event:{done.event_id}:citizen"]
    assert [r.payload["key"] for r in told] == ["notify.citizen.transferred_service"]
    assert (told[0].payload["params"]["old"], told[0].payload["params"]["title"]) == (
        "ثبت شکایت",
        "پروانهٔ ساختمانی",
    )


async def test_the_same_organization_may_take_it_under_another_service(factory: Factory) -> None:
    request_id = await file(factory, NAMED_COMPLAINT, ANSWERS)
    async with factory() as session:
        offered = await destinations_for(
            session, request_id, FALAVARJAN_CLERK, ServiceDirectory(), "building_permit"
        )
    assert offered == ["falavarjan", "ghahderijan"]
    done = await move(factory, request_id, "falavarjan")
    after = await stored(factory, request_id)
    # The permit's seven working days at Falavarjan (Fridays closed), not the complaint's ten.
    assert (after.organization_id, after.service_id, after.deadline) == (
        "falavarjan",
        "building_permit",
        date(2026, 4, 9),
    )
    cards = {
        r.dedupe_key for r in await outbox(factory) if r.dedupe_key.startswith(f"event:{done.event_id}:")
    }
    assert f"event:{done.event_id}:card:telegram" in cards
    assert not any(":moved:" in key for key in cards), "its own group keeps the card, redrawn"


async def tracked_step(factory: Factory, request_id: int, lang: str) -> str:
    """The last step of the request's public history as its citizen reads it (the bot and the web page alike)."""
    async with factory() as session:
        code = (await stored(factory, request_id)).tracking_code
        view = await track(session, code, platform="telegram", user_id=1001)
    step: HistoryEntry = view.history[-1]
    assert step.transfer_key is not None
    org = {"falavarjan": "Falavarjan", "ghahderijan": "Ghahderijan"}[step.transferred_to or ""]
    return translator(lang)(
        step.transfer_key, org=org, service=step.service.text(lang) if step.service else ""
    )


async def test_tracking_history_names_the_new_service_of_a_transfer(factory: Factory) -> None:
    request_id = await file(factory, NAMED_COMPLAINT, ANSWERS)
    await move(factory, request_id, "ghahderijan")
    assert (
        await tracked_step(factory, request_id, "fa") == "↪️ منتقل‌شده به Ghahderijan، خدمت: «پروانهٔ ساختمانی»"
    )
    # No English title in this definition: the Persian one is what there is.
    assert (
        await tracked_step(factory, request_id, "en")
        == "↪️ transferred to Ghahderijan, service: “پروانهٔ ساختمانی”"
    )


async def test_tracking_history_names_the_new_service_within_the_same_organization(factory: Factory) -> None:
    request_id = await file(factory, NAMED_COMPLAINT, ANSWERS)
    await move(factory, request_id, "falavarjan")
    assert await tracked_step(factory, request_id, "fa") == "🔀 از این پس رسیدگی با خدمت «پروانهٔ ساختمانی»"
    assert await tracked_step(factory, request_id, "en") == "🔀 handled as “پروانهٔ ساختمانی” from now on"


async def test_a_service_the_target_does_not_offer_is_refused(factory: Factory) -> None:
    request_id = await file(factory, NAMED_COMPLAINT, ANSWERS)
    with pytest.raises(ValidationError, match=r"desk.transfer.not_offered"):
        await move(factory, request_id, "baharan")
    assert (await stored(factory, request_id)).service_id == "complaint"


async def test_an_anonymous_complaint_keeps_its_service(factory: Factory) -> None:
    request_id = await file(factory, COMPLAINT, {"anonymous": True})
    with pytest.raises(ValidationError, match=r"desk.transfer.anonymous_service"):
        await move(factory, request_id, "ghahderijan", actor=INSPECTOR)


async def test_only_its_handlers_and_the_governorate_may_change_its_service(factory: Factory) -> None:
    request_id = await file(factory, NAMED_COMPLAINT, ANSWERS)
    with pytest.raises(NotFound):
        await move(factory, request_id, "ghahderijan", actor=GHAHDERIJAN_CLERK)
    await move(factory, request_id, "ghahderijan", actor=INSPECTOR)
    assert (await stored(factory, request_id)).service_id == "building_permit"


def test_missing_answers_are_the_required_questions_left_open() -> None:
    assert missing_answers(PERMIT, {"national_id": "0012345679", "parcel": "  "}) == ["parcel"]
    assert missing_answers(PERMIT, {"national_id": "0012345679", "parcel": "۱۲/۳۴"}) == []
