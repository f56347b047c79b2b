"""Inquiries between organizations, on SQLite and PostgreSQL: what is stored, who may see and answer, who hears.

Each test acts as the bot's handlers will (a use case in one transaction), then looks at the request, its events,
its inquiries and the outbox.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from desk import inquiries
from desk.calendar import WorkCalendar
from desk.deadlines import OrgGroups
from desk.errors import NotFound, TransitionError, ValidationError
from desk.handling import ActorRef, claim
from desk.inquiries import Agency, InquiryState
from desk.inquiry_reminders import InquiryReminders, queue_inquiry_reminders
from desk.lifecycle import Actor, Status
from desk.requests import track_view
from storage.models import Document, Inquiry
from storage.repositories import Citizens, Inquiries, Requests
from storage.uow import unit_of_work
from tests.desk.test_handling import (
    CLERK,
    GROUPS,
    ORG,
    Factory,
    all_events,
    clerk_acts,
    file_request,
    outbox,
    stored,
)

WEEKEND = WorkCalendar.from_names(["thursday", "friday"], [])
REGISTRY = Agency("registry", "اداره ثبت اسناد", 10, {"telegram": -100_901, "bale": 9901}, WEEKEND)
GAS = Agency("gas", "اداره گاز", 3, {}, WEEKEND)
REGISTRY_STAFF = ActorRef(Actor.CLERK, "telegram", 901, "کارشناس ثبت", organization_id="registry")
GAS_STAFF = ActorRef(Actor.CLERK, "bale", 902, "کارشناس گاز", organization_id="gas")
OTHER_ORG_CLERK = ActorRef(Actor.CLERK, "telegram", 777, "غریبه", organization_id="imanshahr")
TODAY = date(2026, 4, 1)  # a Wednesday; Thursday and Friday are the weekend


async def working(factory: Factory) -> int:
    """A request the clerk has claimed (in progress), with one document."""
    request_id, _ = await file_request(factory)
    await clerk_acts(factory, claim, request_id, seen=Status.SUBMITTED)
    async with unit_of_work(factory, write=True) as session:
        await Requests(session).add_document(
            Document(
                request_id=request_id,
                slot="deed",
                platform="telegram",
                platform_file_id="file-1",
                file_unique_id="u-1",
                stored_path="x/deed.jpg",
                sha256="0" * 64,
                size=10,
                mime="image/jpeg",
                kind="photo",
            )
        )
    return request_id


async def send(factory: Factory, request_id: int, *agencies: Agency, seen: Status = Status.IN_PROGRESS, **kw):
    async with unit_of_work(factory, write=True) as session:
        return await inquiries.send_inquiries(
            session,
            request_id,
            kw.pop("actor", CLERK),
            list(agencies),
            kw.pop("question", "آیا پلاک ۱۲۳ بازداشت است؟"),
            seen_status=seen,
            groups=GROUPS,
            today=TODAY,
            **kw,
        )


async def answer(factory: Factory, inquiry_id: int, actor: ActorRef, text: str = "بازداشت نیست.", **kw):
    async with unit_of_work(factory, write=True) as session:
        return await inquiries.answer(
            session,
            inquiry_id,
            actor,
            text,
            agency_name=kw.pop("name", "اداره ثبت اسناد"),
            asking_groups=GROUPS,
            **kw,
        )


async def inquiry(factory: Factory, inquiry_id: int) -> Inquiry:
    async with factory() as session:
        found = await Inquiries(session).get(inquiry_id)
        assert found is not None
        return found


async def test_sending_moves_the_request_to_waiting_and_gives_each_agency_a_due_date(
    factory: Factory,
) -> None:
    request_id = await working(factory)
    async with factory() as session:
        documents = [doc.id for doc in await Requests(session).documents(request_id)]
    sent = await send(
        factory, request_id, REGISTRY, GAS, document_ids=documents, letter_number="۱۲۳۴/ش", letter_date=TODAY
    )
    assert [item.agency_id for item in sent] == ["registry", "gas"]
    assert (await stored(factory, request_id)).status == Status.WAITING_EXTERNAL
    # Ten working days from Wednesday 1 April with a Thursday-Friday weekend, and three for gas.
    assert sent[0].due_date == date(2026, 4, 15)
    assert sent[1].due_date == date(2026, 4, 6)
    assert sent[0].letter_number == "۱۲۳۴/ش"
    assert sent[0].document_ids == documents
    rows = await outbox(factory)
    cards = [row for row in rows if row.payload.get("type") == "inquiry"]
    # Only the registry has groups: its two get the inquiry card; gas is answered by hand.
    assert sorted((row.platform, row.chat_id) for row in cards) == [("bale", 9901), ("telegram", -100_901)]
    citizen = [row for row in rows if row.payload.get("key") == "notify.citizen.waiting_external"]
    assert len(citizen) == 1
    assert "اداره ثبت اسناد، اداره گاز" in citizen[0].payload["params"]["text"]


async def test_an_agency_is_given_working_days_of_its_own_calendar_not_the_askers(factory: Factory) -> None:
    # The electricity office works on Thursdays (its weekend is Friday alone) and is closed on Saturday 4 and
    # Sunday 5 April for holidays of its own; the municipality asking keeps Thursday and Friday off.
    own = WorkCalendar.from_names(["friday"], [date(2026, 4, 4), date(2026, 4, 5)])
    electricity = Agency("electricity", "اداره برق", 3, {}, own)
    request_id = await working(factory)
    sent, registry = await send(factory, request_id, electricity, REGISTRY)
    # Its three working days from Wednesday 1 April: Thursday 2, Monday 6, Tuesday 7. By the municipality's
    # calendar they would have been Saturday 4, Sunday 5 and Monday 6.
    assert sent.due_date == date(2026, 4, 7)
    assert registry.due_date == date(2026, 4, 15), "each agency by its own calendar"


async def test_the_public_history_says_sent_and_answered_never_the_contents(factory: Factory) -> None:
    request_id = await working(factory)
    [sent] = await send(factory, request_id, REGISTRY, question="پلاک ۱۲۳ بازداشت است؟")
    assert sent.id is not None
    await answer(factory, sent.id, REGISTRY_STAFF, "پلاک در رهن بانک است.")
    events = await all_events(factory, request_id)
    public = " ".join(event.text or "" for event in events if event.public)
    internal = " ".join(event.text or "" for event in events if not event.public)
    assert "پاسخ استعلام اداره ثبت اسناد رسید" in public
    assert "رهن" not in public
    assert "بازداشت" not in public
    assert "پلاک ۱۲۳ بازداشت است؟" in internal
    assert "پلاک در رهن بانک است." in internal


async def test_the_request_returns_to_the_queue_only_when_the_last_answer_is_in(factory: Factory) -> None:
    request_id = await working(factory)
    registry, gas = await send(factory, request_id, REGISTRY, GAS)
    assert registry.id is not None
    assert gas.id is not None
    first = await answer(factory, registry.id, REGISTRY_STAFF)
    assert first is None
    assert (await stored(factory, request_id)).status == Status.WAITING_EXTERNAL
    # Gas has no group: the asking clerk records its letter by hand.
    last = await answer(
        factory,
        gas.id,
        CLERK,
        "لوله گاز از ملک نمی‌گذرد.",
        name="اداره گاز",
        by_hand=True,
        letter_number="۵۵/گ",
        letter_date=date(2026, 4, 5),
    )
    assert last is not None
    assert last.to_status == Status.IN_PROGRESS
    assert (await stored(factory, request_id)).status == Status.IN_PROGRESS
    recorded = await inquiry(factory, gas.id)
    assert recorded.state == InquiryState.ANSWERED
    assert recorded.answered_by == CLERK.actor_id
    assert recorded.answer_letter_number == "۵۵/گ"
    assert recorded.answer_letter_date == date(2026, 4, 5)
    rows = await outbox(factory)
    told = [row for row in rows if row.payload.get("key") == "notify.citizen.answers_in"]
    assert len(told) == 1  # one message for both answers
    answers_under_card = [row for row in rows if row.payload.get("key") == "op.inquiry.answered"]
    assert len(answers_under_card) == 2 * len(GROUPS)
    # Only the last answer tells the groups the request is back in their queue.
    back = [row.payload["params"]["then"] for row in answers_under_card]
    assert [bool(text) for text in back] == [False, False, True, True]


async def test_an_answer_with_a_file_is_copied_to_the_asking_group_on_the_same_messenger(
    factory: Factory,
) -> None:
    request_id = await working(factory)
    [sent] = await send(factory, request_id, REGISTRY)
    assert sent.id is not None
    scan = {"platform": "telegram", "chat_id": -100_901, "message_id": 55, "kind": "photo"}
    await answer(factory, sent.id, REGISTRY_STAFF, None, files=[scan])
    copies = [row for row in await outbox(factory) if row.payload.get("type") == "copy"]
    assert [(row.platform, row.chat_id, row.payload["message_id"]) for row in copies] == [
        ("telegram", GROUPS["telegram"], 55)
    ]
    assert (await inquiry(factory, sent.id)).answer_files == [scan]


def kept(message_id: int, kind: str = "photo", platform: str = "telegram") -> dict[str, object]:
    """A file as the bot keeps it: where it was sent, and where it lies in the document store."""
    return {
        "platform": platform,
        "chat_id": -100_555,
        "message_id": message_id,
        "platform_file_id": f"file-{message_id}",
        "stored_path": f"ab/cd/{message_id:064d}.{'jpg' if kind == 'photo' else 'pdf'}",
        "sha256": f"{message_id:064d}",
        "size": 100,
        "mime": "image/jpeg" if kind == "photo" else "application/pdf",
        "kind": kind,
    }


async def test_new_files_the_clerk_sends_are_listed_on_every_inquiry_sent(factory: Factory) -> None:
    request_id = await working(factory)
    new = [kept(71), kept(72, "pdf")]
    registry, gas = await send(factory, request_id, REGISTRY, GAS, files=new)
    assert registry.id is not None
    assert (await inquiry(factory, registry.id)).files == new
    assert gas.id is not None
    assert (await inquiry(factory, gas.id)).files == new, "the agency answered by hand reads them on paper"
    internal = [event.text or "" for event in await all_events(factory, request_id) if not event.public]
    assert sum("(📎 ۲ پیوست)" in text for text in internal) == 2, "the clerks' history counts them"


async def test_more_new_files_than_allowed_are_refused_and_nothing_is_sent(factory: Factory) -> None:
    request_id = await working(factory)
    with pytest.raises(ValidationError) as refused:
        await send(factory, request_id, REGISTRY, files=[kept(n) for n in range(inquiries.FILES_MAX + 1)])
    assert refused.value.key == "desk.inquiry.too_many_files"
    assert (await stored(factory, request_id)).status == Status.IN_PROGRESS
    async with factory() as session:
        assert await Inquiries(session).of_request(request_id) == []


async def test_an_answer_of_several_files_keeps_them_all_and_copies_each_under_the_answer(
    factory: Factory,
) -> None:
    request_id = await working(factory)
    [sent] = await send(factory, request_id, REGISTRY)
    assert sent.id is not None
    files = [kept(81), kept(82, "pdf"), kept(83, platform="bale")]
    await answer(factory, sent.id, REGISTRY_STAFF, "پلاک آزاد است.\n\nنقشه پیوست است.", files=files)
    recorded = await inquiry(factory, sent.id)
    assert recorded.answer_files == files
    internal = [event.text or "" for event in await all_events(factory, request_id) if not event.public]
    assert any("پلاک آزاد است." in text and "(📎 ۳ پیوست)" in text for text in internal)
    assert recorded.answer_text == "پلاک آزاد است.\n\nنقشه پیوست است."
    copies = [row for row in await outbox(factory) if row.payload.get("type") == "copy"]
    # Each file is copied to the asking group on its own messenger, in the order sent.
    assert [(row.platform, row.payload["message_id"]) for row in copies] == [
        ("bale", 83),
        ("telegram", 81),
        ("telegram", 82),
    ]
    # On the other messenger, where a message cannot be copied, each file is sent from the document store.
    stored_files = [row for row in await outbox(factory) if row.payload.get("type") == "inquiry_file"]
    assert sorted(
        (row.platform, row.payload["inquiry_id"], row.payload["index"]) for row in stored_files
    ) == [
        ("bale", sent.id, 0),
        ("bale", sent.id, 1),
        ("telegram", sent.id, 2),
    ]


async def test_an_answer_of_too_many_files_is_refused_and_the_inquiry_stays_open(factory: Factory) -> None:
    request_id = await working(factory)
    [sent] = await send(factory, request_id, REGISTRY)
    assert sent.id is not None
    with pytest.raises(ValidationError):
        await answer(
            factory, sent.id, REGISTRY_STAFF, None, files=[kept(n) for n in range(inquiries.FILES_MAX + 1)]
        )
    assert (await inquiry(factory, sent.id)).state == InquiryState.OPEN


async def test_need_more_waits_for_the_clerk_and_the_reply_goes_back_to_the_agency(factory: Factory) -> None:
    request_id = await working(factory)
    [sent] = await send(factory, request_id, REGISTRY)
    assert sent.id is not None
    async with unit_of_work(factory, write=True) as session:
        await inquiries.ask_more(
            session,
            sent.id,
            REGISTRY_STAFF,
            "شمارهٔ پلاک فرعی؟",
            agency_name=REGISTRY.name,
            asking_groups=GROUPS,
        )
    assert (await inquiry(factory, sent.id)).state == InquiryState.NEED_MORE
    # Still waiting: a question back is no answer.
    assert (await stored(factory, request_id)).status == Status.WAITING_EXTERNAL
    async with unit_of_work(factory, write=True) as session:
        await inquiries.more_info(session, sent.id, CLERK, "فرعی ۴۵", agency_groups=REGISTRY.groups)
    again = await inquiry(factory, sent.id)
    assert again.state == InquiryState.OPEN
    assert [item["kind"] for item in again.thread] == ["need_more", "more"]
    rows = await outbox(factory)
    asked = [row for row in rows if row.payload.get("key") == "op.inquiry.need_more"]
    assert {row.chat_id for row in asked} == set(GROUPS.values())
    assert asked[0].payload["buttons"] == [
        [{"label": "op.inquiry.button.more", "data": f"inq:{sent.id}:more"}]
    ]
    replied = [row for row in rows if row.payload.get("key") == "op.inquiry.more"]
    assert {row.chat_id for row in replied} == set(REGISTRY.groups.values())


async def test_not_ours_closes_the_inquiry_with_its_reason(factory: Factory) -> None:
    request_id = await working(factory)
    [sent] = await send(factory, request_id, REGISTRY)
    assert sent.id is not None
    async with unit_of_work(factory, write=True) as session:
        change = await inquiries.not_ours(
            session,
            sent.id,
            REGISTRY_STAFF,
            "با اداره منابع طبیعی است.",
            agency_name=REGISTRY.name,
            asking_groups=GROUPS,
        )
    assert change is not None
    assert (await inquiry(factory, sent.id)).state == InquiryState.NOT_OURS
    assert (await stored(factory, request_id)).status == Status.IN_PROGRESS


@pytest.mark.parametrize(
    "stranger",
    [GAS_STAFF, OTHER_ORG_CLERK, ActorRef(Actor.CLERK, "telegram", 901, "x", organization_id=ORG)],
    ids=["another agency", "another organization", "the asking org posing as the agency"],
)
async def test_only_the_agency_asked_may_answer(factory: Factory, stranger: ActorRef) -> None:
    request_id = await working(factory)
    [sent] = await send(factory, request_id, REGISTRY)
    assert sent.id is not None
    with pytest.raises(NotFound):
        await answer(factory, sent.id, stranger)
    assert (await inquiry(factory, sent.id)).state == InquiryState.OPEN


async def test_only_the_asking_organization_records_an_answer_by_hand_or_replies(factory: Factory) -> None:
    request_id = await working(factory)
    [sent] = await send(factory, request_id, GAS)
    assert sent.id is not None
    for stranger in (OTHER_ORG_CLERK, GAS_STAFF):
        with pytest.raises(NotFound):
            await answer(factory, sent.id, stranger, by_hand=True)
    async with factory() as session:
        with pytest.raises(NotFound):
            await inquiries.get_for_asker(session, sent.id, "imanshahr")
        with pytest.raises(NotFound):
            await inquiries.get_for_agency(session, sent.id, "registry")
        assert (await inquiries.get_for_agency(session, sent.id, "gas")).id == sent.id


async def test_a_second_answer_is_refused_and_changes_nothing(factory: Factory) -> None:
    request_id = await working(factory)
    [sent] = await send(factory, request_id, REGISTRY)
    assert sent.id is not None
    await answer(factory, sent.id, REGISTRY_STAFF, "نخست")
    with pytest.raises(TransitionError):
        await answer(factory, sent.id, REGISTRY_STAFF, "دوم")
    assert (await inquiry(factory, sent.id)).answer_text == "نخست"


@pytest.mark.parametrize(
    ("agencies", "kwargs", "error"),
    [
        ((), {}, ValidationError),
        ((Agency(ORG, "خود شهرداری", 5, {}, WEEKEND),), {}, ValidationError),
        ((REGISTRY,), {"question": "  "}, ValidationError),
        ((REGISTRY,), {"document_ids": [999]}, NotFound),
        ((REGISTRY,), {"letter_number": "۱" * 65}, ValidationError),
    ],
    ids=["no agency", "itself", "blank question", "another request's document", "long letter number"],
)
async def test_a_bad_inquiry_is_refused_and_writes_nothing(factory: Factory, agencies, kwargs, error) -> None:
    request_id = await working(factory)
    with pytest.raises(error):
        await send(factory, request_id, *agencies, **kwargs)
    assert (await stored(factory, request_id)).status == Status.IN_PROGRESS
    async with factory() as session:
        assert list(await Inquiries(session).of_request(request_id)) == []


async def test_another_organization_cannot_send_an_inquiry_about_the_request(factory: Factory) -> None:
    request_id = await working(factory)
    with pytest.raises(NotFound):
        await send(factory, request_id, REGISTRY, actor=OTHER_ORG_CLERK)


async def test_more_inquiries_while_waiting_keep_the_request_waiting(factory: Factory) -> None:
    request_id = await working(factory)
    await send(factory, request_id, REGISTRY)
    await send(factory, request_id, GAS, seen=Status.WAITING_EXTERNAL)
    async with factory() as session:
        assert [item.agency_id for item in await Inquiries(session).of_request(request_id)] == [
            "registry",
            "gas",
        ]
    assert (await stored(factory, request_id)).status == Status.WAITING_EXTERNAL


async def test_tracking_shows_whom_the_request_waits_for_and_until_when(factory: Factory) -> None:
    request_id = await working(factory)
    registry, gas = await send(factory, request_id, REGISTRY, GAS)
    assert gas.id is not None
    await answer(factory, gas.id, CLERK, "ندارد", name="اداره گاز", by_hand=True)
    async with factory() as session:
        request = await Requests(session).get(request_id)
        assert request is not None
        view = await track_view(session, request)
    assert [(item.agency_id, item.due) for item in view.waiting] == [("registry", registry.due_date)]


async def test_a_group_lists_the_inquiries_it_asked_and_received(factory: Factory) -> None:
    request_id = await working(factory)
    registry, gas = await send(factory, request_id, REGISTRY, GAS)
    async with factory() as session:
        asked = await inquiries.open_inquiries(session, ORG)
        received = await inquiries.open_inquiries(session, "registry")
        other = await inquiries.open_inquiries(session, "imanshahr")
    assert [item.id for item in asked] == [gas.id, registry.id]  # the earliest due first
    assert [item.id for item in received] == [registry.id]
    assert other == []


# Reminders and escalation, with the morning's digest.

ASKER_GROUPS = OrgGroups(ORG, GROUPS)
REGISTRY_GROUPS = OrgGroups("registry", dict(REGISTRY.groups))
GOVERNORATE = OrgGroups("governorate", {"telegram": -100_999})
NAMES = {ORG: "شهرداری فلاورجان", "registry": "اداره ثبت اسناد", "governorate": "فرمانداری"}


async def remind(factory: Factory, today: date, **kw) -> InquiryReminders:
    async with unit_of_work(factory, write=True) as session:
        return await queue_inquiry_reminders(
            session,
            today=today,
            organizations=kw.pop("organizations", [ASKER_GROUPS, REGISTRY_GROUPS]),
            governorate=GOVERNORATE,
            escalate_after_days=kw.pop("escalate_after_days", 5),
            names=NAMES,
        )


async def test_an_overdue_inquiry_is_listed_to_both_groups_and_later_escalated(factory: Factory) -> None:
    request_id = await working(factory)
    [sent] = await send(factory, request_id, REGISTRY)
    assert sent.id is not None
    assert (await remind(factory, sent.due_date)).queued == 0, "due today is not late yet"

    late = await remind(factory, sent.due_date + timedelta(days=2))
    assert late.reminded == (ORG, "registry")
    assert late.escalated == ()
    rows = [row for row in await outbox(factory) if row.payload.get("key") == "notify.inquiry.overdue"]
    assert sorted(row.chat_id for row in rows) == sorted([*GROUPS.values(), *REGISTRY.groups.values()])
    asked = next(row for row in rows if row.chat_id == GROUPS["telegram"])
    assert "به اداره ثبت اسناد" in asked.payload["params"]["items"]
    received = next(row for row in rows if row.chat_id == REGISTRY.groups["telegram"])
    assert "از شهرداری فلاورجان" in received.payload["params"]["items"]
    assert "۲ روز تأخیر" in received.payload["params"]["items"]
    again = await remind(factory, sent.due_date + timedelta(days=2))
    assert again.queued == 0, "once a day"

    escalated = await remind(factory, sent.due_date + timedelta(days=6))
    assert escalated.escalated == (sent.id,)
    up = [row for row in await outbox(factory) if row.payload.get("key") == "notify.inquiry.escalation"]
    assert [row.chat_id for row in up] == [-100_999]
    assert "از شهرداری فلاورجان به اداره ثبت اسناد" in up[0].payload["params"]["items"]
    notes = [event.text or "" for event in await all_events(factory, request_id) if not event.public]
    assert sum("یادآوری" in note for note in notes) == 2, "one reminder event a day it was reminded"
    assert sum("فرمانداری گزارش شد" in note for note in notes) == 1


async def test_an_answered_inquiry_is_never_reminded(factory: Factory) -> None:
    request_id = await working(factory)
    [sent] = await send(factory, request_id, REGISTRY)
    assert sent.id is not None
    await answer(factory, sent.id, REGISTRY_STAFF)
    result = await remind(factory, sent.due_date + timedelta(days=10))
    assert result == InquiryReminders()


async def test_no_reminder_on_a_groups_day_off(factory: Factory) -> None:
    request_id = await working(factory)
    [sent] = await send(factory, request_id, REGISTRY)
    closed = OrgGroups("registry", dict(REGISTRY.groups), is_working_day=False)
    result = await remind(factory, sent.due_date + timedelta(days=1), organizations=[ASKER_GROUPS, closed])
    assert result.reminded == (ORG,)


async def test_a_citizen_with_sms_on_gets_one_sms_when_the_answers_are_in(factory: Factory) -> None:
    request_id = await working(factory)
    async with unit_of_work(factory, write=True) as session:
        request = await Requests(session).get(request_id)
        assert request is not None
        citizen = await Citizens(session).get(request.citizen_id)
        assert citizen is not None
        citizen.phone, citizen.phone_verified, citizen.sms_enabled = "09123456789", True, True
        session.add(citizen)
    registry, gas = await send(factory, request_id, REGISTRY, GAS)
    assert registry.id is not None
    assert gas.id is not None
    await answer(factory, registry.id, REGISTRY_STAFF)
    await answer(factory, gas.id, CLERK, "ندارد", name="اداره گاز", by_hand=True)
    sms = [row for row in await outbox(factory) if row.channel == "sms"]
    # One when it began to wait (its new status), one when both answers were in; none for the first answer.
    assert [row.payload["key"] for row in sms] == ["sms.status", "sms.answers_in"]
