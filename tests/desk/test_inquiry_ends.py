"""A request that ends (completed, rejected, withdrawn) or leaves the organization that asked closes its open
inquiries in the same transaction, on SQLite and PostgreSQL: the agency's card loses its buttons and says why, the
agency's group hears it, and the inquiry leaves the agency's lists, the reminders and the escalations."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from desk import inquiries
from desk.errors import NotFound, TransitionError
from desk.handling import complete, reject, resume, withdraw
from desk.inquiries import InquiryAct, InquiryState
from desk.inquiry_ends import EndReason, end_reason
from desk.lifecycle import Status
from desk.transfers import transfer
from storage.models import OutboxMessage
from storage.repositories import GroupMessages, Inquiries
from storage.repositories.groups import inquiry_card_kind
from storage.uow import unit_of_work
from tests.desk.test_handling import CLERK, GROUPS, ORG, Factory, act, all_events, clerk_acts, outbox, stored
from tests.desk.test_inquiries import (
    GAS,
    REGISTRY,
    REGISTRY_STAFF,
    TODAY,
    answer,
    inquiry,
    remind,
    send,
    working,
)
from tests.desk.test_transfers import Directory as TransferDirectory

CARD = ("telegram", -100_901, 77)
"""Where the registry's card of the inquiry was drawn: its Telegram group, message 77."""


async def asked(factory: Factory) -> tuple[int, int, int]:
    """A request waiting for the registry (its card drawn in the registry's group) and for gas, which answered by
    hand: (request id, the registry's inquiry, gas's inquiry)."""
    request_id = await working(factory)
    registry, gas = await send(factory, request_id, REGISTRY, GAS)
    assert registry.id is not None
    assert gas.id is not None
    async with unit_of_work(factory, write=True) as session:
        platform, chat_id, message_id = CARD
        await GroupMessages(session).link(
            platform=platform,
            chat_id=chat_id,
            message_id=message_id,
            request_id=request_id,
            kind=inquiry_card_kind(registry.id),
        )
    await answer(factory, gas.id, CLERK, "ندارد", name="اداره گاز", by_hand=True)
    return request_id, registry.id, gas.id


async def waiting_for_registry(factory: Factory) -> int:
    async with factory() as session:
        return await Inquiries(session).count_waiting("registry")


def to_registry(rows: list[OutboxMessage], inquiry_id: int) -> list[OutboxMessage]:
    return [row for row in rows if str(row.dedupe_key).startswith(f"inquiry:{inquiry_id}:closed:")]


async def check_closed(factory: Factory, request_id: int, registry: int, gas: int, reason: EndReason) -> None:
    """What every ending path leaves: the registry's inquiry cancelled for ``reason``, its card redrawn and a notice
    under it, nothing of it left in the agency's list or the reminders, and the answered one untouched."""
    closed = await inquiry(factory, registry)
    assert closed.state == InquiryState.CANCELLED
    assert end_reason(closed) is reason
    assert (await inquiry(factory, gas)).state == InquiryState.ANSWERED, "an answered inquiry stays answered"
    assert await waiting_for_registry(factory) == 0, "gone from the agency's /open"
    rows = to_registry(await outbox(factory), registry)
    redraw = [row for row in rows if row.payload["type"] == "inquiry_closed"]
    notice = [row for row in rows if row.payload["type"] == "text"]
    assert [(row.platform, row.chat_id, row.organization_id) for row in redraw] == [
        ("telegram", -100_901, "registry")
    ]
    assert len(notice) == 1
    assert notice[0].payload["key"] == "op.inquiry.cancelled"
    assert notice[0].payload["reply_to"] == CARD[2]
    assert notice[0].payload["labels"] == {"reason": reason.label_key}
    assert notice[0].request_id is None, "the agency's group gets no way to the request"
    notes = [event.text or "" for event in await all_events(factory, request_id) if not event.public]
    assert sum(f"استعلام شمارهٔ {registry} بسته شد" in note for note in notes) == 1
    late = await remind(factory, closed.due_date + timedelta(days=30))
    assert late.queued == 0, "never reminded nor escalated"


async def test_a_withdrawn_request_closes_the_inquiry_it_waits_for(factory: Factory) -> None:
    request_id, registry, gas = await asked(factory)
    assert await waiting_for_registry(factory) == 1
    await act(factory, withdraw, request_id, "telegram", 1001, groups=GROUPS)
    await check_closed(factory, request_id, registry, gas, EndReason.WITHDRAWN)


Ending = Callable[[Factory, int], Awaitable[Any]]


async def _complete(factory: Factory, request_id: int) -> Any:
    return await clerk_acts(factory, complete, request_id, "انجام شد", seen=Status.IN_PROGRESS)


async def _reject(factory: Factory, request_id: int) -> Any:
    return await clerk_acts(factory, reject, request_id, "خارج از حوزه", seen=Status.IN_PROGRESS)


