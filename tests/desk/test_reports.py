"""The report's figures against a month worked out by hand (Azar 1405: 2026-11-22 to 2026-12-21).

Organization ``a`` closes on Fridays and on the holiday of Wednesday 2026-11-25; ``b`` closes on Thursdays and
Fridays. Each request below says what it is for; the expected figures are counted by hand in the tests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from desk.calendar import WorkCalendar
from desk.errors import NotFound
from desk.lifecycle import Actor
from desk.reports import (
    Breakdown,
    Figures,
    Period,
    Rate,
    ReportViewer,
    Satisfaction,
    check_report_access,
    figures,
    first_response_hours,
    nearest_rank,
)
from storage.models import (
    Certificate,
    Citizen,
    OutboxMessage,
    Payment,
    RequestEvent,
    ServiceRequest,
    SurveyAnswer,
)
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]

AZAR = Period(date(2026, 11, 22), date(2026, 12, 21))
TODAY = date(2026, 12, 21)
CALENDARS = {
    "a": WorkCalendar(frozenset({4}), frozenset({date(2026, 11, 25)})),
    "b": WorkCalendar(frozenset({3, 4})),
    "gov": WorkCalendar(),
}


def local(day: str, clock: str = "09:00") -> datetime:
    """A Tehran wall-clock time (UTC+03:30) as the aware UTC time the tables keep."""
    hours, minutes = (int(p) for p in clock.split(":"))
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, hours, minutes, tzinfo=UTC) - timedelta(hours=3, minutes=30)


class World:
    def __init__(self, session: AsyncSession, citizen_id: int, ids: dict[str, str]) -> None:
        self.session = session
        self.citizen_id = citizen_id
        self.ids = ids
        self.n = 0

    async def request(
        self,
        org: str,
        *,
        submitted: datetime,
        status: str,
        deadline: str | None = None,
        closed: datetime | None = None,
        first: datetime | None = None,
        first_by: str = "clerk",
        clerk: int | None = 50,
        service: str = "permit",
        about: str | None = None,
        answers: dict[str, Any] | None = None,
        score: int | None = None,
        comment: str | None = None,
    ) -> ServiceRequest:
        self.n += 1
        org, about = self.ids.get(org, org), self.ids.get(about or org, about or org)
        request = ServiceRequest(
            tracking_code=f"T{self.n:05d}",
            citizen_id=self.citizen_id,
            organization_id=org,
            about_organization_id=about,
            service_id=service,
            service_version="v1",
            answers=answers or {},
            status=status,
            assignee_platform="bale" if clerk else None,
            assignee_user_id=clerk,
            deadline=date.fromisoformat(deadline) if deadline else None,
            created_at=submitted,
            updated_at=submitted,
            submitted_at=submitted,
            closed_at=closed,
        )
        self.session.add(request)
        await self.session.flush()
        assert request.id is not None
        if first is not None:
            self.session.add(
                RequestEvent(
                    request_id=request.id,
                    at=first,
                    actor_kind=first_by,
                    from_status="submitted",
                    to_status="in_progress",
                )
            )
        if score is not None:
            assert closed is not None
            self.session.add(
                SurveyAnswer(
                    request_id=request.id, score=score, comment=comment, created_at=closed, updated_at=closed
                )
            )
        return request


async def fill(factory: Factory, ids: dict[str, str] | None = None) -> None:
    """The month, as the tests count it; ``ids`` renames the organizations ``a``, ``b`` and ``gov``."""
    ids = ids or {}
    async with unit_of_work(factory, write=True) as session:
        citizen = Citizen(platform="bale", user_id=1, chat_id=1)
        session.add(citizen)
        await session.flush()
        assert citizen.id is not None
        w = World(session, citizen.id, ids)
        # R1: answered in 2 h, done in 2 working days, on time; 5 with a comment.
        await w.request(
            "a", submitted=local("2026-11-22"), first=local("2026-11-22", "11:00"), status="completed",
            closed=local("2026-11-24", "10:00"), deadline="2026-11-24", score=5, comment="عالی",
        )  # fmt: skip
        # R2: answered in 24 h, done in 5 working days (the holiday and a Friday between), late; 2.
        await w.request(
            "a", submitted=local("2026-11-22", "10:00"), first=local("2026-11-23", "10:00"), status="completed",
            closed=local("2026-11-29", "12:00"), deadline="2026-11-26", score=2,
        )  # fmt: skip
        # R3: filed on a Thursday night, answered Saturday morning: 36 h less the Friday = 12; 1 day; on time; 4.
        await w.request(
            "a", submitted=local("2026-11-26", "20:00"), first=local("2026-11-28", "08:00"), status="completed",
            closed=local("2026-11-28", "14:00"), deadline="2026-11-29", score=4,
        )  # fmt: skip
        # R4: rejected unclaimed after 1 h 30 (1 whole hour), the same day (0 days); 1 with a comment.
        await w.request(
            "a", submitted=local("2026-11-23", "08:00"), first=local("2026-11-23", "09:30"), status="rejected",
            closed=local("2026-11-23", "09:30"), deadline="2026-11-25", clerk=None, score=1, comment="بد",
        )  # fmt: skip
        # R5: withdrawn by the citizen: no first response from staff.
        await w.request(
            "a", submitted=local("2026-11-24", "08:00"), first=local("2026-11-24", "12:00"), first_by="citizen",
            status="withdrawn", closed=local("2026-11-24", "12:00"), deadline="2026-11-26", clerk=None,
        )  # fmt: skip
        # R6: answered in 4 h, still in progress and overdue.
        await w.request(
            "a", submitted=local("2026-11-30"), first=local("2026-11-30", "13:00"), status="in_progress",
            deadline="2026-12-05",
        )  # fmt: skip
        # R7: submitted, not yet due.
        await w.request(
            "a", submitted=local("2026-12-20", "10:00"), status="submitted", deadline="2026-12-23", clerk=None
        )
        # R8: filed the month before, completed on the holiday, late: 34 working days.
        await w.request(
            "a", submitted=local("2026-10-15"), first=local("2026-10-15", "10:00"), status="completed",
            closed=local("2026-11-25", "10:00"), deadline="2026-10-20", clerk=51,
        )  # fmt: skip
        # R9: the last evening of the month (already the next day in UTC? no: 19:30 UTC the same day).
        await w.request(
            "a", submitted=local("2026-12-21", "23:00"), status="submitted", deadline="2026-12-24", clerk=None
        )
        # R10: half past midnight of the next month, still 2026-12-21 in UTC: not this month's.
        await w.request(
            "a", submitted=local("2026-12-22", "00:30"), status="submitted", deadline="2026-12-25", clerk=None
        )
        # R11: answered in 3 h, done in 2 working days, on time; 5.
        await w.request(
            "a", submitted=local("2026-12-06"), first=local("2026-12-06", "12:00"), status="completed",
            closed=local("2026-12-08", "10:00"), deadline="2026-12-08", score=5,
        )  # fmt: skip
        # Complaints about a: a named one, a named objection, an anonymous one the governorate handles.
        await w.request(
            "a", submitted=local("2026-12-02"), status="submitted", service="complaint", clerk=None,
            answers={"subject": "conduct"},
        )  # fmt: skip
        await w.request(
            "a", submitted=local("2026-12-03"), status="submitted", service="complaint", clerk=None,
            answers={"subject": "decision", "related_tracking_code": "T00002"},
        )  # fmt: skip
        await w.request(
            "gov", about="a", submitted=local("2026-12-04"), status="submitted", service="complaint", clerk=None,
            answers={"subject": "conduct", "anonymous": True},
        )  # fmt: skip
        # B1: b answers at once and finishes the same day: too few cases for a rate.
        await w.request(
            "b", submitted=local("2026-11-22"), first=local("2026-11-22", "09:20"), status="completed",
            closed=local("2026-11-22", "15:00"), deadline="2026-11-23", clerk=60,
        )  # fmt: skip

        def sms(
            status: str, sent: datetime | None, cost: int | None, n: int, channel: str = "sms"
        ) -> OutboxMessage:
            return OutboxMessage(
                channel=channel, phone="09120000000", organization_id=ids.get("a", "a"), dedupe_key=f"sms-{n}",
                status=status, sent_at=sent, cost_rials=cost,
            )  # fmt: skip

        session.add_all(
            [
                sms("sent", local("2026-11-23"), 1200, 1),
                sms("sent", local("2026-12-21", "22:00"), 800, 2),
                sms("failed", None, None, 3),
                sms("sent", local("2026-11-21"), 900, 4),
                sms("sent", local("2026-11-23"), None, 5, channel="chat"),
            ]
        )

        def certificate(issued: str, n: int) -> Certificate:
            return Certificate(
                organization_id=ids.get("a", "a"), type="completion", holder_name="x", holder_national_id="0000000000",
                property="p", issued_on=date.fromisoformat(issued), verification_code=f"C{n}", issued_by="t",
            )  # fmt: skip

        session.add_all(
            [certificate("2026-11-24", 1), certificate("2026-12-21", 2), certificate("2026-12-22", 3)]
        )

        def payment(status: str, paid: datetime | None, request_id: int | None, n: int) -> Payment:
            return Payment(
                organization_id=ids.get("a", "a"), amount_rials=500_000, bill_id="1", payment_id="1", status=status,
                invoice_payload=f"p{n}", paid_at=paid, request_id=request_id,
            )  # fmt: skip

        session.add_all(
            [
                payment("paid", local("2026-12-01"), None, 1),
                payment("paid", local("2026-12-01"), 1, 2),
                payment("pending", None, None, 3),
            ]
        )


async def report(factory: Factory, **kwargs: Any) -> dict[str, Figures]:
    async with unit_of_work(factory) as session:
        return await figures(session, AZAR, today=TODAY, calendar_of=CALENDARS.__getitem__, **kwargs)


async def test_an_organizations_own_month_matches_the_hand_count(factory: Factory) -> None:
    await fill(factory)
    a = (await report(factory))["a"]
    assert (
        a
        == Figures(
            key="a",
            filed=11,  # R1-R7, R9, R11 and the two named complaints; not R8 (before), R10 (after), the anonymous one
            completed=5,  # R1, R2, R3, R8, R11
            rejected=1,
            withdrawn=1,
            open_now=6,  # R6, R7, R9, R10 (open now, whenever filed) and the two complaints
            overdue_now=1,  # R6
            on_time=Rate(3, 5),  # R1, R3, R11 of the five completed
            handling_median=2,  # 0 1 2 2 5 34
            handling_p90=34,
            first_response_median=3,  # 1 2 3 4 12 24
            satisfaction=Satisfaction((1, 1, 0, 1, 2), comments=2),
            complaints=2,
            objections=1,
            sms_sent=2,
            sms_cost_rials=2000,
            certificates=2,
            dues_paid=1,
            dues_paid_rials=500_000,
        )
    )
    assert a.on_time.value == pytest.approx(0.6)
    assert a.satisfaction.average == pytest.approx(3.4)
    assert a.satisfaction.satisfied.value == pytest.approx(0.6)


async def test_a_rate_of_too_few_cases_has_no_value(factory: Factory) -> None:
    await fill(factory)
    b = (await report(factory))["b"]
    assert (b.filed, b.completed, b.handling_median, b.first_response_median) == (1, 1, 0, 0)
    assert b.on_time == Rate(1, 1)
    assert b.on_time.value is None
    assert b.satisfaction.average is None


async def test_an_anonymous_complaint_counts_for_the_governorate_only(factory: Factory) -> None:
    await fill(factory)
    own = (await report(factory, organizations=["a"]))["a"]
    overseen = (await report(factory, include_anonymous=True))["a"]
    assert (own.complaints, own.objections) == (2, 1)
    assert (overseen.complaints, overseen.objections) == (3, 1)
    assert (await report(factory))["gov"].filed == 1


async def test_figures_by_service_and_by_clerk(factory: Factory) -> None:
    await fill(factory)
    services = await report(factory, breakdown=Breakdown.SERVICE, organizations=["a"])
    assert {k: (f.filed, f.completed, f.open_now) for k, f in services.items()} == {
        "permit": (9, 5, 4),
        "complaint": (2, 0, 2),
    }
    clerks = await report(factory, breakdown=Breakdown.CLERK, organizations=["a"])
    assert {k: (f.completed, f.on_time, f.open_now) for k, f in clerks.items()} == {
        "bale:50": (4, Rate(3, 4), 1),  # R1, R2, R3, R11; R6 open
        "bale:51": (1, Rate(0, 1), 0),  # R8
    }
    assert clerks["bale:50"].satisfaction.distribution == (0, 1, 0, 1, 2)


def test_nearest_rank_and_working_hours() -> None:
    assert nearest_rank({}, 0.5) is None
    assert nearest_rank({3: 1}, 0.9) == 3
    assert nearest_rank({1: 2, 7: 2}, 0.5) == 1
    assert nearest_rank({1: 2, 7: 3}, 0.5) == 7
    calendar = WorkCalendar(frozenset({3, 4}))  # Thursday and Friday off
    # Wednesday 20:00 to Saturday 08:00 is 60 hours, less Thursday and Friday.
    assert first_response_hours(calendar, date(2026, 11, 25), date(2026, 11, 28), 60) == 12
    assert first_response_hours(calendar, date(2026, 11, 26), date(2026, 11, 26), 3) == 3


def test_periods_follow_the_jalali_calendar() -> None:
    assert Period.jalali_month(date(2026, 12, 5)) == AZAR
    assert Period.jalali_month(date(2026, 12, 5), months_back=1) == Period(
        date(2026, 10, 23), date(2026, 11, 21)
    )
    assert Period.jalali_month(date(2026, 3, 25), months_back=1) == Period(
        date(2026, 2, 20), date(2026, 3, 20)
    )
    assert Period.week(date(2026, 12, 2)) == Period(
        date(2026, 11, 28), date(2026, 12, 4)
    )  # Saturday to Friday
    assert Period.last_days(TODAY, 30) == Period(date(2026, 11, 22), TODAY)
    assert [p.first.day for p in AZAR.weeks()][:2] == [22, 28]


def test_who_may_see_which_report() -> None:
    clerk = ReportViewer("a", Actor.CLERK)
    supervisor = ReportViewer("a", Actor.SUPERVISOR)
    governorate = ReportViewer("gov", Actor.CLERK, governorate=True)
    check_report_access(clerk, "a", Breakdown.ORGANIZATION)
    check_report_access(clerk, "a", Breakdown.SERVICE)
    check_report_access(supervisor, "a", Breakdown.CLERK)
    check_report_access(governorate, None, Breakdown.ORGANIZATION)
    check_report_access(governorate, "a", Breakdown.CLERK)
    for viewer, org, breakdown in [
        (clerk, "a", Breakdown.CLERK),
        (clerk, "b", Breakdown.ORGANIZATION),
        (clerk, None, Breakdown.ORGANIZATION),
        (supervisor, "b", Breakdown.CLERK),
    ]:
        with pytest.raises(NotFound):
            check_report_access(viewer, org, breakdown)
