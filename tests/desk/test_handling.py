"""Working requests from the operator group and the citizen's own moves, on SQLite and PostgreSQL.

Each test acts as the bot's handlers will: a use case inside ``unit_of_work(factory, write=True)``, then a look at
what was stored (the request, its events) and queued (outbox rows and their payloads).
"""

from __future__ import annotations

import asyncio
import re
import string
from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from desk import handling
from desk.calendar import WorkCalendar
from desk.errors import NotFound, TransitionError, ValidationError
from desk.handling import (
    ActorRef,
    Change,
    add_note,
    ask_information,
    ask_payment,
    citizen_answered,
    claim,
    complete,
    reject,
    resume,
    withdraw,
)
from desk.i18n import LOCALES_DIR, translator
from desk.inquiries import Agency, send_inquiries
from desk.lifecycle import Actor, Status
from desk.requests import Submission, submit_request, track
from storage.models import Citizen, Inquiry, OutboxMessage, RequestEvent, ServiceRequest
from storage.repositories import Citizens, Events, Requests
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]

ORG = "falavarjan"
GROUPS = {"telegram": -100_501, "bale": 4242}
CLERK = ActorRef(Actor.CLERK, "telegram", 501, "رضا", organization_id=ORG)
OTHER_CLERK = ActorRef(Actor.CLERK, "bale", 502, "مینا", organization_id=ORG)
SNAPSHOT: dict[str, Any] = {
    "id": "renovation_fee",
    "title": {"fa": "پرداخت عوارض نوسازی", "en": "Renovation fee"},
    "duration_days": 3,
    "form": [],
    "documents": [],
}

_keys = iter(range(1, 1_000_000))


async def file_request(
    factory: Factory, *, platform: str = "telegram", user_id: int = 1001, locale: str = "fa"
) -> tuple[int, str]:
    """A submitted request of the citizen ``platform:user_id`` (who reads ``locale``): (id, tracking code)."""
    async with unit_of_work(factory, write=True) as session:
        result = await submit_request(
            session,
            Submission(
                platform=platform,
                user_id=user_id,
                chat_id=user_id + 10,
                first_name="زهرا",
                last_name=None,
                username=None,
                organization_id=ORG,
                service_id="renovation_fee",
                service_version="v1",
                service_snapshot=SNAPSHOT,
                answers={},
                documents=[],
                idempotency_key=f"handling-{next(_keys)}",
                calendar=WorkCalendar(),
                today=date(2026, 4, 1),
            ),
        )
        citizen = await Citizens(session).find(platform, user_id)
        assert citizen is not None
        await Citizens(session).set_locale(citizen, locale)
    return result.request_id, result.tracking_code


async def act(
    factory: Factory, use_case: Callable[..., Awaitable[Change]], *args: Any, **kwargs: Any
) -> Change:
    async with unit_of_work(factory, write=True) as session:
        return await use_case(session, *args, **kwargs)


async def clerk_acts(
    factory: Factory,
    use_case: Callable[..., Awaitable[Change]],
    request_id: int,
    *args: Any,
    seen: Status,
    actor: ActorRef = CLERK,
) -> Change:
    return await act(factory, use_case, request_id, actor, *args, seen_status=seen, groups=GROUPS)


async def ask_an_agency(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    agency: str,
    *,
    seen_status: Status,
    groups: Mapping[str, int],
) -> list[Inquiry]:
    """How a request comes to wait for another agency: an inquiry sent to it (``desk.inquiries``)."""
    asked = Agency("registry", agency, 10, {}, WorkCalendar())
    return await send_inquiries(
        session,
        request_id,
        actor,
        [asked],
        "آیا پلاک بازداشت است؟",
        seen_status=seen_status,
        groups=groups,
        today=date(2026, 4, 1),
    )


async def stored(factory: Factory, request_id: int) -> ServiceRequest:
    async with factory() as session:
        request = await Requests(session).get(request_id)
        assert request is not None
        return request


async def all_events(factory: Factory, request_id: int) -> list[RequestEvent]:
    async with factory() as session:
        return list(await Events(session).history(request_id, public_only=False))


async def outbox(factory: Factory) -> list[OutboxMessage]:
    async with factory() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def count(factory: Factory, model: type) -> int:
    async with factory() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def snapshot_counts(factory: Factory) -> tuple[int, int]:
    return await count(factory, RequestEvent), await count(factory, OutboxMessage)


