"""Survey answers in the store, and reading a request under a lock, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from storage.models import Citizen, ServiceRequest, SurveyAnswer
from storage.repositories import Requests, SurveyAnswers
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]


async def _stored(
    factory: Factory, citizen: Citizen, make_request: Callable[..., ServiceRequest], **fields: object
) -> int:
    assert citizen.id is not None
    async with unit_of_work(factory) as session:
        request, _ = await Requests(session).add(make_request(citizen.id, **fields))
        assert request.id is not None
        return request.id


async def test_get_for_update_makes_a_second_writer_wait_and_read_what_the_first_left(
    factory: Factory, citizen: Citizen, make_request: Callable[..., ServiceRequest]
) -> None:
    request_id = await _stored(factory, citizen, make_request)

    async def second_writer() -> str | None:
        async with unit_of_work(factory, write=True) as session:
            request = await Requests(session).get_for_update(request_id)
            return request.status if request else None

    async with unit_of_work(factory, write=True) as session:
        request = await Requests(session).get_for_update(request_id)
        assert request is not None
        waiting = asyncio.create_task(second_writer())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # blocked by the lock (PostgreSQL) or by BEGIN IMMEDIATE (SQLite)
        request.status = "in_progress"
    assert await waiting == "in_progress"

    async with factory() as session:
        assert await Requests(session).get_for_update(999_999) is None


async def test_one_answer_per_request_with_a_score_from_one_to_five(
    factory: Factory, citizen: Citizen, make_request: Callable[..., ServiceRequest]
) -> None:
    request_id = await _stored(factory, citizen, make_request, status="completed")
    async with unit_of_work(factory) as session:
        await SurveyAnswers(session).add(SurveyAnswer(request_id=request_id, score=4))

    with pytest.raises(IntegrityError):
        async with unit_of_work(factory) as session:
            await SurveyAnswers(session).add(SurveyAnswer(request_id=request_id, score=5))
    other = await _stored(factory, citizen, make_request, status="completed")
    for bad in (0, 6):
        with pytest.raises(IntegrityError):
            async with unit_of_work(factory) as session:
                await SurveyAnswers(session).add(SurveyAnswer(request_id=other, score=bad))

    async with factory() as session:
        answer = await SurveyAnswers(session).of_request(request_id)
        assert answer is not None
        assert (answer.score, answer.comment) == (4, None)
        assert await SurveyAnswers(session).of_request(other) is None


async def test_scores_count_and_average_per_organization_and_go_with_the_request(
    factory: Factory, citizen: Citizen, make_request: Callable[..., ServiceRequest]
) -> None:
    ids = [await _stored(factory, citizen, make_request, status="completed") for _ in range(2)]
    elsewhere = await _stored(factory, citizen, make_request, status="rejected", organization_id="baharan")
    async with unit_of_work(factory) as session:
        answers = SurveyAnswers(session)
        for request_id, score in [(ids[0], 5), (ids[1], 2), (elsewhere, 1)]:
            await answers.add(SurveyAnswer(request_id=request_id, score=score))

    async with factory() as session:
        assert await SurveyAnswers(session).scores("falavarjan") == (2, pytest.approx(3.5))
        assert await SurveyAnswers(session).scores("baharan") == (1, 1.0)
        assert await SurveyAnswers(session).scores("nowhere") == (0, None)

    async with unit_of_work(factory) as session:
        await session.execute(delete(ServiceRequest).where(col(ServiceRequest.id) == ids[0]))
    async with factory() as session:
        assert (await session.execute(select(func.count()).select_from(SurveyAnswer))).scalar_one() == 2
