"""Filing, listing and following requests, on SQLite and PostgreSQL, as the bot's handlers will call them."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from datetime import date
from typing import Any, cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.schema import ResolvedService
from desk import requests as desk_requests
from desk.calendar import WEEKDAYS, WorkCalendar
from desk.errors import NotFound, ValidationError
from desk.lifecycle import Status
from desk.mine import MINE_PAGE, my_request, my_requests_page
from desk.persian import to_persian_digits
from desk.requests import (
    DocumentInput,
    Filed,
    Submission,
    SubmitResult,
    Title,
    file_request,
    split_code_and_tail,
    submit_request,
    track,
)
from desk.tracking import damm_check_digit, format_tracking_code
from storage.errors import TrackingCodeTakenError
from storage.models import Citizen, Document, OutboxMessage, RequestEvent, ServiceRequest
from storage.repositories import Citizens, Events, Requests
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]

OWNER_NATIONAL_ID = "0499370899"
OTHER_NATIONAL_ID = "0013542419"

SERVICE = ResolvedService.model_validate(
    {
        "id": "renovation_fee",
        "category": "fees",
        "title": {"fa": "پرداخت عوارض نوسازی", "en": "Renovation fee"},
        "summary": {"fa": "استعلام و پرداخت عوارض نوسازی ملک"},
        "online": True,
        "steps": [{"fa": "ثبت درخواست"}, {"fa": "بررسی کارشناس"}],
        "documents": [
            {"id": "deed", "title": {"fa": "سند مالکیت"}},
            {"id": "bill", "title": {"fa": "قبض قبلی"}, "required": False},
        ],
        "duration_days": 3,
        "fee": {"kind": "none"},
        "complaint": {"fa": "به مسئول واحد درآمد مراجعه کنید."},
        "responsible": {"title": {"fa": "مسئول واحد درآمد"}},
        "form": [
            {"id": "owner_national_id", "label": {"fa": "کد ملی مالک"}, "type": "national_id"},
            {"id": "area", "label": {"fa": "مساحت"}, "type": "number"},
            {"id": "has_permit", "label": {"fa": "پروانه دارد؟"}, "type": "yes_no"},
            {"id": "note", "label": {"fa": "توضیح"}, "type": "long_text", "required": False},
        ],
        "organization_id": "falavarjan",
        "version": "a1b2c3",
    }
)
SNAPSHOT = SERVICE.model_dump(mode="json")

# Thursday and Friday off; 2026-04-01 is a Wednesday.
CALENDAR = WorkCalendar(frozenset({WEEKDAYS["thursday"], WEEKDAYS["friday"]}))
WEDNESDAY = date(2026, 4, 1)

DEED = DocumentInput(
    slot="deed",
    platform_file_id="AgACAgQAAxkBAAIB",
    file_unique_id="AQADxyz",
    stored_path="ab/abcdef.jpg",
    sha256="ab" * 32,
    size=123_456,
    mime="image/jpeg",
    kind="photo",
)

_keys = iter(range(1, 1_000_000))


def submission(**changes: Any) -> Submission:
    """A complete submission by a Telegram citizen, with a fresh submit key; keywords override fields."""
    base = Submission(
        platform="telegram",
        user_id=1001,
        chat_id=1001,
        first_name="زهرا",
        last_name="احمدی",
        username="zahra",
        organization_id="falavarjan",
        service_id="renovation_fee",
        service_version="a1b2c3",
        service_snapshot=SNAPSHOT,
        answers={"owner_national_id": OWNER_NATIONAL_ID, "area": 120, "has_permit": False},
        documents=[DEED],
        idempotency_key=f"submit-{next(_keys)}",
        calendar=CALENDAR,
        today=WEDNESDAY,
    )
    return dataclasses.replace(base, **changes)


async def submit(factory: Factory, sub: Submission) -> SubmitResult:
    async with unit_of_work(factory, write=True) as session:
        return await submit_request(session, sub)


async def count(factory: Factory, model: type) -> int:
    async with factory() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


def valid_code(payload: str) -> str:
    return payload + damm_check_digit(payload)


# Filing a request.


async def test_submit_files_the_request_with_its_documents_and_a_public_submitted_event(
    factory: Factory,
) -> None:
    result = await submit(factory, submission())

    assert result.created
    assert len(result.tracking_code) == 12
    async with factory() as session:
        stored = await Requests(session).by_tracking_code(result.tracking_code)
        assert stored is not None
        assert stored.id == result.request_id
        assert stored.status == "submitted"
        assert stored.service_version == "a1b2c3"
        assert stored.service_snapshot["title"]["fa"] == "پرداخت عوارض نوسازی"
        assert stored.answers == {"owner_national_id": OWNER_NATIONAL_ID, "area": 120, "has_permit": False}
        assert stored.submitted_at is not None
        documents = await Requests(session).documents(result.request_id)
        assert [(d.slot, d.platform, d.sha256) for d in documents] == [("deed", "telegram", "ab" * 32)]
        events = await Events(session).history(result.request_id)
        assert [(e.actor_kind, e.actor_id, e.from_status, e.to_status) for e in events] == [
            ("citizen", "telegram:1001", "draft", "submitted")
        ]
        citizen = await session.get(Citizen, stored.citizen_id)
        assert citizen is not None
        assert (citizen.platform, citizen.user_id, citizen.first_name) == (
            "telegram",
            1001,
            "زهرا",
        )


async def test_the_deadline_counts_working_days_and_a_holiday_moves_it(factory: Factory) -> None:
    plain = await submit(factory, submission())
    # Wednesday + 3 working days, Thursday and Friday off: Saturday, Sunday, Monday.
    assert plain.deadline == date(2026, 4, 6)

    with_holiday = WorkCalendar(CALENDAR.weekend, frozenset({date(2026, 4, 5)}))
    moved = await submit(factory, submission(calendar=with_holiday))
    assert moved.deadline == date(2026, 4, 7)
    async with factory() as session:
        stored = await Requests(session).get(moved.request_id)
        assert stored is not None
        assert stored.deadline == date(2026, 4, 7)


async def test_a_double_submit_files_one_request(factory: Factory) -> None:
    once = submission()
    first = await submit(factory, once)
    second = await submit(factory, once)

    assert second == dataclasses.replace(first, created=False)
    assert await count(factory, ServiceRequest) == 1
    assert await count(factory, Document) == 1
    assert await count(factory, RequestEvent) == 1


async def test_a_double_tap_at_the_same_moment_files_one_request(factory: Factory) -> None:
    once = submission()
    results = await asyncio.gather(submit(factory, once), submit(factory, once))

    assert len({r.tracking_code for r in results}) == 1
    assert sorted(r.created for r in results) == [False, True]
    assert await count(factory, ServiceRequest) == 1


@pytest.mark.parametrize("blank", [None, "", "   "])
async def test_a_missing_required_answer_is_refused_and_nothing_is_stored(
    factory: Factory, blank: str | None
) -> None:
    answers = {"owner_national_id": OWNER_NATIONAL_ID, "has_permit": True}
    if blank is not None:
        answers["area"] = blank
    with pytest.raises(ValidationError) as caught:
        await submit(factory, submission(answers=answers))

    assert caught.value.key == "desk.request.answer_missing"
    assert caught.value.params == {"field": "area"}
    assert "desk." not in caught.value.render("fa")
    assert await count(factory, ServiceRequest) == 0
    assert await count(factory, Citizen) == 0


@pytest.mark.parametrize(
    ("field", "forged"),
    [("owner_national_id", "0000000000"), ("owner_national_id", "hello"), ("area", "ten"), ("area", True),
     ("has_permit", "yes"), ("has_permit", "maybe")],
)  # fmt: skip
async def test_an_answer_no_question_could_give_is_refused_and_nothing_is_stored(
    factory: Factory, field: str, forged: Any
) -> None:
    """A modified client can press a button its question never offered (a 'yes' under a national ID question)."""
    answers = {"owner_national_id": OWNER_NATIONAL_ID, "area": 120, "has_permit": False, field: forged}
    with pytest.raises(ValidationError) as caught:
        await submit(factory, submission(answers=answers))

    assert "desk." not in caught.value.render("fa")
    assert await count(factory, ServiceRequest) == 0
    assert await count(factory, Citizen) == 0


async def test_no_to_a_yes_no_question_and_a_skipped_optional_field_are_answers_enough(
    factory: Factory,
) -> None:
    answers = {"owner_national_id": OWNER_NATIONAL_ID, "area": 0, "has_permit": False}
    assert (await submit(factory, submission(answers=answers))).created


async def test_a_missing_required_document_is_refused(factory: Factory) -> None:
    only_the_optional_bill = dataclasses.replace(DEED, slot="bill")
    with pytest.raises(ValidationError) as caught:
        await submit(factory, submission(documents=[only_the_optional_bill]))

    assert caught.value.key == "desk.request.document_missing"
    assert caught.value.params == {"slot": "deed"}
    assert await count(factory, ServiceRequest) == 0


async def test_a_tracking_code_clash_draws_a_new_code(
    factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = valid_code("12345678901")
    fresh = valid_code("22345678901")
    codes: Iterator[str] = iter([taken, taken, fresh])
    monkeypatch.setattr(desk_requests, "new_tracking_code", lambda: taken)
    await submit(factory, submission())
    monkeypatch.setattr(desk_requests, "new_tracking_code", lambda: next(codes))

    result = await submit(factory, submission(user_id=2002, chat_id=2002))

    assert result.created
    assert result.tracking_code == fresh
    assert await count(factory, ServiceRequest) == 2
    assert await count(factory, RequestEvent) == 2  # the failed attempts left nothing behind


async def test_a_generator_that_only_clashes_gives_up_instead_of_looping(
    factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = valid_code("12345678901")
    monkeypatch.setattr(desk_requests, "new_tracking_code", lambda: taken)
    await submit(factory, submission())

    with pytest.raises(TrackingCodeTakenError):
        await submit(factory, submission(user_id=2002, chat_id=2002))


def test_a_submission_from_an_unknown_platform_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="platform"):
        submission(platform="whatsapp")


# Filing a request with what follows it: the shared phone, the clerks' cards, the confirmation, the SMS offer.

GROUPS = {"falavarjan": {"telegram": -1001, "bale": -2001}}
MOBILE = "09123456789"
WITH_MOBILE = {
    **SNAPSHOT,
    "form": [
        *SNAPSHOT["form"],
        {"id": "mobile", "label": {"fa": "تلفن همراه"}, "type": "mobile", "required": False},
    ],
}


async def file(factory: Factory, sub: Submission, **options: Any) -> Filed:
    async with unit_of_work(factory, write=True) as session:
        return await file_request(session, sub, groups_of=GROUPS.__getitem__, lang="fa", **options)


async def queued(factory: Factory) -> list[tuple[str, str | None, int | None]]:
    async with factory() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "chat"))
        return sorted((row.dedupe_key, row.platform, row.chat_id) for row in rows)


async def test_filing_queues_a_card_for_each_group_and_the_confirmation(factory: Factory) -> None:
    sub = submission()
    filed = await file(factory, sub)

    assert filed.result.created
    request_id = filed.result.request_id
    assert await queued(factory) == [
        (f"request:{request_id}:card:bale", "bale", -2001),
        (f"request:{request_id}:card:telegram", "telegram", -1001),
        (f"request:{request_id}:submitted", "telegram", 1001),
        (f"request:{request_id}:submitted:copy", "telegram", 1001),
    ]
    assert filed.sms_offer is None, "not asked"

    again = await file(factory, sub)  # a second tap: the same request, nothing queued again
    assert again.result == dataclasses.replace(filed.result, created=False)
    assert len(await queued(factory)) == 4


async def test_a_mobile_shared_as_ones_own_contact_becomes_the_verified_phone_before_filing(
    factory: Factory,
) -> None:
    answers = {**submission().answers, "mobile": MOBILE}
    filed = await file(
        factory,
        submission(service_snapshot=WITH_MOBILE, answers=answers),
        own_phones=[MOBILE],
        offer_sms=True,
    )

    async with factory() as session:
        citizen = await Citizens(session).find("telegram", 1001)
    assert citizen is not None
    assert (citizen.phone, citizen.phone_verified, citizen.sms_enabled) == (MOBILE, True, True)
    assert filed.sms_offer is None, "the updates already go to it"


async def test_a_typed_mobile_is_offered_for_sms_updates_when_the_organization_sends_sms(
    factory: Factory,
) -> None:
    answers = {**submission().answers, "mobile": MOBILE}
    filed = await file(factory, submission(service_snapshot=WITH_MOBILE, answers=answers), offer_sms=True)
    assert filed.sms_offer == MOBILE
    unasked = await file(factory, submission(service_snapshot=WITH_MOBILE, answers=answers, user_id=2002))
    assert unasked.sms_offer is None

    async with factory() as session:
        citizen = await Citizens(session).find("telegram", 1001)
    assert citizen is not None
    assert not citizen.phone_verified, "a typed number is proved by a code first"


# My requests.


async def test_my_requests_lists_only_the_citizens_own_newest_first(factory: Factory) -> None:
    older = await submit(factory, submission())
    newer = await submit(factory, submission())
    await submit(factory, submission(user_id=2002, chat_id=2002))
    await submit(factory, submission(platform="bale"))  # the same number on Bale is someone else

    async with unit_of_work(factory) as session:
        page = await my_requests_page(session, "telegram", 1001, 0)
    mine = [item for _, item in page.items]

    assert page.total == 2
    assert [item.tracking_code for item in mine] == [newer.tracking_code, older.tracking_code]
    first = mine[0]
    assert first.title == Title(fa="پرداخت عوارض نوسازی", en="Renovation fee")
    assert first.title.text("en") == "Renovation fee"
    assert first.status is Status.SUBMITTED
    assert (first.organization_id, first.service_id) == ("falavarjan", "renovation_fee")
    assert first.deadline == date(2026, 4, 6)
    assert first.submitted_at is not None
    assert first.updated_at is not None


async def test_my_requests_of_someone_who_never_filed_is_empty(factory: Factory) -> None:
    async with unit_of_work(factory) as session:
        page = await my_requests_page(session, "bale", 999, 0)
    assert (page.items, page.total) == ((), 0)


async def test_my_requests_come_in_pages_counted_by_the_database(factory: Factory) -> None:
    filed = [await submit(factory, submission()) for _ in range(MINE_PAGE * 2 + 3)]
    async with unit_of_work(factory) as session:
        first = await my_requests_page(session, "telegram", 1001, 0)
        last = await my_requests_page(session, "telegram", 1001, 2)
        past = await my_requests_page(session, "telegram", 1001, 9)
    assert (first.total, first.pages, first.has_newer, first.has_older) == (23, 3, False, True)
    assert [item.tracking_code for _, item in first.items] == [
        r.tracking_code for r in filed[::-1][:MINE_PAGE]
    ]
    assert [item.tracking_code for _, item in last.items] == [r.tracking_code for r in filed[2::-1]]
    assert (last.has_newer, last.has_older) == (True, False)
    assert past.page == 2, "a page past the last shows the last"


async def test_a_requests_own_page_is_its_filers_alone(factory: Factory) -> None:
    filed = await submit(factory, submission())
    async with unit_of_work(factory) as session:
        request = await Requests(session).by_tracking_code(filed.tracking_code)
        assert request is not None
        assert request.id is not None
        own = await my_request(session, "telegram", 1001, request.id)
        assert own.view.tracking_code == filed.tracking_code
        assert own.answers == request.answers
        for platform, user in (("telegram", 2002), ("bale", 1001)):
            with pytest.raises(NotFound):
                await my_request(session, platform, user, request.id)
        with pytest.raises(NotFound):
            await my_request(session, "telegram", 1001, request.id + 1000)


# Following a request by its tracking code.


async def test_the_owner_follows_the_request_and_sees_only_public_history(factory: Factory) -> None:
    filed = await submit(factory, submission())
    async with unit_of_work(factory, write=True) as session:
        events = Events(session)
        await events.add(
            RequestEvent(
                request_id=filed.request_id,
                actor_kind="clerk",
                from_status="submitted",
                to_status="in_progress",
            )
        )
        await events.add(
            RequestEvent(request_id=filed.request_id, actor_kind="clerk", text="internal note", public=False)
        )
        stored = await Requests(session).get(filed.request_id)
        assert stored is not None
        stored.status = "in_progress"

    async with unit_of_work(factory) as session:
        view = await track(session, filed.tracking_code, platform="telegram", user_id=1001)

    assert view.tracking_code == filed.tracking_code
    assert view.status is Status.IN_PROGRESS
    assert view.title.fa == "پرداخت عوارض نوسازی"
    assert view.deadline == filed.deadline
    assert [entry.to_status for entry in view.history] == [Status.SUBMITTED, Status.IN_PROGRESS]
    assert all(entry.text != "internal note" for entry in view.history)


async def test_a_code_typed_in_persian_digits_with_dashes_is_accepted(factory: Factory) -> None:
    filed = await submit(factory, submission())
    typed = to_persian_digits(format_tracking_code(filed.tracking_code, "en"))  # '۱۲۳۴-۵۶۷۸-۹۰۱۲'

    async with unit_of_work(factory) as session:
        view = await track(session, typed, platform="telegram", user_id=1001)

    assert view.tracking_code == filed.tracking_code


async def unknown_code_error(factory: Factory) -> NotFound:
    async with unit_of_work(factory) as session:
        with pytest.raises(NotFound) as caught:
            await track(session, valid_code("81234567890"), platform="telegram", user_id=1001)
    return caught.value


@pytest.mark.parametrize("given", [None, OTHER_NATIONAL_ID], ids=["no national id", "wrong national id"])
async def test_a_stranger_without_the_right_national_id_is_told_what_an_unknown_code_gets(
    factory: Factory, given: str | None
) -> None:
    filed = await submit(factory, submission())

    async with unit_of_work(factory) as session:
        with pytest.raises(NotFound) as caught:
            await track(session, filed.tracking_code, platform="telegram", user_id=3003, national_id=given)

    unknown = await unknown_code_error(factory)
    assert (caught.value.key, caught.value.params) == (unknown.key, unknown.params)
    assert caught.value.render("fa") == unknown.render("fa")


async def test_a_stranger_with_the_national_id_of_the_form_sees_the_request(factory: Factory) -> None:
    filed = await submit(factory, submission())

    async with unit_of_work(factory) as session:
        view = await track(
            session,
            filed.tracking_code,
            platform="bale",  # the owner on the other messenger is a stranger to the bot
            user_id=1001,
            national_id=to_persian_digits(OWNER_NATIONAL_ID),
        )

    assert view.tracking_code == filed.tracking_code
    assert view.status is Status.SUBMITTED


def mistyped(code: str) -> str:
    """``code`` with its last digit typed one off."""
    return code[:-1] + str((int(code[-1]) + 1) % 10)


class _UnusableSession:
    """A session that fails the test on any use: proves a refusal happened before the database."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the database was used ({name}) before the input was checked")


