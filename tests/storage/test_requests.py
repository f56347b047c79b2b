"""Requests, citizens, events and group messages as the bot and the clerks will use them."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.errors import TrackingCodeTakenError
from storage.models import Citizen, Document, RequestEvent, ServiceRequest, ServiceVersion
from storage.repositories import Citizens, Events, GroupMessages, Requests, ServiceVersions
from storage.uow import unit_of_work

SNAPSHOT = {
    "id": "renovation_fee",
    "version": "1405.1",
    "title": {"fa": "پرداخت عوارض نوسازی", "en": "Renovation fee"},
    "documents": [
        {"id": "deed", "title": {"fa": "سند مالکیت (تک‌برگ)"}, "kinds": ["photo", "pdf"]},
    ],
    "steps": ["ثبت درخواست", "بررسی کارشناس", "صدور قبض"],
    "duration_days": 7,
    "fee": {"kind": "formula", "expression": "0.005 * P * area"},
}


async def _count(session: AsyncSession, model: type) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_get_or_create_makes_one_citizen_per_platform_account(
    factory: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(factory) as session:
        first = await Citizens(session).get_or_create("telegram", 42, chat_id=42, first_name="علی")
    async with unit_of_work(factory) as session:
        again = await Citizens(session).get_or_create("telegram", 42, chat_id=42, first_name="علی‌رضا")
        on_bale = await Citizens(session).get_or_create("bale", 42, chat_id=42)
    assert again.id == first.id
    assert again.first_name == "علی‌رضا"  # the messenger's profile wins
    assert on_bale.id != first.id  # the same number on another platform is another person
    async with factory() as session:
        assert await _count(session, Citizen) == 2


async def test_two_first_messages_at_once_make_one_citizen(factory: async_sessionmaker[AsyncSession]) -> None:
    async def first_contact() -> int | None:
        async with unit_of_work(factory, write=True) as session:
            citizen = await Citizens(session).get_or_create("bale", 5, chat_id=5)
            return citizen.id

    ids = await asyncio.gather(first_contact(), first_contact(), first_contact())
    assert len(set(ids)) == 1


async def test_phone_locale_and_sms_choice_are_kept(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen
) -> None:
    async with unit_of_work(factory) as session:
        stored = await Citizens(session).get(citizen.id or 0)
        assert stored is not None
        await Citizens(session).set_phone(stored, "09131234567", verified=True)
        await Citizens(session).set_locale(stored, "en")
        await Citizens(session).set_sms_enabled(stored, True)
    async with factory() as session:
        found = await Citizens(session).find("bale", citizen.user_id)
        assert found is not None
        assert (found.phone, found.phone_verified, found.locale, found.sms_enabled) == (
            "09131234567",
            True,
            "en",
            True,
        )
        with pytest.raises(ValueError, match="not normalized"):
            await Citizens(session).set_phone(found, "+989131234567", verified=True)


async def stored_definition(session: AsyncSession) -> ServiceVersion:
    """``SNAPSHOT`` as a stored service definition, the one row every request filed under it shares."""
    return await ServiceVersions(session).get_or_create("renovation_fee", "1405.1", SNAPSHOT)


async def test_a_request_is_filed_with_its_events_and_documents(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    async with unit_of_work(factory) as session:
        request, created = await Requests(session).add(
            make_request(citizen.id, tracking_code="405123457", definition=await stored_definition(session)),
            events=[RequestEvent(actor_kind="citizen", actor_id="bale:7000000123", to_status="submitted")],
            documents=[
                Document(
                    slot="deed",
                    platform="bale",
                    platform_file_id="AgAD-file",
                    file_unique_id="uniq-1",
                    stored_path="ab/cd/abcd.jpg",
                    sha256="ab" * 32,
                    size=1234,
                    mime="image/jpeg",
                    kind="photo",
                )
            ],
        )
    assert created
    async with factory() as session:
        found = await Requests(session).by_tracking_code("405123457")
        assert found is not None
        assert found.id == request.id
        assert [d.slot for d in await Requests(session).documents(found.id or 0)] == ["deed"]
        history = await Events(session).history(found.id or 0)
        assert [(e.actor_kind, e.to_status) for e in history] == [("citizen", "submitted")]


async def test_the_snapshot_and_answers_round_trip_with_persian_text(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    answers = {
        "address": "فلاورجان، خیابان امام خمینی، کوچهٔ ۱۲",
        "area_m2": 180.5,
        "owner": True,
        "floors": [1, 2],
    }
    async with unit_of_work(factory) as session:
        await Requests(session).add(
            make_request(
                citizen.id, tracking_code="77", definition=await stored_definition(session), answers=answers
            )
        )
    async with factory() as session:
        found = await Requests(session).by_tracking_code("77")
        assert found is not None
        assert found.service_snapshot == SNAPSHOT
        assert found.answers == answers
        assert found.service_snapshot["title"]["fa"] == "پرداخت عوارض نوسازی"


async def test_a_tracking_code_belongs_to_one_request(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    async with unit_of_work(factory) as session:
        await Requests(session).add(make_request(citizen.id, tracking_code="123456789"))
    async with unit_of_work(factory) as session:
        with pytest.raises(TrackingCodeTakenError) as raised:
            await Requests(session).add(make_request(citizen.id, tracking_code="123456789"))
        assert raised.value.tracking_code == "123456789"
        # The transaction is still usable: the caller draws another code and files the request.
        _, created = await Requests(session).add(make_request(citizen.id, tracking_code="123456780"))
        assert created
    async with factory() as session:
        assert await _count(session, ServiceRequest) == 2


async def test_the_unique_constraint_itself_guards_tracking_codes(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    async def add_twice() -> None:
        async with unit_of_work(factory) as session:
            session.add(make_request(citizen.id, tracking_code="5"))
            session.add(make_request(citizen.id, tracking_code="5"))

    with pytest.raises(IntegrityError):
        await add_twice()


async def test_a_double_tap_on_submit_files_one_request(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    async with unit_of_work(factory) as session:
        first, created_first = await Requests(session).add(
            make_request(citizen.id, tracking_code="1001", idempotency_key="submit-abc")
        )
    async with unit_of_work(factory) as session:
        second, created_second = await Requests(session).add(
            make_request(citizen.id, tracking_code="1002", idempotency_key="submit-abc"),
            events=[RequestEvent(actor_kind="citizen", to_status="submitted")],
        )
    assert (created_first, created_second) == (True, False)
    assert second.id == first.id
    assert second.tracking_code == "1001"  # the citizen is shown the code of the request that exists
    async with factory() as session:
        assert await _count(session, ServiceRequest) == 1
        assert await _count(session, RequestEvent) == 0


async def test_two_simultaneous_submits_with_one_key_file_one_request(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    async def submit(code: str) -> tuple[int | None, bool]:
        async with unit_of_work(factory, write=True) as session:
            request, created = await Requests(session).add(
                make_request(citizen.id, tracking_code=code, idempotency_key="tap-tap"),
                events=[RequestEvent(actor_kind="citizen", to_status="submitted")],
            )
            await asyncio.sleep(0.05)  # keep the transaction open while the other submit arrives
            return request.id, created

    results = await asyncio.gather(submit("2001"), submit("2002"))
    assert len({request_id for request_id, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, True]
    async with factory() as session:
        assert await _count(session, ServiceRequest) == 1
        assert await _count(session, RequestEvent) == 1


async def test_a_citizens_requests_newest_first(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    async with unit_of_work(factory) as session:
        other = await Citizens(session).get_or_create("telegram", 9, chat_id=9)
        for code in ("31", "32", "33"):
            await Requests(session).add(make_request(citizen.id, tracking_code=code))
        await Requests(session).add(make_request(other.id, tracking_code="34"))
    async with factory() as session:
        mine = await Requests(session).by_citizen(citizen.id or 0)
    assert [r.tracking_code for r in mine] == ["33", "32", "31"]


async def test_an_organizations_open_work_is_listed_by_deadline_and_overdue_is_found(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    rows = [
        ("41", "falavarjan", "in_progress", date(2026, 5, 10)),
        ("42", "falavarjan", "submitted", date(2026, 5, 1)),
        ("43", "falavarjan", "completed", date(2026, 4, 1)),
        ("44", "falavarjan", "needs_info", None),
        ("45", "imanshahr", "submitted", date(2026, 4, 2)),
        ("46", "falavarjan", "waiting_external", date(2026, 4, 20)),
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
        work = await requests.work_list("falavarjan")
        assert [r.tracking_code for r in work] == ["46", "42", "41", "44"]
        assert await requests.count_work("falavarjan") == 4
        second_page = await requests.work_list("falavarjan", offset=2, limit=2)
        assert [r.tracking_code for r in second_page] == ["41", "44"]
        late_here = await requests.work_list("falavarjan", late_on=date(2026, 5, 5))
        assert [r.tracking_code for r in late_here] == ["46", "42"]
        assert await requests.count_work("falavarjan", late_on=date(2026, 5, 5)) == 2
        assert await requests.count_work("imanshahr", late_on=date(2026, 5, 5)) == 1
        counts = await Requests(session).count_by_status("falavarjan")
        assert counts == {
            "in_progress": 1,
            "submitted": 1,
            "completed": 1,
            "needs_info": 1,
            "waiting_external": 1,
        }


async def test_the_citizen_sees_public_events_only_in_order(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    async with unit_of_work(factory) as session:
        request, _ = await Requests(session).add(make_request(citizen.id))
        events = Events(session)
        rid = request.id or 0
        await events.add(RequestEvent(request_id=rid, actor_kind="citizen", to_status="submitted"))
        await events.add(
            RequestEvent(
                request_id=rid, actor_kind="clerk", actor_id="bale:7000001", text="تماس با مالک", public=False
            )
        )
        await events.add(
            RequestEvent(
                request_id=rid,
                actor_kind="clerk",
                actor_id="bale:7000001",
                from_status="submitted",
                to_status="in_progress",
                text="در حال بررسی",
            )
        )
    async with factory() as session:
        public = await Events(session).history(rid)
        everything = await Events(session).history(rid, public_only=False)
    assert [e.to_status for e in public] == ["submitted", "in_progress"]
    assert "تماس با مالک" not in [e.text for e in public]
    assert len(everything) == 3


async def test_a_clerks_reply_to_a_card_finds_its_request(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    async with unit_of_work(factory) as session:
        request, _ = await Requests(session).add(make_request(citizen.id, tracking_code="51"))
        links = GroupMessages(session)
        await links.link(
            platform="bale", chat_id=5000000001, message_id=17, request_id=request.id or 0, kind="card"
        )
        await links.link(
            platform="telegram",
            chat_id=-1001000000001,
            message_id=17,
            request_id=request.id or 0,
            kind="card",
        )
    async with factory() as session:
        links = GroupMessages(session)
        found = await links.find_request("bale", 5000000001, 17)
        assert found is not None
        assert found.tracking_code == "51"
        assert await links.find_request("bale", 5000000001, 18) is None
        assert len(await links.of_request(request.id or 0, kind="card")) == 2
    with pytest.raises(IntegrityError):
        async with unit_of_work(factory) as session:
            await GroupMessages(session).link(
                platform="bale", chat_id=5000000001, message_id=17, request_id=request.id or 0, kind="relay"
            )


async def test_a_definition_is_stored_once_however_its_keys_are_ordered(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request
) -> None:
    async with unit_of_work(factory) as session:
        first = await stored_definition(session)
        again = await ServiceVersions(session).get_or_create(
            "renovation_fee", "1405.1", dict(reversed(list(SNAPSHOT.items())))
        )
        other = await ServiceVersions(session).get_or_create(
            "renovation_fee", "1405.2", {**SNAPSHOT, "fee": 1}
        )
        for code in ("501", "502"):
            await Requests(session).add(make_request(citizen.id, tracking_code=code, definition=first))
    assert again.id == first.id
    assert other.id != first.id
    async with factory() as session:
        stored = await session.scalar(select(func.count()).select_from(ServiceVersion))
        found = await Requests(session).by_tracking_code("502")
    assert stored == 2
    assert found is not None
    assert found.service_version_id == first.id
    assert found.service_snapshot == SNAPSHOT