def rows_for(rows: list[OutboxMessage], suffix: str) -> list[OutboxMessage]:
    return [row for row in rows if row.dedupe_key.endswith(suffix)]


def the_row(rows: list[OutboxMessage], dedupe_key: str) -> OutboxMessage:
    found = [row for row in rows if row.dedupe_key == dedupe_key]
    assert len(found) == 1, [row.dedupe_key for row in rows]
    return found[0]


def render(payload: dict[str, Any]) -> str:
    """A text payload as the outbox sender will word it (before HTML or Bale rendering)."""
    translate = translator(payload["lang"])
    params = dict(payload["params"])
    params.update({name: translate(key) for name, key in payload["labels"].items()})
    return translate(payload["key"], **params)


def _fa_code(code: str) -> str:
    """The tracking code as a Persian reader sees it: '۱۲۳۴-۵۶۷۸-۹۰۱۲', isolated left-to-right (LRI ... PDI)."""
    digits = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    grouped = "-".join(code[i : i + 4] for i in range(0, len(code), 4)).translate(digits)
    return f"\u2066{grouped}\u2069"


async def claimed(factory: Factory, **citizen: Any) -> tuple[int, str]:
    request_id, code = await file_request(factory, **citizen)
    await clerk_acts(factory, claim, request_id, seen=Status.SUBMITTED)
    return request_id, code


# The actor.


def test_an_actor_is_stored_as_platform_and_user_id() -> None:
    assert CLERK.actor_id == "telegram:501"
    assert CLERK.account == ("telegram", 501)
    assert ActorRef(Actor.SYSTEM).actor_id is None


@pytest.mark.parametrize(
    ("platform", "user_id"),
    [("telegram", None), (None, 5), ("whatsapp", 5)],
    ids=["no user", "no platform", "bad"],
)
def test_an_incomplete_or_unknown_account_is_a_programming_error(
    platform: str | None, user_id: int | None
) -> None:
    with pytest.raises(ValueError, match="platform"):
        ActorRef(Actor.CLERK, platform, user_id, None)


async def test_a_citizen_cannot_use_the_clerks_actions(factory: Factory) -> None:
    request_id, _ = await file_request(factory)
    citizen = ActorRef(Actor.CITIZEN, "telegram", 1001, None)
    with pytest.raises(ValueError, match="citizen"):
        await clerk_acts(factory, claim, request_id, seen=Status.SUBMITTED, actor=citizen)


# Claiming.


async def test_claiming_a_new_request_takes_it_and_tells_the_citizen_and_the_groups(factory: Factory) -> None:
    request_id, code = await file_request(factory)

    change = await clerk_acts(factory, claim, request_id, seen=Status.SUBMITTED)

    assert (change.from_status, change.to_status, change.assignee) == (
        Status.SUBMITTED,
        Status.IN_PROGRESS,
        ("telegram", 501),
    )
    assert (change.request_id, change.tracking_code, change.organization_id) == (request_id, code, ORG)
    request = await stored(factory, request_id)
    assert (request.status, request.assignee_platform, request.assignee_user_id) == (
        "in_progress",
        "telegram",
        501,
    )
    last = (await all_events(factory, request_id))[-1]
    assert last.id == change.event_id
    assert (last.actor_kind, last.actor_id, last.from_status, last.to_status, last.public) == (
        "clerk",
        "telegram:501",
        "submitted",
        "in_progress",
        True,
    )

    rows = await outbox(factory)
    citizen = the_row(rows, f"event:{change.event_id}:citizen")
    assert (citizen.platform, citizen.chat_id, citizen.organization_id, citizen.request_id) == (
        "telegram",
        1011,
        ORG,
        request_id,
    )
    assert citizen.payload == {
        "type": "text",
        "key": "notify.citizen.in_progress",
        "lang": "fa",
        "params": {"code": _fa_code(code), "title": "پرداخت عوارض نوسازی", "org": ORG},
        "labels": {"status": "desk.status.in_progress"},
        "dates": {},
        "buttons": [[{"label": "notify.answer", "data": f"reply:{request_id}"}]],
        "reply_to": None,
    }
    for platform, chat_id in GROUPS.items():
        card = the_row(rows, f"event:{change.event_id}:card:{platform}")
        assert (card.platform, card.chat_id, card.payload) == (
            platform,
            chat_id,
            {"type": "card", "request_id": request_id},
        )
    assert len(rows) == 3  # no survey, no relay