async def _transfer(factory: Factory, request_id: int) -> Any:
    async with unit_of_work(factory, write=True) as session:
        return await transfer(
            session,
            request_id,
            CLERK,
            "ghahderijan",
            "ملک در قهدریجان است",
            seen_status=Status.IN_PROGRESS,
            directory=TransferDirectory(),
            today=TODAY,
        )


@pytest.mark.parametrize(
    ("ending", "reason"),
    [
        (_complete, EndReason.COMPLETED),
        (_reject, EndReason.REJECTED),
        (_transfer, EndReason.TRANSFERRED),
    ],
    ids=["completed", "rejected", "transferred"],
)
async def test_a_resumed_request_that_ends_or_leaves_closes_its_open_inquiries(
    factory: Factory, ending: Ending, reason: EndReason
) -> None:
    request_id, registry, gas = await asked(factory)
    # The clerk takes the work up again without waiting for the registry, then finishes it or sends it away.
    await clerk_acts(factory, resume, request_id, seen=Status.WAITING_EXTERNAL)
    assert (await inquiry(factory, registry)).state == InquiryState.OPEN
    await ending(factory, request_id)
    await check_closed(factory, request_id, registry, gas, reason)


async def test_the_transferred_request_is_no_longer_the_old_askers_nor_the_new_ones(factory: Factory) -> None:
    request_id, registry, _ = await asked(factory)
    await clerk_acts(factory, resume, request_id, seen=Status.WAITING_EXTERNAL)
    await _transfer(factory, request_id)
    async with factory() as session:
        assert await inquiries.open_inquiries(session, "ghahderijan") == []
        assert await inquiries.open_inquiries(session, "registry") == []
        with pytest.raises(NotFound):
            await inquiries.get_for_asker(session, registry, ORG)


async def test_the_agency_is_told_politely_an_answer_is_no_longer_needed(factory: Factory) -> None:
    request_id, registry, _ = await asked(factory)
    await act(factory, withdraw, request_id, "telegram", 1001, groups=GROUPS)
    found = await inquiry(factory, registry)
    for pressed in (InquiryAct.ANSWER, InquiryAct.NEED_MORE, InquiryAct.NOT_OURS):
        with pytest.raises(TransitionError) as refused:
            inquiries.check_pressable(found, pressed)
        assert refused.value.key == "desk.inquiry.cancelled"
    # An answer typed after the card lost its buttons (or from a forged press) changes nothing either.
    with pytest.raises(TransitionError) as refused:
        await answer(factory, registry, REGISTRY_STAFF)
    assert refused.value.key == "desk.inquiry.cancelled"
    assert (await inquiry(factory, registry)).state == InquiryState.CANCELLED
    async with unit_of_work(factory, write=True) as session:
        with pytest.raises(TransitionError):
            await inquiries.show_card(
                session, registry, REGISTRY_STAFF, platform="telegram", chat_id=-100_901
            )


async def test_an_answered_inquiry_still_says_it_was_answered(factory: Factory) -> None:
    request_id, _, gas = await asked(factory)
    await act(factory, withdraw, request_id, "telegram", 1001, groups=GROUPS)
    with pytest.raises(TransitionError) as refused:
        inquiries.check_pressable(await inquiry(factory, gas), InquiryAct.ANSWER)
    assert refused.value.key == "desk.inquiry.closed"


async def test_an_answer_at_the_moment_of_the_withdrawal_is_refused_and_never_deadlocks(
    factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agency presses "answer complete" as the citizen withdraws. Both lock the request before the inquiry, so
    on PostgreSQL neither holds what the other waits for: the withdrawal closes the inquiry and the late answer is
    told it is no longer needed (locking the inquiry first, as answers once did, deadlocked here)."""
    request_id, registry, _ = await asked(factory)
    reached = asyncio.Event()
    locking = inquiries.load_for_update

    async def slow_lock(session: Any, wanted: int) -> Any:
        reached.set()  # the answer has begun and holds whatever it took before the request
        await asyncio.sleep(0.5)
        return await locking(session, wanted)

    monkeypatch.setattr(inquiries, "load_for_update", slow_lock)

    async def withdraw_meanwhile() -> Any:
        await reached.wait()
        return await act(factory, withdraw, request_id, "telegram", 1001, groups=GROUPS)

    late, withdrawn = await asyncio.gather(
        answer(factory, registry, REGISTRY_STAFF), withdraw_meanwhile(), return_exceptions=True
    )
    assert not isinstance(withdrawn, BaseException), withdrawn
    closed = await inquiry(factory, registry)
    if factory.kw["bind"].dialect.name == "postgresql":
        # PostgreSQL: the withdrawal took the request while the answer waited for it.
        assert isinstance(late, TransitionError), late
        assert late.key == "desk.inquiry.cancelled"
        assert closed.state == InquiryState.CANCELLED
        assert closed.answer_text is None
    else:
        # SQLite: the answer's transaction held the database first, so it landed before the withdrawal.
        assert closed.state == InquiryState.ANSWERED
    assert (await stored(factory, request_id)).status == Status.WITHDRAWN
