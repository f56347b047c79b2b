"""The messenger fails right after a request is filed: the citizen still gets the tracking code, and filing again
finds the first request instead of filing another.

End to end in both dialects (the emulator fails the bot's ``sendMessage`` calls while the confirmation is sent:
enough of them that retries of a direct answer, where ``bot.session`` makes them, do not get through), and at the
desk on SQLite and PostgreSQL (``factory``) for the rule that makes a second filing find the first one.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from bot.platforms import Platform
from desk.requests import (
    REFILE_WINDOW,
    Submission,
    SubmitResult,
    confirmation_keys,
    queue_confirmation,
    settle_confirmation,
    submit_request,
)
from storage.columns import utcnow
from storage.db import create_engine
from storage.models import OutboxMessage, ServiceRequest
from storage.uow import unit_of_work
from tests.desk.test_requests import DEED
from tests.desk.test_requests import submission as desk_submission
from tests.e2e.conftest import TOKENS
from tests.e2e.test_request import count, report_a_dark_street
from tests.security.conftest import World

Factory = async_sessionmaker[AsyncSession]

FAULTS = {
    "500": {"count": 6},
    # Longer than a direct answer would wait for a 429, so it fails at once, as a long 429 does.
    "429": {"count": 2, "retry_after": 12},
    "timeout": {"count": 6, "delay": 0.5},
    "drop": {"count": 2},
}
"""Fault kind -> how the emulator plays it on ``sendMessage`` (the card to the clerks may take one of them)."""


async def code_to_copy(person: Any, after: int, timeout: float = 15) -> str:  # noqa: ASYNC109 (a test's deadline)
    """The tracking code sent alone (to copy) after message ``after``, once it has come."""
    deadline = time.monotonic() + timeout
    while True:
        for message in await person.transcript():
            text = str(message.get("text") or "").strip()
            if message.get("outgoing") and message["message_id"] > after and text.isdigit():
                return text
        assert time.monotonic() < deadline, "no tracking code to copy"
        await asyncio.sleep(0.2)


async def reach_the_review(person: Any, *, again: bool = False) -> dict[str, Any]:
    """A street problem report in Oshtorjan, every question answered alike, up to its review; ``again`` starts it
    from the service's card already in the chat."""
    if again:
        await person.press("📝 ثبت درخواست")
        await person.expect("یکی از گزینه‌ها")
        await person.press("خرابی روشنایی معابر")
        await person.expect("پرسش ۲ از ۴")
        await person.send("سه چراغ کوچه از یک هفته پیش خاموش است")
        await person.expect("پرسش ۳ از ۴")
        await person.press("📍 ارسال موقعیت")
        await person.expect("یکی از گزینه‌ها")
        await person.press("خیر")
        await person.expect("مدرک ۱ از ۱")
    else:
        await report_a_dark_street(person, dangerous="خیر")
    await person.press("⏭ رد کردن")
    review: dict[str, Any] = await person.expect("بازبینی درخواست")
    return review


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_the_confirmation_send_fails_yet_the_code_arrives_and_filing_again_files_nothing(
    world: World, platform: Platform, fault: str
) -> None:
    token = TOKENS[platform]
    ali = await world.citizen(platform, name="علی")
    review = await reach_the_review(ali)
    await world.client.inject_fault(token, fault, method="sendMessage", **FAULTS[fault])
    await ali.press("✅ ثبت نهایی")
    done = await ali.expect("کد رهگیری", timeout=45)
    assert "ثبت شد" in done["text"]
    code = await code_to_copy(ali, review["message_id"])
    assert await count(world, ServiceRequest) == 1
    await world.client.clear_faults(token)

    review = await reach_the_review(ali, again=True)  # nothing came at once: the citizen files it again
    await ali.press("✅ ثبت نهایی")
    await ali.expect("کد رهگیری")
    assert await code_to_copy(ali, review["message_id"]) == code, "the first request's code is told again"
    assert await count(world, ServiceRequest) == 1


@pytest.mark.slow
async def test_a_confirmation_the_chat_carried_is_not_sent_again_when_the_hold_ends(
    world: World, platform: Platform
) -> None:
    ali = await world.citizen(platform, name="علی")
    review = await reach_the_review(ali)
    await ali.press("✅ ثبت نهایی")
    await ali.expect("کد رهگیری")
    await code_to_copy(ali, review["message_id"])
    engine = create_engine(world.settings.database_url)
    try:
        for _ in range(50):  # the handler settles the confirmation right after telling it
            async with engine.connect() as conn:
                left = (
                    await conn.execute(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(col(OutboxMessage.dedupe_key).like("request:%:submitted%"))
                    )
                ).scalar_one()
            if not left:
                break
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    assert left == 0, "nothing of the confirmation is left for the outbox to send a second time"


# ------------------------------------------------------------------------------------------------- desk level


def submission(key: str, **changes: Any) -> Submission:
    """The same citizen's renovation fee request (answers and deed alike unless changed), from form ``key``."""
    return desk_submission(idempotency_key=key, **changes)


async def file(factory: Factory, sub: Submission) -> SubmitResult:
    """File ``sub`` as the bot does: the request and its held confirmation in one transaction."""
    async with unit_of_work(factory, write=True) as session:
        result = await submit_request(session, sub)
        if result.created:
            await queue_confirmation(session, sub, result, "fa", due=utcnow() + timedelta(minutes=2))
        return result


async def requests_filed(factory: Factory) -> int:
    async with factory() as session:
        return int((await session.execute(select(func.count()).select_from(ServiceRequest))).scalar_one())


async def test_filing_the_same_request_again_while_its_confirmation_is_undelivered_finds_the_first(
    factory: Factory,
) -> None:
    first_answers = dict(submission("form-1").answers)
    first = await file(factory, submission("form-1"))
    again = await file(factory, submission("form-2"))  # a new form, the same answers
    assert (again.request_id, again.tracking_code, again.created) == (
        first.request_id,
        first.tracking_code,
        False,
    )
    other = await file(factory, submission("form-3", answers={**first_answers, "area": 121}))
    assert other.created, "a request with other answers is another request"
    photo = await file(factory, submission("form-4", documents=[replace(DEED, sha256="cd" * 32)]))
    assert photo.created, "a request with another document is another request"
    assert await requests_filed(factory) == 3


async def test_a_request_the_citizen_was_told_of_in_the_chat_may_be_filed_again(factory: Factory) -> None:
    first = await file(factory, submission("form-1"))
    async with unit_of_work(factory, write=True) as session:
        await settle_confirmation(
            session, confirmation_keys(first.request_id), told=confirmation_keys(first.request_id)
        )
    async with factory() as session:
        held = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(col(OutboxMessage.request_id) == first.request_id)
        )
    assert held == 0, "a confirmation told in the chat leaves the outbox"
    again = await file(factory, submission("form-2"))
    assert again.created
    assert again.request_id != first.request_id


async def test_the_same_request_filed_after_the_window_is_a_new_one(factory: Factory) -> None:
    first = await file(factory, submission("form-1"))
    async with unit_of_work(factory, write=True) as session:
        request = await session.get(ServiceRequest, first.request_id)
        assert request is not None
        request.created_at = utcnow() - REFILE_WINDOW - timedelta(minutes=1)
        session.add(request)
    again = await file(factory, submission("form-2"))
    assert again.created