async def test_the_citizens_text_never_names_the_clerk(factory: Factory) -> None:
    request_id, _ = await claimed(factory)
    await clerk_acts(factory, reject, request_id, "خارج از حوزه شهرداری", seen=Status.IN_PROGRESS)

    for row in await outbox(factory):
        if row.payload["type"] == "text":
            text = render(row.payload)
            assert "رضا" not in text
            assert "501" not in text


async def test_claiming_a_request_someone_else_holds_reassigns_it_quietly(factory: Factory) -> None:
    request_id, _ = await claimed(factory)
    before = len(await outbox(factory))

    change = await clerk_acts(factory, claim, request_id, seen=Status.IN_PROGRESS, actor=OTHER_CLERK)

    assert (change.from_status, change.to_status, change.assignee) == (
        Status.IN_PROGRESS,
        Status.IN_PROGRESS,
        ("bale", 502),
    )
    assert not change.changed
    event = (await all_events(factory, request_id))[-1]
    assert (event.actor_id, event.to_status, event.text, event.public) == ("bale:502", None, None, False)
    new_rows = (await outbox(factory))[before:]
    assert sorted(row.dedupe_key for row in new_rows) == sorted(
        f"event:{change.event_id}:card:{platform}" for platform in GROUPS
    )


async def test_claiming_ones_own_request_again_is_refused(factory: Factory) -> None:
    request_id, _ = await claimed(factory)
    with pytest.raises(TransitionError) as caught:
        await clerk_acts(factory, claim, request_id, seen=Status.IN_PROGRESS)
    assert caught.value.key == "desk.handling.already_yours"


async def test_a_finished_request_cannot_be_claimed(factory: Factory) -> None:
    request_id, _ = await claimed(factory)
    await clerk_acts(factory, complete, request_id, None, seen=Status.IN_PROGRESS)
    with pytest.raises(TransitionError) as caught:
        await clerk_acts(factory, claim, request_id, seen=Status.COMPLETED, actor=OTHER_CLERK)
    assert caught.value.key == "desk.transition.closed"


async def test_a_clerk_of_another_organization_finds_nothing(factory: Factory) -> None:
    request_id, _ = await file_request(factory)
    stranger = ActorRef(Actor.CLERK, "telegram", 777, None, organization_id="baharan")
    before = await snapshot_counts(factory)
    with pytest.raises(NotFound):
        await clerk_acts(factory, claim, request_id, seen=Status.SUBMITTED, actor=stranger)
    assert await snapshot_counts(factory) == before


async def test_an_unknown_request_is_not_found(factory: Factory) -> None:
    with pytest.raises(NotFound):
        await clerk_acts(factory, claim, 999_999, seen=Status.SUBMITTED)


# A stale card, concurrency, rollback.


@pytest.mark.parametrize(
    ("use_case", "args"),
    [
        (claim, ()),
        (ask_information, ("کپی سند",)),
        (reject, ("خارج از حوزه",)),
        (complete, ("انجام شد",)),
    ],
    ids=["claim", "ask_information", "reject", "complete"],
)
async def test_an_action_from_a_stale_card_is_refused_and_writes_nothing(
    factory: Factory, use_case: Callable[..., Awaitable[Change]], args: tuple[Any, ...]
) -> None:
    request_id, _ = await claimed(factory)
    before = await snapshot_counts(factory)

    with pytest.raises(TransitionError) as caught:
        await clerk_acts(factory, use_case, request_id, *args, seen=Status.SUBMITTED, actor=OTHER_CLERK)

    assert caught.value.key == "desk.handling.changed"
    assert caught.value.params == {"status": Status.IN_PROGRESS}
    assert "desk." not in caught.value.render("fa")
    assert await snapshot_counts(factory) == before
    request = await stored(factory, request_id)
    assert (request.status, request.assignee_user_id) == ("in_progress", 501)


