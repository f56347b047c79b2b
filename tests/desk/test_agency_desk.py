"""What an agency's staff see of their work, on SQLite and PostgreSQL: the inquiries waiting for their answer
(``/open``, ``/overdue``), a card drawn again from that list, and the report of how they answered.

Before these, an agency's ``/open`` and ``/report`` counted requests, which an agency never has: both were empty.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from desk import inquiries
from desk.calendar import WorkCalendar
from desk.errors import NotFound, TransitionError
from desk.handling import ActorRef
from desk.inquiry_reports import inquiry_figures, inquiry_report_text
from desk.lifecycle import Actor
from desk.reports import Period, Rate, ReportViewer
from desk.worklists import PAGE_SIZE, ListKind, inquiry_page
from storage.models import Inquiry
from storage.repositories import Inquiries
from storage.uow import unit_of_work
from tests.desk.test_handling import Factory, file_request, outbox

REGISTRY_STAFF = ActorRef(Actor.CLERK, "telegram", 901, "کارشناس ثبت", organization_id="registry")
GAS_STAFF = ActorRef(Actor.CLERK, "bale", 902, "کارشناس گاز", organization_id="gas")
TODAY = date(2026, 4, 20)
APRIL = Period(date(2026, 4, 1), date(2026, 4, 30))
WEEKEND = WorkCalendar.from_names(["thursday", "friday"], [])


def _at(day: date) -> datetime:
    """Nine thirty in the morning in Tehran on ``day`` (06:00 UTC)."""
    return datetime(day.year, day.month, day.day, 6, tzinfo=UTC)


async def add(
    factory: Factory,
    request_id: int,
    agency: str,
    *,
    asked: date,
    due: date,
    state: str = "open",
    answered: date | None = None,
) -> int:
    async with unit_of_work(factory, write=True) as session:
        inquiry = await Inquiries(session).add(
            Inquiry(
                request_id=request_id,
                asking_organization_id="falavarjan",
                agency_id=agency,
                question="آیا پلاک ۱۲۳ در بازداشت است؟",
                asked_by="telegram:501",
                asked_at=_at(asked),
                due_date=due,
                state=state,
                answered_at=_at(answered) if answered is not None else None,
            )
        )
        assert inquiry.id is not None
        return inquiry.id


async def page_of(factory: Factory, actor: ActorRef, kind: ListKind = ListKind.OPEN, page: int = 0):
    async with factory() as session:
        return await inquiry_page(session, actor, kind, today=TODAY, page=page)


async def test_an_agencys_open_list_counts_its_waiting_inquiries_the_earliest_due_first_a_page_at_a_time(
    factory: Factory,
) -> None:
    request_id, _ = await file_request(factory)
    # 22 waiting for the registry (due 1 to 22 April, added in reverse), one it answered, two of the gas office.
    for day in range(22, 0, -1):
        await add(factory, request_id, "registry", asked=date(2026, 3, 30), due=date(2026, 4, day))
    await add(
        factory, request_id, "registry", asked=date(2026, 3, 30), due=date(2026, 4, 1), state="answered"
    )
    gas = [
        await add(factory, request_id, "gas", asked=date(2026, 4, 1), due=date(2026, 5, 1)) for _ in range(2)
    ]

    first = await page_of(factory, REGISTRY_STAFF)
    assert (first.total, first.page, first.pages) == (22, 0, 2)
    assert [item.due_date.day for item in first.items] == list(range(1, PAGE_SIZE + 1))
    assert first.has_next
    assert not first.has_previous
    last = await page_of(factory, REGISTRY_STAFF, page=99)  # a forged page: the last real one
    assert (last.page, [item.due_date.day for item in last.items]) == (1, [21, 22])
    overdue = await page_of(factory, REGISTRY_STAFF, ListKind.OVERDUE)
    assert overdue.total == 19, "due 1 to 19 April, before the 20th"
    # Each agency sees only what was sent to it; no one else sees any.
    assert [item.id for item in (await page_of(factory, GAS_STAFF)).items] == gas
    citizen = ActorRef(Actor.CITIZEN, "telegram", 42, "زهرا")
    assert (await page_of(factory, citizen)).total == 0


async def test_a_card_is_drawn_again_only_for_the_agency_asked_and_while_it_waits(factory: Factory) -> None:
    request_id, _ = await file_request(factory)
    waiting = await add(factory, request_id, "registry", asked=date(2026, 4, 1), due=date(2026, 4, 15))
    answered = await add(
        factory, request_id, "registry", asked=date(2026, 4, 1), due=date(2026, 4, 15), state="answered"
    )
    async with unit_of_work(factory, write=True) as session:
        await inquiries.show_card(session, waiting, REGISTRY_STAFF, platform="telegram", chat_id=-100_901)
    [row] = [row for row in await outbox(factory) if row.payload.get("type") == "inquiry"]
    assert (row.chat_id, row.payload["inquiry_id"], row.organization_id) == (-100_901, waiting, "registry")

    with pytest.raises(NotFound):  # a forged button of another agency's inquiry
        async with unit_of_work(factory, write=True) as session:
            await inquiries.show_card(session, waiting, GAS_STAFF, platform="bale", chat_id=9902)
    with pytest.raises(TransitionError):
        async with unit_of_work(factory, write=True) as session:
            await inquiries.show_card(
                session, answered, REGISTRY_STAFF, platform="telegram", chat_id=-100_901
            )
    assert len([row for row in await outbox(factory) if row.payload.get("type") == "inquiry"]) == 1


async def test_an_agencys_report_counts_what_it_received_answered_on_time_and_still_owes(
    factory: Factory,
) -> None:
    request_id, _ = await file_request(factory)
    registry = "registry"
    # Answered in April: on time in 2 working days (Wednesday 1 to Sunday 5, Thursday and Friday off) ...
    await add(
        factory,
        request_id,
        registry,
        asked=date(2026, 4, 1),
        due=date(2026, 4, 15),
        state="answered",
        answered=date(2026, 4, 5),
    )
    # ... late in 12 (Saturday 4 to Monday 20) ...
    await add(
        factory,
        request_id,
        registry,
        asked=date(2026, 4, 4),
        due=date(2026, 4, 15),
        state="answered",
        answered=date(2026, 4, 20),
    )
    # ... "not ours" the next day ...
    await add(
        factory,
        request_id,
        registry,
        asked=date(2026, 4, 6),
        due=date(2026, 4, 16),
        state="not_ours",
        answered=date(2026, 4, 7),
    )
    # ... and one asked in March, answered on time in 5 (Wednesday 25 March to Wednesday 1 April).
    await add(
        factory,
        request_id,
        registry,
        asked=date(2026, 3, 25),
        due=date(2026, 4, 8),
        state="answered",
        answered=date(2026, 4, 1),
    )
    # Still waiting: one past its due date, one asking the municipality for more; one answered in May.
    await add(factory, request_id, registry, asked=date(2026, 4, 10), due=date(2026, 4, 19))
    await add(
        factory, request_id, registry, asked=date(2026, 4, 12), due=date(2026, 4, 26), state="need_more"
    )
    await add(
        factory,
        request_id,
        registry,
        asked=date(2026, 4, 5),
        due=date(2026, 4, 25),
        state="answered",
        answered=date(2026, 5, 2),
    )
    # Another agency's inquiry counts nowhere here.
    await add(
        factory,
        request_id,
        "gas",
        asked=date(2026, 4, 2),
        due=date(2026, 4, 9),
        state="answered",
        answered=date(2026, 4, 30),
    )

    async with factory() as session:
        figures = await inquiry_figures(
            session, APRIL, ReportViewer(registry, Actor.CLERK), registry, today=TODAY, calendar=WEEKEND
        )
    assert figures.received == 6
    assert (figures.answered, figures.not_ours) == (4, 1)
    assert figures.on_time == Rate(3, 4)
    assert figures.answer_median == 2, "1, 2, 5 and 12 working days"
    assert (figures.open_now, figures.overdue_now) == (2, 1)
    text = inquiry_report_text(figures, "اداره ثبت اسناد", "fa")
    assert "استعلام رسیده: ۶ · پاسخ‌داده: ۴" in text
    assert "موارد کم (۳ از ۴)" in text, "four cases are too few for a percentage"
    assert "میانه ۲" in text
    assert "در انتظار پاسخ در این لحظه: ۲ · گذشته از موعد: ۱" in text


async def test_only_the_agency_and_the_governorate_may_read_its_report(factory: Factory) -> None:
    async with factory() as session:
        with pytest.raises(NotFound):
            await inquiry_figures(
                session, APRIL, ReportViewer("gas", Actor.CLERK), "registry", today=TODAY, calendar=WEEKEND
            )
        overseen = await inquiry_figures(
            session,
            APRIL,
            ReportViewer("governorate", Actor.CLERK, governorate=True),
            "registry",
            today=TODAY,
            calendar=WEEKEND,
        )
    assert overseen.received == 0
