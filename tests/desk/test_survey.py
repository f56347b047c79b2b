"""The satisfaction survey: who may rate, when, how often, comments, and an organization's figures."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from desk.calendar import WorkCalendar
from desk.errors import NotFound, ValidationError
from desk.handling import ActorRef, claim, complete, reject, withdraw
from desk.lifecycle import Actor, Status
from desk.requests import Submission, submit_request
from desk.survey import OrganizationScores, RatingResult, comment, organization_scores, rate
from storage.models import OutboxMessage, SurveyAnswer
from storage.repositories import SurveyAnswers
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]

GROUPS = {"telegram": -100_501}
SNAPSHOT: dict[str, Any] = {"title": {"fa": "استعلام بانک"}, "duration_days": 2, "form": [], "documents": []}

_keys = iter(range(1, 1_000_000))


async def file_request(factory: Factory, *, organization_id: str = "falavarjan", user_id: int = 1001) -> int:
    async with unit_of_work(factory, write=True) as session:
        result = await submit_request(
            session,
            Submission(
                platform="bale",
                user_id=user_id,
                chat_id=user_id,
                first_name=None,
                last_name=None,
                username=None,
                organization_id=organization_id,
                service_id="bank_inquiry",
                service_version="v1",
                service_snapshot=SNAPSHOT,
                answers={},
                documents=[],
                idempotency_key=f"survey-{next(_keys)}",
                calendar=WorkCalendar(),
                today=date(2026, 4, 1),
            ),
        )
    return result.request_id


async def finished(
    factory: Factory, *, rejected: bool = False, organization_id: str = "falavarjan", user_id: int = 1001
) -> int:
    """A request of ``bale:<user_id>`` that the organization completed (or rejected)."""
    request_id = await file_request(factory, organization_id=organization_id, user_id=user_id)
    clerk = ActorRef(Actor.CLERK, "bale", 50, None, organization_id=organization_id)
    async with unit_of_work(factory, write=True) as session:
        await claim(session, request_id, clerk, seen_status=Status.SUBMITTED, groups=GROUPS)
    async with unit_of_work(factory, write=True) as session:
        if rejected:
            await reject(
                session, request_id, clerk, "خارج از حوزه", seen_status=Status.IN_PROGRESS, groups=GROUPS
            )
        else:
            await complete(session, request_id, clerk, None, seen_status=Status.IN_PROGRESS, groups=GROUPS)
    return request_id


async def rate_as(factory: Factory, request_id: int, score: int, *, user_id: int = 1001) -> RatingResult:
    async with unit_of_work(factory, write=True) as session:
        return await rate(session, request_id, "bale", user_id, score)


async def comment_as(factory: Factory, request_id: int, text: str, *, user_id: int = 1001) -> None:
    async with unit_of_work(factory, write=True) as session:
        await comment(session, request_id, "bale", user_id, text)


async def answers(factory: Factory) -> list[SurveyAnswer]:
    async with factory() as session:
        return list((await session.scalars(select(SurveyAnswer))).all())


async def test_the_citizen_rates_a_completed_request(factory: Factory) -> None:
    request_id = await finished(factory)

    result = await rate_as(factory, request_id, 4)

    assert result == RatingResult(
        request_id=request_id, score=4, updated=False, offer_comment=True, offer_objection=False
    )
    [answer] = await answers(factory)
    assert (answer.request_id, answer.score, answer.comment) == (request_id, 4, None)


async def test_rating_again_replaces_the_score(factory: Factory) -> None:
    request_id = await finished(factory)
    await rate_as(factory, request_id, 2)

    result = await rate_as(factory, request_id, 5)

    assert result.updated
    assert not result.offer_objection
    [answer] = await answers(factory)
    assert answer.score == 5
    assert answer.updated_at >= answer.created_at


@pytest.mark.parametrize(("score", "objection"), [(1, True), (2, True), (3, False), (5, False)])
async def test_a_low_score_offers_an_objection(factory: Factory, score: int, objection: bool) -> None:
    request_id = await finished(factory)
    assert (await rate_as(factory, request_id, score)).offer_objection is objection


async def test_a_rejected_request_always_offers_an_objection(factory: Factory) -> None:
    request_id = await finished(factory, rejected=True)
    assert (await rate_as(factory, request_id, 5)).offer_objection


@pytest.mark.parametrize("score", [0, 6, -1, True], ids=["zero", "six", "negative", "bool"])
async def test_a_score_outside_one_to_five_is_refused(factory: Factory, score: int) -> None:
    request_id = await finished(factory)
    with pytest.raises(ValidationError) as caught:
        await rate_as(factory, request_id, score)
    assert caught.value.key == "desk.survey.score"
    assert await answers(factory) == []


async def test_an_unfinished_or_withdrawn_request_cannot_be_rated(factory: Factory) -> None:
    open_one = await file_request(factory)
    withdrawn = await file_request(factory)
    async with unit_of_work(factory, write=True) as session:
        await withdraw(session, withdrawn, "bale", 1001, groups=GROUPS)

    for request_id in (open_one, withdrawn):
        with pytest.raises(ValidationError) as caught:
            await rate_as(factory, request_id, 5)
        assert caught.value.key == "desk.survey.not_finished"
    assert await answers(factory) == []


async def test_only_the_requests_citizen_may_rate_or_comment(factory: Factory) -> None:
    request_id = await finished(factory)
    await rate_as(factory, request_id, 3)

    with pytest.raises(NotFound):
        await rate_as(factory, request_id, 1, user_id=2002)
    with pytest.raises(NotFound):
        await comment_as(factory, request_id, "بد بود", user_id=2002)
    with pytest.raises(NotFound):
        await rate_as(factory, 999_999, 1)

    [answer] = await answers(factory)
    assert (answer.score, answer.comment) == (3, None)


async def test_a_comment_follows_a_rating_and_a_later_one_replaces_it(factory: Factory) -> None:
    request_id = await finished(factory)
    with pytest.raises(ValidationError) as caught:
        await comment_as(factory, request_id, "خوب بود")
    assert caught.value.key == "desk.survey.not_rated"

    await rate_as(factory, request_id, 4)
    await comment_as(factory, request_id, "  کارشناس خیلی مؤدب بود.  ")
    [answer] = await answers(factory)
    assert answer.comment == "کارشناس خیلی مؤدب بود."

    await comment_as(factory, request_id, "سریع بود.")
    result = await rate_as(factory, request_id, 5)
    assert not result.offer_comment  # there is a comment already
    [answer] = await answers(factory)
    assert (answer.score, answer.comment) == (5, "سریع بود.")


@pytest.mark.parametrize(("text", "key"), [("   ", "desk.text.empty"), ("ا" * 2001, "desk.text.too_long")])
async def test_a_blank_or_too_long_comment_is_refused(factory: Factory, text: str, key: str) -> None:
    request_id = await finished(factory)
    await rate_as(factory, request_id, 4)
    with pytest.raises(ValidationError) as caught:
        await comment_as(factory, request_id, text)
    assert caught.value.key == key


async def test_the_governorate_sees_each_organizations_count_and_average(factory: Factory) -> None:
    for score in (5, 4):
        await rate_as(factory, await finished(factory), score)
    await rate_as(factory, await finished(factory, rejected=True), 2)
    other = await finished(factory, organization_id="baharan", user_id=3003)
    await rate_as(factory, other, 1, user_id=3003)
    await finished(factory)  # not rated

    async with unit_of_work(factory) as session:
        falavarjan = await organization_scores(session, "falavarjan")
        baharan = await organization_scores(session, "baharan")
        nobody = await organization_scores(session, "kelishad")

    ratings, average = falavarjan
    assert ratings == 3
    assert average == pytest.approx(11 / 3)
    assert baharan == OrganizationScores(ratings=1, average=1.0)
    assert nobody == OrganizationScores(ratings=0, average=None)


async def test_one_answer_per_request_in_the_store(factory: Factory) -> None:
    request_id = await finished(factory)
    for score in (1, 2, 3):
        await rate_as(factory, request_id, score)
    async with factory() as session:
        assert (await session.execute(select(func.count()).select_from(SurveyAnswer))).scalar_one() == 1
        answer = await SurveyAnswers(session).of_request(request_id)
        assert answer is not None
        assert answer.score == 3


async def group_rows(factory: Factory, request_id: int) -> list[tuple[str, dict[str, Any]]]:
    """The rows queued for the organization's group about ``request_id``: (dedupe key, payload)."""
    async with factory() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage).where(
                    col(OutboxMessage.request_id) == request_id, col(OutboxMessage.chat_id) == -100_501
                )
            )
        ).all()
    return [(row.dedupe_key, row.payload) for row in rows]