async def test_two_clerks_claiming_at_once_one_wins(factory: Factory) -> None:
    request_id, _ = await file_request(factory)

    async def claim_slowly(actor: ActorRef) -> Change:
        async with unit_of_work(factory, write=True) as session:
            change = await claim(session, request_id, actor, seen_status=Status.SUBMITTED, groups=GROUPS)
            await asyncio.sleep(0.2)  # hold the lock while the other clerk presses
            return change

    results = await asyncio.gather(claim_slowly(CLERK), claim_slowly(OTHER_CLERK), return_exceptions=True)

    changes = [r for r in results if isinstance(r, Change)]
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(changes) == 1
    assert len(errors) == 1
    assert isinstance(errors[0], TransitionError)
    assert errors[0].key == "desk.handling.changed"
    request = await stored(factory, request_id)
    assert (request.assignee_platform, request.assignee_user_id) == changes[0].assignee
    claims = [e for e in await all_events(factory, request_id) if e.to_status == "in_progress"]
    assert len(claims) == 1
    assert len(rows_for(await outbox(factory), ":citizen")) == 1


async def test_nothing_is_queued_when_the_transaction_rolls_back(factory: Factory) -> None:
    request_id, _ = await file_request(factory)

    async def claim_then_fail() -> None:
        async with unit_of_work(factory, write=True) as session:
            await claim(session, request_id, CLERK, seen_status=Status.SUBMITTED, groups=GROUPS)
            raise RuntimeError("handler failed after the use case")

    with pytest.raises(RuntimeError, match="handler failed"):
        await claim_then_fail()

    assert await outbox(factory) == []
    assert (await stored(factory, request_id)).status == "submitted"
    assert len(await all_events(factory, request_id)) == 1


# Asking for information, another agency, payment.


async def test_asking_for_information_on_a_new_request_claims_it_on_the_way(factory: Factory) -> None:
    request_id, _ = await file_request(factory)

    change = await clerk_acts(
        factory, ask_information, request_id, "  تصویر سند مالکیت  ", seen=Status.SUBMITTED
    )

    assert (change.from_status, change.to_status, change.assignee) == (
        Status.SUBMITTED,
        Status.NEEDS_INFO,
        ("telegram", 501),
    )
    steps = [(e.from_status, e.to_status, e.text, e.public) for e in await all_events(factory, request_id)]
    assert steps[1:] == [
        ("submitted", "in_progress", None, True),
        ("in_progress", "needs_info", "تصویر سند مالکیت", True),
    ]
    rows = await outbox(factory)
    assert len(rows_for(rows, ":citizen")) == 1  # one message for the two steps
    notice = the_row(rows, f"event:{change.event_id}:citizen").payload
    assert notice["key"] == "notify.citizen.needs_info"
    assert notice["params"]["text"] == "تصویر سند مالکیت"
    assert notice["labels"] == {"status": "desk.status.needs_info"}
    assert "تصویر سند مالکیت" in render(notice)


@pytest.mark.parametrize("use_case", [ask_information, reject])
@pytest.mark.parametrize("blank", ["", "   \n "])
async def test_a_reason_is_required_and_a_blank_one_writes_nothing(
    factory: Factory, use_case: Callable[..., Awaitable[Change]], blank: str
) -> None:
    request_id, _ = await claimed(factory)
    before = await snapshot_counts(factory)

    with pytest.raises(TransitionError) as caught:
        await clerk_acts(factory, use_case, request_id, blank, seen=Status.IN_PROGRESS)

    assert caught.value.key == "desk.transition.reason_required"
    assert await snapshot_counts(factory) == before


async def test_a_too_long_text_is_refused(factory: Factory) -> None:
    request_id, _ = await claimed(factory)
    with pytest.raises(ValidationError) as caught:
        await clerk_acts(
            factory, ask_information, request_id, "ب" * (handling.TEXT_MAX + 1), seen=Status.IN_PROGRESS
        )
    assert caught.value.key == "desk.text.too_long"


async def test_asking_for_payment_stores_the_amount_and_tells_it_in_persian(factory: Factory) -> None:
    request_id, _ = await claimed(factory)

    change = await clerk_acts(factory, ask_payment, request_id, 1_250_000, seen=Status.IN_PROGRESS)

    assert (change.to_status, change.amount_rials) == (Status.AWAITING_PAYMENT, 1_250_000)
    event = (await all_events(factory, request_id))[-1]
    assert (event.to_status, event.text, event.public) == ("awaiting_payment", "1250000", True)
    notice = the_row(await outbox(factory), f"event:{change.event_id}:citizen").payload
    assert notice["key"] == "notify.citizen.awaiting_payment"
    assert notice["params"]["amount"] == "۱٬۲۵۰٬۰۰۰"
    assert "۱٬۲۵۰٬۰۰۰ ریال" in render(notice)


