"""Which request a citizen's writing answers, and what their answer writes and queues, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from desk.bridge import EXTRA_SLOT, Copied, Part, citizen_reply, clerk_message, open_conversation
from desk.errors import NotFound, TransitionError
from desk.handling import withdraw
from desk.lifecycle import Status
from storage.columns import utcnow
from storage.models import RequestEvent
from storage.repositories import Requests
from storage.uow import unit_of_work
from tests.desk.test_handling import (
    CLERK,
    GROUPS,
    Factory,
    act,
    ask_information,
    clerk_acts,
    file_request,
    outbox,
    snapshot_counts,
    stored,
)

WINDOW = timedelta(hours=72)
FILE = {
    "platform_file_id": "f",
    "file_unique_id": "u",
    "stored_path": "ab/cd.jpg",
    "sha256": "0" * 64,
    "size": 10,
    "mime": "image/jpeg",
    "kind": "photo",
}


async def clerk_writes(factory: Factory, request_id: int, text: str) -> None:
    async with unit_of_work(factory, write=True) as session:
        await clerk_message(session, request_id, CLERK, text=text)


async def conversation(factory: Factory, user_id: int = 1001) -> int | None:
    async with factory() as session:
        request = await open_conversation(session, "telegram", user_id, spoken_since=utcnow() - WINDOW)
    return request.id if request is not None else None


async def age_events(factory: Factory, request_id: int, by: timedelta) -> None:
    async with unit_of_work(factory, write=True) as session:
        await session.execute(
            update(RequestEvent).where(col(RequestEvent.request_id) == request_id).values(at=utcnow() - by)
        )


async def test_writing_answers_the_request_the_organization_wrote_about_last(factory: Factory) -> None:
    first, _ = await file_request(factory)
    second, _ = await file_request(factory)
    assert await conversation(factory) is None, "filing alone opens no conversation"
    await clerk_writes(factory, second, "پلاک؟")
    await clerk_writes(factory, first, "سند؟")
    assert await conversation(factory) == first
    assert await conversation(factory, user_id=1002) is None, "another citizen has no conversation"


async def test_the_answer_window_closes_but_a_request_for_information_waits(factory: Factory) -> None:
    request_id, _ = await file_request(factory)
    await clerk_writes(factory, request_id, "سند؟")
    await age_events(factory, request_id, WINDOW + timedelta(minutes=1))
    assert await conversation(factory) is None
    await clerk_acts(factory, ask_information, request_id, "سند را بفرستید", seen=Status.SUBMITTED)
    await age_events(factory, request_id, timedelta(days=30))
    assert await conversation(factory) == request_id, "needs information: waits whatever the time"


async def test_a_withdrawn_request_takes_no_answer(factory: Factory) -> None:
    request_id, _ = await file_request(factory)
    await clerk_writes(factory, request_id, "سند؟")
    await act(factory, withdraw, request_id, "telegram", 1001, groups=GROUPS)
    assert await conversation(factory) is None
    with pytest.raises(TransitionError):
        async with unit_of_work(factory, write=True) as session:
            await citizen_reply(
                session, request_id, [Part("سلام")], platform="telegram", user_id=1001, groups=GROUPS
            )


async def test_nobody_answers_another_citizens_request(factory: Factory) -> None:
    request_id, _ = await file_request(factory)
    await clerk_writes(factory, request_id, "سند؟")
    before = await snapshot_counts(factory)
    with pytest.raises(NotFound):
        async with unit_of_work(factory, write=True) as session:
            await citizen_reply(
                session, request_id, [Part("من")], platform="telegram", user_id=1002, groups=GROUPS
            )
    assert await snapshot_counts(factory) == before


async def test_an_album_is_kept_and_relayed_whole_in_order_and_a_plain_message_changes_no_status(
    factory: Factory,
) -> None:
    request_id, _ = await file_request(factory)
    await clerk_writes(factory, request_id, "عکس‌ها؟")
    parts = [
        Part("سه عکس", Copied(1011, 7), FILE),
        Part(None, Copied(1011, 8), FILE),
        Part(None, Copied(1011, 9), FILE),
    ]
    async with unit_of_work(factory, write=True) as session:
        answered = await citizen_reply(
            session, request_id, parts, platform="telegram", user_id=1001, groups=GROUPS
        )
    assert answered is False
    assert (await stored(factory, request_id)).status == Status.SUBMITTED.value
    async with factory() as session:
        slots = [d.slot for d in await Requests(session).documents(request_id)]
    assert slots == [EXTRA_SLOT] * 3
    rows = [r for r in await outbox(factory) if r.chat_id in GROUPS.values() and r.payload["type"] != "card"]
    telegram = [r for r in rows if r.platform == "telegram"]
    assert [r.payload["message_id"] for r in telegram] == [7, 8, 9], "copied in the order sent"
    assert telegram[0].payload["key"] == "notify.from_citizen", "one header, on the first"
    assert all("key" not in r.payload for r in telegram[1:])
    bale = [r for r in rows if r.platform == "bale"]
    assert [r.payload["type"] for r in bale] == ["text"], "a group on the other platform gets the text"


async def test_every_message_the_organization_sends_the_citizen_carries_the_answer_button(
    factory: Factory,
) -> None:
    from tests.desk.test_payments import ask, claimed

    request_id = await claimed(factory)
    await ask(factory, request_id, 1_250_000)  # the status notice, and the bill with its payment ID
    await clerk_writes(factory, request_id, "قبض را پرداخت کنید")
    to_citizen = [
        r
        for r in await outbox(factory)
        if r.chat_id == 1011 and not r.payload["key"].startswith("bot.submitted")  # Miz's own confirmation
    ]
    assert {r.payload["key"] for r in to_citizen} >= {
        "notify.citizen.in_progress",
        "notify.citizen.awaiting_payment",
        "payments.notice",
        "notify.from_org",
    }
    answer = [[{"label": "notify.answer", "data": f"reply:{request_id}"}]]
    assert all(r.payload["buttons"] == answer for r in to_citizen), [r.payload["key"] for r in to_citizen]