async def test_the_group_sees_a_rating_on_the_card_and_hears_of_a_low_one_or_a_comment(
    factory: Factory,
) -> None:
    good, poor = await finished(factory), await finished(factory)
    before = {request_id: len(await group_rows(factory, request_id)) for request_id in (good, poor)}
    groups = {"falavarjan": GROUPS}.__getitem__
    async with unit_of_work(factory, write=True) as session:
        await rate(session, good, "bale", 1001, 5, groups_of=groups)
        await rate(session, poor, "bale", 1001, 2, groups_of=groups)

    good_rows = (await group_rows(factory, good))[before[good] :]
    assert [payload["type"] for _, payload in good_rows] == ["card"], "a good score is shown on the card only"
    poor_rows = (await group_rows(factory, poor))[before[poor] :]
    assert [payload["type"] for _, payload in poor_rows] == ["card", "text"]
    assert poor_rows[1][1]["key"] == "notify.rating.low"
    assert poor_rows[1][1]["params"]["score"] == 2

    async with unit_of_work(factory, write=True) as session:
        await comment(session, good, "bale", 1001, "کارشناس\u202e خوش‌برخورد بود", groups_of=groups)
    told = (await group_rows(factory, good))[-1][1]
    assert told["key"] == "notify.rating.comment"
    assert told["params"]["comment"] == "کارشناس خوش‌برخورد بود", "bidi overrides are dropped"