async def test_a_citizen_who_reads_english_hears_in_english(factory: Factory) -> None:
    request_id, code = await claimed(factory, platform="bale", user_id=3003, locale="en")

    change = await clerk_acts(factory, ask_payment, request_id, 1_250_000, seen=Status.IN_PROGRESS)

    row = the_row(await outbox(factory), f"event:{change.event_id}:citizen")
    assert (row.platform, row.chat_id) == ("bale", 3013)
    assert row.payload["lang"] == "en"
    assert row.payload["params"]["amount"] == "1,250,000"
    assert row.payload["params"]["title"] == "Renovation fee"
    assert (
        row.payload["params"]["code"]
        == "\u2066" + "-".join(code[i : i + 4] for i in range(0, 12, 4)) + "\u2069"
    )
    assert "1,250,000 rials" in render(row.payload)


@pytest.mark.parametrize("amount", [0, -5, True], ids=["zero", "negative", "bool"])
async def test_an_amount_must_be_a_positive_number_of_rials(factory: Factory, amount: int) -> None:
    request_id, _ = await claimed(factory)
    before = await snapshot_counts(factory)
    with pytest.raises(ValidationError) as caught:
        await clerk_acts(factory, ask_payment, request_id, amount, seen=Status.IN_PROGRESS)
    assert caught.value.key == "desk.handling.amount"
    assert await snapshot_counts(factory) == before


# Resuming.


@pytest.mark.parametrize(
    ("use_case", "arg", "status"),
    [
        (ask_an_agency, "اداره ثبت", Status.WAITING_EXTERNAL),
        (ask_payment, 500_000, Status.AWAITING_PAYMENT),
        (ask_information, "نقشه ملک", Status.NEEDS_INFO),
    ],
    ids=["after the agency", "after payment", "after an answer at the counter"],
)
async def test_resuming_takes_the_work_up_again(
    factory: Factory, use_case: Callable[..., Awaitable[Change]], arg: Any, status: Status
) -> None:
    request_id, _ = await claimed(factory)
    await clerk_acts(factory, use_case, request_id, arg, seen=Status.IN_PROGRESS)

    change = await clerk_acts(factory, resume, request_id, seen=status)

    assert (change.from_status, change.to_status) == (status, Status.IN_PROGRESS)
    notice = the_row(await outbox(factory), f"event:{change.event_id}:citizen").payload
    assert notice["key"] == "notify.citizen.resumed"


async def test_resuming_a_request_in_progress_is_refused(factory: Factory) -> None:
    request_id, _ = await claimed(factory)
    with pytest.raises(TransitionError) as caught:
        await clerk_acts(factory, resume, request_id, seen=Status.IN_PROGRESS)
    assert caught.value.key == "desk.transition.unchanged"


# Completing and rejecting.


async def test_completing_closes_the_request_and_asks_the_survey(factory: Factory) -> None:
    request_id, code = await claimed(factory)

    change = await clerk_acts(factory, complete, request_id, "گواهی صادر شد.", seen=Status.IN_PROGRESS)

    request = await stored(factory, request_id)
    assert request.status == "completed"
    assert request.closed_at is not None
    rows = await outbox(factory)
    notice = the_row(rows, f"event:{change.event_id}:citizen").payload
    assert notice["key"] == "notify.citizen.completed_text"
    assert "گواهی صادر شد." in render(notice)
    survey = the_row(rows, f"event:{change.event_id}:survey")
    assert (survey.platform, survey.chat_id) == ("telegram", 1011)
    assert survey.payload["key"] == "notify.survey.ask"
    assert survey.payload["lang"] == "fa"
    assert survey.payload["buttons"] == [
        [{"label": f"notify.survey.score.{n}", "data": f"rate:{request_id}:{n}"} for n in range(1, 6)]
    ]
    assert _fa_code(code) in render(survey.payload)


async def test_completing_without_a_result_text_says_it_is_done(factory: Factory) -> None:
    request_id, _ = await claimed(factory)
    change = await clerk_acts(factory, complete, request_id, "  ", seen=Status.IN_PROGRESS)
    notice = the_row(await outbox(factory), f"event:{change.event_id}:citizen").payload
    assert notice["key"] == "notify.citizen.completed"
    assert "text" not in notice["params"]
    assert (await all_events(factory, request_id))[-1].text is None