@pytest.mark.parametrize(
    ("code", "national_id", "key"),
    [
        (mistyped(valid_code("12345678901")), None, "desk.tracking.check_digit"),
        ("۱۲۳۴۵۶", None, "desk.tracking.format"),
        (valid_code("12345678901"), "0499370898", "desk.national_id.invalid"),
    ],
    ids=["wrong check digit", "too short", "malformed national id"],
)
async def test_a_mistyped_code_or_national_id_is_refused_before_any_lookup(
    code: str, national_id: str | None, key: str
) -> None:
    session = cast(AsyncSession, _UnusableSession())
    with pytest.raises(ValidationError) as caught:
        await track(session, code, platform="telegram", user_id=1001, national_id=national_id)
    assert caught.value.key == key


# A stranger with the code and the last four digits of the national ID (what fits an SMS).


@pytest.mark.parametrize("tail", ["0899", "۰۸۹۹", " 0 8 9 9 "], ids=["latin", "persian", "spaced"])
async def test_a_stranger_with_the_last_four_digits_of_the_national_id_sees_the_request(
    factory: Factory, tail: str
) -> None:
    filed = await submit(factory, submission())

    async with unit_of_work(factory) as session:
        view = await track(session, filed.tracking_code, platform="telegram", user_id=3003, national_id=tail)

    assert view.tracking_code == filed.tracking_code