async def test_completing_a_new_request_claims_it_first(factory: Factory) -> None:
    request_id, _ = await file_request(factory)
    change = await clerk_acts(factory, complete, request_id, "پاسخ استعلام ارسال شد.", seen=Status.SUBMITTED)
    assert change.to_status is Status.COMPLETED
    statuses = [e.to_status for e in await all_events(factory, request_id)]
    assert statuses == ["submitted", "in_progress", "completed"]


async def test_a_new_request_may_be_rejected_without_claiming_it(factory: Factory) -> None:
    request_id, _ = await file_request(factory)

    change = await clerk_acts(
        factory, reject, request_id, "این خدمت در دهیاری ارائه می‌شود.", seen=Status.SUBMITTED
    )

    assert (change.from_status, change.to_status, change.assignee) == (
        Status.SUBMITTED,
        Status.REJECTED,
        ("telegram", 501),
    )
    assert [e.to_status for e in await all_events(factory, request_id)] == ["submitted", "rejected"]
    request = await stored(factory, request_id)
    assert request.closed_at is not None
    rows = await outbox(factory)
    notice = the_row(rows, f"event:{change.event_id}:citizen").payload
    assert notice["key"] == "notify.citizen.rejected"
    assert "این خدمت در دهیاری ارائه می‌شود." in render(notice)
    the_row(rows, f"event:{change.event_id}:survey")


@pytest.mark.parametrize(
    ("use_case", "args", "key"),
    [
        (complete, ("انجام شد",), "desk.transition.closed"),
        (reject, ("دلیل",), "desk.transition.unchanged"),
        (ask_payment, (1000,), "desk.transition.closed"),
        (resume, (), "desk.transition.not_permitted"),  # only a supervisor reopens a rejected request
    ],
    ids=["complete", "reject", "ask_payment", "resume"],
)
async def test_a_rejected_request_stays_closed_for_a_clerk(
    factory: Factory, use_case: Callable[..., Awaitable[Change]], args: tuple[Any, ...], key: str
) -> None:
    request_id, _ = await claimed(factory)
    await clerk_acts(factory, reject, request_id, "مدارک ناقص", seen=Status.IN_PROGRESS)
    before = await snapshot_counts(factory)

    with pytest.raises(TransitionError) as caught:
        await clerk_acts(factory, use_case, request_id, *args, seen=Status.REJECTED)

    assert caught.value.key == key
    assert await snapshot_counts(factory) == before


async def test_a_supervisor_may_reopen_a_rejected_request(factory: Factory) -> None:
    request_id, _ = await claimed(factory)
    await clerk_acts(factory, reject, request_id, "مدارک ناقص", seen=Status.IN_PROGRESS)
    supervisor = ActorRef(Actor.SUPERVISOR, "bale", 900, None, organization_id=ORG)

    change = await clerk_acts(factory, resume, request_id, seen=Status.REJECTED, actor=supervisor)

    assert change.to_status is Status.IN_PROGRESS
    assert (await stored(factory, request_id)).closed_at is None


async def test_a_request_waiting_for_the_citizen_cannot_be_completed(factory: Factory) -> None:
    request_id, _ = await claimed(factory)
    await clerk_acts(factory, ask_information, request_id, "کپی کارت ملی", seen=Status.IN_PROGRESS)
    with pytest.raises(TransitionError) as caught:
        await clerk_acts(factory, complete, request_id, "انجام شد", seen=Status.NEEDS_INFO)
    assert caught.value.key == "desk.transition.not_allowed"


async def test_the_system_resumes_after_a_payment_but_claims_nothing(factory: Factory) -> None:
    request_id, _ = await claimed(factory)
    await clerk_acts(factory, ask_payment, request_id, 2000, seen=Status.IN_PROGRESS)
    system = ActorRef(Actor.SYSTEM)

    change = await clerk_acts(factory, resume, request_id, seen=Status.AWAITING_PAYMENT, actor=system)

    assert change.assignee == ("telegram", 501)
    event = (await all_events(factory, request_id))[-1]
    assert (event.actor_kind, event.actor_id) == ("system", None)
    with pytest.raises(ValueError, match="person"):
        await clerk_acts(factory, claim, request_id, seen=Status.IN_PROGRESS, actor=system)


# Notes.


async def test_a_note_is_internal_and_the_citizen_never_sees_it(factory: Factory) -> None:
    request_id, code = await claimed(factory)
    before = len(await outbox(factory))

    change = await act(factory, add_note, request_id, CLERK, "مالک تلفنی تماس گرفت.", groups=GROUPS)

    assert not change.changed
    event = (await all_events(factory, request_id))[-1]
    assert (event.to_status, event.text, event.public) == (None, "مالک تلفنی تماس گرفت.", False)
    new_rows = (await outbox(factory))[before:]
    assert all(row.payload["type"] == "card" for row in new_rows)
    assert len(new_rows) == len(GROUPS)
    async with unit_of_work(factory) as session:
        view = await track(session, code, platform="telegram", user_id=1001)
    assert all(entry.text != "مالک تلفنی تماس گرفت." for entry in view.history)


async def test_a_blank_note_is_refused(factory: Factory) -> None:
    request_id, _ = await claimed(factory)
    with pytest.raises(ValidationError) as caught:
        await act(factory, add_note, request_id, CLERK, "  ", groups=GROUPS)
    assert caught.value.key == "desk.text.empty"


# The citizen answers or withdraws.


async def needs_info(factory: Factory, **citizen: Any) -> int:
    request_id, _ = await claimed(factory, **citizen)
    await clerk_acts(factory, ask_information, request_id, "تصویر پروانه", seen=Status.IN_PROGRESS)
    return request_id


async def test_the_citizens_answer_goes_back_to_the_clerk_and_to_the_groups(factory: Factory) -> None:
    request_id = await needs_info(factory)
    before = len(await outbox(factory))

    change = await act(
        factory, citizen_answered, request_id, "telegram", 1001, "پروانه ندارم.", groups=GROUPS
    )

    assert (change.from_status, change.to_status, change.assignee) == (
        Status.NEEDS_INFO,
        Status.IN_PROGRESS,
        ("telegram", 501),
    )
    event = (await all_events(factory, request_id))[-1]
    assert (event.actor_kind, event.actor_id, event.text, event.public) == (
        "citizen",
        "telegram:1001",
        "پروانه ندارم.",
        True,
    )
    new_rows = (await outbox(factory))[before:]
    assert not rows_for(new_rows, ":citizen")
    for platform, chat_id in GROUPS.items():
        relay = the_row(new_rows, f"event:{change.event_id}:group:{platform}")
        assert relay.chat_id == chat_id
        assert relay.payload["key"] == "notify.group.citizen_answered"
        assert relay.payload["lang"] == "fa"
        assert relay.payload["reply_to"] is None
        assert "پروانه ندارم." in render(relay.payload)
        the_row(new_rows, f"event:{change.event_id}:card:{platform}")


async def test_an_answer_without_text_only_redraws_the_cards(factory: Factory) -> None:
    request_id = await needs_info(factory)
    before = len(await outbox(factory))
    await act(factory, citizen_answered, request_id, "telegram", 1001, None, groups=GROUPS)
    new_rows = (await outbox(factory))[before:]
    assert [row.payload["type"] for row in new_rows] == ["card", "card"]


@pytest.mark.parametrize(
    ("platform", "user_id"), [("telegram", 2002), ("bale", 1001)], ids=["someone else", "same number on bale"]
)
async def test_a_citizen_cannot_act_on_someone_elses_request(
    factory: Factory, platform: str, user_id: int
) -> None:
    request_id = await needs_info(factory)
    before = await snapshot_counts(factory)

    with pytest.raises(NotFound):
        await act(factory, citizen_answered, request_id, platform, user_id, "پاسخ", groups=GROUPS)
    with pytest.raises(NotFound):
        await act(factory, withdraw, request_id, platform, user_id, groups=GROUPS)

    assert await snapshot_counts(factory) == before
    assert (await stored(factory, request_id)).status == "needs_info"


async def test_answering_a_request_that_does_not_wait_for_an_answer_is_refused(factory: Factory) -> None:
    request_id, _ = await claimed(factory)
    with pytest.raises(TransitionError) as caught:
        await act(factory, citizen_answered, request_id, "telegram", 1001, "سلام", groups=GROUPS)
    assert caught.value.key == "desk.handling.not_waiting"