@pytest.mark.parametrize("given", ["0898", "2419", "0499"], ids=["one off", "another id's", "the first four"])
async def test_wrong_last_four_digits_are_told_what_an_unknown_code_gets(
    factory: Factory, given: str
) -> None:
    filed = await submit(factory, submission())

    async with unit_of_work(factory) as session:
        with pytest.raises(NotFound) as caught:
            await track(session, filed.tracking_code, platform="telegram", user_id=3003, national_id=given)

    unknown = await unknown_code_error(factory)
    assert (caught.value.key, caught.value.params) == (unknown.key, unknown.params)


@pytest.mark.parametrize("given", ["089", "12345", "abcd"], ids=["three digits", "five digits", "letters"])
async def test_neither_a_national_id_nor_its_last_four_digits_is_refused_before_any_lookup(
    given: str,
) -> None:
    session = cast(AsyncSession, _UnusableSession())
    with pytest.raises(ValidationError) as caught:
        await track(session, valid_code("12345678901"), platform="telegram", user_id=1001, national_id=given)
    assert caught.value.key == "desk.track.national_id_format"
    assert "۴" in caught.value.render("fa")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123412341234 5678", ("123412341234", "5678")),
        ("۱۲۳۴-۵۶۷۸-۹۰۱۲ ۵۶۷۸", ("123456789012", "5678")),
        ("1234 5678 9012 - 5678", ("123456789012", "5678")),
        ("123412341234، ۵۶۷۸", ("123412341234", "5678")),
        ("1234123412345678", None),  # sixteen digits in a row: a card number, not a code and four digits
        ("12341234123 5678", None),
        ("123412341234 567", None),
        ("123412341234", None),
        ("کد 123412341234 5678", None),
    ],
)
def test_a_code_and_the_last_four_digits_are_read_from_one_message(
    text: str, expected: tuple[str, str] | None
) -> None:
    assert split_code_and_tail(text) == expected