@pytest.mark.parametrize("stage", ["submitted", "in_progress", "awaiting_payment"])
async def test_the_citizen_withdraws_an_open_request(factory: Factory, stage: str) -> None:
    request_id, _ = await file_request(factory)
    if stage != "submitted":
        await clerk_acts(factory, claim, request_id, seen=Status.SUBMITTED)
    if stage == "awaiting_payment":
        await clerk_acts(factory, ask_payment, request_id, 1000, seen=Status.IN_PROGRESS)
    before = len(await outbox(factory))

    change = await act(factory, withdraw, request_id, "telegram", 1001, groups=GROUPS)

    assert (change.from_status, change.to_status) == (Status(stage), Status.WITHDRAWN)
    request = await stored(factory, request_id)
    assert request.status == "withdrawn"
    assert request.closed_at is not None
    new_rows = (await outbox(factory))[before:]
    assert not rows_for(new_rows, ":citizen")
    assert not rows_for(new_rows, ":survey")
    relay = the_row(new_rows, f"event:{change.event_id}:group:bale")
    assert relay.payload["key"] == "notify.group.withdrawn"


async def test_a_finished_request_cannot_be_withdrawn(factory: Factory) -> None:
    request_id, _ = await claimed(factory)
    await clerk_acts(factory, complete, request_id, None, seen=Status.IN_PROGRESS)
    with pytest.raises(TransitionError) as caught:
        await act(factory, withdraw, request_id, "telegram", 1001, groups=GROUPS)
    assert caught.value.key == "desk.transition.closed"


async def test_a_draft_is_invisible_to_clerks_and_citizens(factory: Factory) -> None:
    request_id, _ = await file_request(factory)
    async with unit_of_work(factory, write=True) as session:
        request = await Requests(session).get(request_id)
        assert request is not None
        request.status = "draft"
    with pytest.raises(NotFound):
        await act(factory, add_note, request_id, CLERK, "یادداشت", groups=GROUPS)
    with pytest.raises(NotFound):
        await act(factory, withdraw, request_id, "telegram", 1001, groups=GROUPS)


# Every text a notification names exists in both languages and renders cleanly.


def notify_texts(lang: str) -> dict[str, str]:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "notify.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain="notify")
    return {str(m.id): str(m.string) for m in catalog if m.id}


def test_notify_po_has_the_same_keys_and_placeholders_in_both_languages() -> None:
    fa, en = notify_texts("fa"), notify_texts("en")
    assert set(fa) == set(en)
    fields = string.Formatter()
    for key in fa:
        assert {n for _, n, _, _ in fields.parse(fa[key]) if n} == {
            n for _, n, _, _ in fields.parse(en[key]) if n
        }
        assert not re.search(r"[0-9]", fa[key]), key
        assert set(re.findall(r"</?([a-z]+)", fa[key] + en[key])) <= {"b", "code"}, key


def test_every_notify_key_the_code_uses_has_a_text() -> None:
    source = (LOCALES_DIR.parent / "desk" / "handling.py").read_text(encoding="utf-8")
    used = set(re.findall(r'"(notify\.[a-z_.]+[a-z_])"', source))
    used |= {f"notify.survey.score.{n}" for n in handling.SCORES}
    assert used
    for lang in ("fa", "en"):
        assert used <= set(notify_texts(lang)), lang


async def test_every_queued_text_renders_without_leftovers(factory: Factory) -> None:
    request_id, _ = await file_request(factory)
    await clerk_acts(factory, ask_information, request_id, "تصویر سند", seen=Status.SUBMITTED)
    await act(factory, citizen_answered, request_id, "telegram", 1001, "فرستادم", groups=GROUPS)
    await clerk_acts(factory, ask_an_agency, request_id, "اداره ثبت", seen=Status.IN_PROGRESS)
    await clerk_acts(factory, resume, request_id, seen=Status.WAITING_EXTERNAL)
    await clerk_acts(factory, ask_payment, request_id, 90_000, seen=Status.IN_PROGRESS)
    await clerk_acts(factory, resume, request_id, seen=Status.AWAITING_PAYMENT)
    await clerk_acts(factory, complete, request_id, None, seen=Status.IN_PROGRESS)
    second, _ = await file_request(factory)
    await act(factory, withdraw, second, "telegram", 1001, groups=GROUPS)

    texts = [row.payload for row in await outbox(factory) if row.payload["type"] == "text"]
    assert len(texts) >= 9
    for payload in texts:
        shown = render(payload)
        assert "{" not in shown
        assert "notify." not in shown
        assert "desk." not in shown
        assert not re.search(r"[0-9]", shown.replace(ORG, "")), shown
    async with factory() as session:
        citizen = (await session.scalars(select(Citizen))).one()
        assert citizen.locale == "fa"
