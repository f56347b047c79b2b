"""The outbox sender against a fake Bot API session (the network faked at the session layer).

Every test runs on SQLite and on PostgreSQL (the ``factory`` fixture). Timings are shortened (a fast poll, a
tiny backoff); the rate limits are the real ones unless a test needs them out of the way.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import CopyMessage, SendMessage, TelegramMethod
from aiogram.types import Chat, Message, MessageId
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from bot.outbox import Backoff, OutboxSender, PayloadError, classify, lease_owner, render_text
from bot.platforms import Platform
from bot.ratelimit import BALE, SendLimiter
from desk.notifications import enqueue_chat, enqueue_copy, text_payload
from storage.columns import utcnow
from storage.locks import try_lock
from storage.models import OutboxMessage
from storage.repositories import Outbox
from storage.uow import unit_of_work

Fault = Callable[[TelegramMethod[Any]], Exception]


def server_error(method: TelegramMethod[Any]) -> Exception:
    return TelegramServerError(method=method, message="Internal Server Error")


def too_many(method: TelegramMethod[Any]) -> Exception:
    return TelegramRetryAfter(method=method, message="Too Many Requests: retry after 1", retry_after=1)


def blocked(method: TelegramMethod[Any]) -> Exception:
    return TelegramForbiddenError(method=method, message="Forbidden: bot was blocked by the user")


def dropped(method: TelegramMethod[Any]) -> Exception:
    return TelegramNetworkError(method=method, message="ServerDisconnectedError")


class FakeSession(BaseSession):
    """Answers sendMessage and copyMessage like the Bot API, failing on cue per chat."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay
        self.faults: dict[int, list[Fault]] = {}
        self.sent: list[tuple[int, str]] = []  # (chat id, text or "copy:<message id>")
        self.methods: list[TelegramMethod[Any]] = []
        self.before: Callable[[], Awaitable[None]] | None = None  # called as each request arrives
        self._ids = 1000

    def fail(self, chat_id: int, *faults: Fault) -> None:
        self.faults.setdefault(chat_id, []).extend(faults)

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> Any:
        self.methods.append(method)
        if self.before is not None:
            await self.before()
        chat_id = int(method.chat_id)  # type: ignore[attr-defined]
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.faults.get(chat_id):
            raise self.faults[chat_id].pop(0)(method)
        self._ids += 1
        if isinstance(method, CopyMessage):
            self.sent.append((chat_id, f"copy:{method.message_id}"))
            return MessageId(message_id=self._ids)
        assert isinstance(method, SendMessage)
        self.sent.append((chat_id, method.text))
        return Message(
            message_id=self._ids, date=datetime.now(), chat=Chat(id=chat_id, type="private"), text=method.text
        )

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 (aiogram's signature)
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError
        yield b""

    async def close(self) -> None:
        return None


@pytest.fixture
def session() -> FakeSession:
    return FakeSession()


@pytest.fixture
def bots(session: FakeSession) -> dict[str, Bot]:
    return {
        "telegram": Bot("1100000001:FAKE", session=session),
        "bale": Bot("2200000002:FAKE", session=session),
    }


def make_sender(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], **kwargs: Any
) -> OutboxSender:
    options: dict[str, Any] = {
        "poll_interval": 0.05,
        "backoff": Backoff(base=0.05, cap=0.2, max_attempts=3),
        "limiters": {name: SendLimiter(BALE) for name in bots},  # unlimited: these tests are about outcomes
    }
    options.update(kwargs)
    return OutboxSender(factory, bots, **options)


def note(n: int) -> dict[str, Any]:
    """A text payload whose rendered text is recognisable: 'پیش‌نویس' plus the number n."""
    return text_payload("bot.fee.fixed", "en", params={"amount": n})


async def queue(
    factory: async_sessionmaker[AsyncSession],
    chat_id: int,
    payload: dict[str, Any],
    key: str,
    platform: str = "telegram",
) -> None:
    async with unit_of_work(factory) as session:
        await enqueue_chat(
            session,
            platform=platform,
            chat_id=chat_id,
            organization_id="falavarjan",
            payload=payload,
            dedupe_key=key,
        )


async def statuses(factory: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with factory() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    return {row.dedupe_key: row.status for row in rows}


async def run_until_done(sender: OutboxSender, timeout: float = 30) -> None:  # noqa: ASYNC109
    task = asyncio.create_task(sender.run())
    try:
        await sender.drain(timeout)
    finally:
        await sender.stop()
        await task


async def eventually(condition: Callable[[], bool], timeout: float = 30) -> None:  # noqa: ASYNC109
    """Wait until ``condition()`` holds (a counter of the sender reaching a value); the deadline is generous, as
    a busy machine runs the sender many times slower than an idle one."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (the counters have no event to wait on)
            await asyncio.sleep(0.01)


def texts_to(session: FakeSession, chat_id: int) -> list[str]:
    return [text for chat, text in session.sent if chat == chat_id]


# --------------------------------------------------------------------------------------------- rendering


def test_render_text_escapes_params_localizes_numbers_labels_dates_and_buttons() -> None:
    payload = text_payload(
        "bot.browse.found",
        "fa",
        params={"query": "<b>پروانه</b> *"},
        labels={"org": "desk.status.completed"},
        buttons=[[{"label": "bot.nav.menu", "data": "menu"}]],
    )
    text, markup = render_text(Platform.TELEGRAM, payload)
    assert "&lt;b&gt;پروانه&lt;/b&gt; *" in text
    assert "<b>انجام‌شده</b>" in text
    assert markup is not None
    assert markup.inline_keyboard[0][0].callback_data == "menu"
    assert "<" not in markup.inline_keyboard[0][0].text

    bale_text, _ = render_text(Platform.BALE, payload)
    assert "*انجام‌شده*" in bale_text
    assert "∗" in bale_text  # the typed star can no longer start bold on Bale
    assert "<" in bale_text  # no HTML escaping on Bale: its text is read as written

    days = text_payload("bot.duration.days", "fa", params={"days": 1250}, dates={"date": date(2026, 11, 27)})
    days_text, no_buttons = render_text("telegram", days)
    assert "۱٬۲۵۰" in days_text
    assert "۶ آذر ۱۴۰۵" in days_text
    assert no_buttons is None


def test_render_text_refuses_a_payload_missing_a_parameter() -> None:
    with pytest.raises(PayloadError, match=r"bot\.duration\.days"):
        render_text("telegram", text_payload("bot.duration.days", "fa", params={"days": 3}))


def test_classify_separates_errors_for_good_from_transient_ones() -> None:
    method = SendMessage(chat_id=1, text="x")
    assert classify(blocked(method)).action == "fail"
    assert classify(TelegramBadRequest(method=method, message="Bad Request: chat not found")).action == "fail"
    assert classify(server_error(method)).action == "retry"
    assert classify(dropped(method)).action == "retry"
    assert classify(TimeoutError()).action == "retry"
    throttled = classify(too_many(method))
    assert (throttled.action, throttled.retry_after) == ("throttled", 1.0)


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    import random

    backoff = Backoff(base=2, cap=60)
    rng = random.Random(7)
    assert 1 <= backoff.delay(1, rng) <= 2
    assert 8 <= backoff.delay(4, rng) <= 16
    assert 30 <= backoff.delay(30, rng) <= 60


# ---------------------------------------------------------------------------------------------- sending


async def test_rows_are_sent_once_in_order_per_chat_and_marked_sent(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    recorded: list[tuple[int, int | None]] = []

    async def on_sent(db: AsyncSession, row: OutboxMessage, message_id: int | None) -> None:
        assert row.id is not None
        recorded.append((row.id, message_id))

    for n in range(1, 6):
        await queue(factory, 11, note(n), f"a{n}")
        await queue(factory, 22, note(n), f"b{n}", platform="bale")
    await run_until_done(make_sender(factory, bots, on_sent=on_sent))
    assert texts_to(session, 11) == [f"{n} rials" for n in range(1, 6)]
    assert texts_to(session, 22) == [f"{n} rials" for n in range(1, 6)]
    assert set((await statuses(factory)).values()) == {"sent"}
    assert len(recorded) == 10
    assert all(message_id is not None for _, message_id in recorded)


async def test_parse_mode_follows_the_platform(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    await queue(factory, 1, note(1), "t")
    await queue(factory, 2, note(2), "b", platform="bale")
    await run_until_done(make_sender(factory, bots))
    modes = {int(m.chat_id): m.parse_mode for m in session.methods if isinstance(m, SendMessage)}
    assert modes == {1: "HTML", 2: None}


async def test_a_5xx_is_retried_and_the_chat_keeps_its_order(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    session.fail(5, server_error, dropped)
    for n in range(1, 4):
        await queue(factory, 5, note(n), f"r{n}")
    sender = make_sender(factory, bots)
    await run_until_done(sender)
    assert texts_to(session, 5) == ["1 rials", "2 rials", "3 rials"]
    assert sender.stats.retried == 2
    assert set((await statuses(factory)).values()) == {"sent"}


async def test_a_429_waits_retry_after_without_spending_an_attempt(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    session.fail(8, too_many, too_many, too_many, too_many)  # more 429s than max_attempts
    await queue(factory, 8, note(1), "slow")
    await queue(factory, 9, note(2), "other")
    sender = make_sender(factory, bots)
    await run_until_done(sender)
    assert texts_to(session, 8) == ["1 rials"]
    assert texts_to(session, 9) == ["2 rials"]
    assert sender.stats.throttled == 4
    async with factory() as db:
        row = (await db.scalars(select(OutboxMessage).where(col(OutboxMessage.dedupe_key) == "slow"))).one()
    assert (row.status, row.attempts) == ("sent", 1)


async def test_a_blocked_citizen_fails_that_row_and_the_rest_are_delivered(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    session.fail(3, blocked)
    await queue(factory, 3, note(1), "blocked")
    for chat in (4, 5, 6):
        await queue(factory, chat, note(chat), f"ok{chat}")
    sender = make_sender(factory, bots)
    await run_until_done(sender)
    assert await statuses(factory) == {"blocked": "failed", "ok4": "sent", "ok5": "sent", "ok6": "sent"}
    async with factory() as db:
        row = (
            await db.scalars(select(OutboxMessage).where(col(OutboxMessage.dedupe_key) == "blocked"))
        ).one()
    assert "blocked" in (row.last_error or "")


async def test_a_row_failing_every_time_is_given_up_after_max_attempts(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    session.fail(7, server_error, server_error, server_error, server_error)
    await queue(factory, 7, note(1), "doomed")
    sender = make_sender(factory, bots)
    await run_until_done(sender)
    assert await statuses(factory) == {"doomed": "failed"}
    assert sender.stats.failed == 1
    assert session.sent == []


async def test_a_later_row_waits_for_an_earlier_one_that_is_being_retried(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    """Regression: a new row must not overtake its chat's older row waiting for a retry ("completed"
    arriving before "needs info")."""
    await queue(factory, 12, note(1), "needs_info")
    async with unit_of_work(factory, write=True) as db:
        outbox = Outbox(db)
        (claimed,) = await outbox.claim_due(1)
        assert claimed.id is not None
        await outbox.mark_retry(claimed.id, at=utcnow() + timedelta(seconds=1), error="502")
    await queue(factory, 12, note(2), "completed")
    await run_until_done(make_sender(factory, bots))
    assert texts_to(session, 12) == ["1 rials", "2 rials"]


async def test_rows_of_a_sender_that_died_are_sent_after_its_lease(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    for n in range(1, 4):
        await queue(factory, 30 + n, note(n), f"orphan{n}")
    async with unit_of_work(factory, write=True) as db:  # a sender claims them, then the process dies
        assert len(await Outbox(db).claim_due(10, lease=timedelta(seconds=1))) == 3
    sender = make_sender(factory, bots)
    await run_until_done(sender)
    assert sorted(session.sent) == [(31, "1 rials"), (32, "2 rials"), (33, "3 rials")]


async def test_no_more_rows_than_in_flight_are_ever_sent_and_not_yet_recorded(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    """What a kill -9 would repeat at any moment (sent, not recorded sent) is at most ``in_flight`` rows."""
    session.delay = 0.01
    for n in range(1, 41):
        await queue(factory, 100 + n, note(n), f"f{n}", platform="bale")
    unrecorded: list[int] = []

    async def count_unrecorded() -> None:
        sent = len(session.methods)  # before the query: sends that start while it runs are not this moment's
        async with factory() as db:
            recorded = len(
                (await db.scalars(select(OutboxMessage.id).where(col(OutboxMessage.status) == "sent"))).all()
            )
        unrecorded.append(sent - recorded)

    session.before = count_unrecorded
    await run_until_done(make_sender(factory, bots, in_flight=3))
    assert len(session.sent) == 40
    assert max(unrecorded) <= 3
    assert max(unrecorded) == 3  # and the sender does use them


async def _dead_pid() -> int:
    process = await asyncio.create_subprocess_exec("true")
    await process.wait()
    return process.pid


async def test_a_restarted_sender_takes_back_at_once_the_rows_of_a_dead_process_of_its_machine(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    machine, pid, _ = lease_owner().split(":")
    owners = {
        "dead": f"{machine}:{await _dead_pid()}:0",
        "earlier with our pid": f"{machine}:{pid}:0",
        "alive here": f"{machine}:{os.getppid()}:0",
        "another machine": f"elsewhere:{await _dead_pid()}:0",
    }
    for n, (key, owner) in enumerate(owners.items()):
        await queue(factory, 90 + n, note(n), key)
        async with unit_of_work(
            factory, write=True
        ) as db:  # claimed under a long lease, then the process died
            assert len(await Outbox(db).claim_due(1, lease=timedelta(minutes=10), owner=owner)) == 1
    sender = make_sender(factory, bots)
    task = asyncio.create_task(sender.run())
    try:
        await eventually(lambda: len(session.sent) >= 2)  # long before their 10-minute lease ends
        await asyncio.sleep(0.3)
    finally:
        await sender.stop()
        await task
    assert await statuses(factory) == {
        "dead": "sent",
        "earlier with our pid": "sent",
        "alive here": "sending",  # a live process keeps its rows
        "another machine": "sending",  # whose processes cannot be seen: its lease runs its course
    }


async def test_a_row_whose_send_takes_long_keeps_its_lease(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    """The lease of a row held is renewed: another sender never finds it due, however long it is held."""
    later = [timedelta(0)]
    sending = asyncio.Event()
    session.before = sending.wait  # the send is under way until the test lets it end
    await queue(factory, 80, note(1), "slow")
    sender = make_sender(factory, bots, clock=lambda: utcnow() + later[0])
    task = asyncio.create_task(sender.run())

    async def locked_until() -> datetime:
        async with factory() as db:
            row = (await db.scalars(select(OutboxMessage))).one()
        assert row.locked_until is not None
        return row.locked_until

    try:
        await eventually(lambda: len(session.methods) == 1)
        first = await locked_until()
        later[0] = timedelta(seconds=30)  # the send is still under way 30 s on (of a 45 s lease)
        async with asyncio.timeout(30):  # generous: the renewal comes at the sender's next round
            while await locked_until() < first + timedelta(seconds=30):  # noqa: ASYNC110 (a database row)
                await asyncio.sleep(0.02)
        async with unit_of_work(factory, write=True) as db:  # after the first lease, another sender looks
            assert await Outbox(db).claim_due(10, now=first + timedelta(seconds=5), channel="chat") == []
        sending.set()
        await eventually(lambda: sender.stats.sent == 1)
    finally:
        await sender.stop()
        await task
    assert await statuses(factory) == {"slow": "sent"}
    assert len(session.sent) == 1


async def test_cancelling_the_sender_mid_batch_loses_and_repeats_nothing(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    session.delay = 0.05
    for n in range(1, 31):
        await queue(factory, 40 + n % 3, note(n), f"k{n}")
    first = make_sender(factory, bots)
    task = asyncio.create_task(first.run())
    await eventually(lambda: len(session.sent) >= 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 5 <= first.stats.sent < 30
    assert first.stats.sent == len(session.sent)  # every send that started was marked
    await run_until_done(make_sender(factory, bots))
    assert len(session.sent) == 30
    for chat in (40, 41, 42):
        numbers = [int(text.split()[0]) for text in texts_to(session, chat)]
        assert numbers == sorted(numbers)
    assert set((await statuses(factory)).values()) == {"sent"}


async def test_a_rolled_back_change_sends_nothing(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    async def change_that_fails() -> None:
        async with unit_of_work(factory) as db:
            await enqueue_chat(
                db, platform="telegram", chat_id=1, organization_id="x", payload=note(1), dedupe_key="rolled"
            )
            raise RuntimeError("the status change failed")

    with pytest.raises(RuntimeError):
        await change_that_fails()
    await run_until_done(make_sender(factory, bots))
    assert session.sent == []
    assert await statuses(factory) == {}


async def test_copy_sends_the_header_then_the_copy(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    async with unit_of_work(factory) as db:
        await enqueue_copy(
            db,
            platform="bale",
            chat_id=50,
            organization_id="x",
            from_chat_id=-100,
            message_id=42,
            dedupe_key="relay",
            header={"key": "bot.fee.fixed", "lang": "en", "params": {"amount": 5}},
        )
    await run_until_done(make_sender(factory, bots))
    assert texts_to(session, 50) == ["5 rials", "copy:42"]


async def test_card_rows_go_to_the_registered_handler(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    drawn: list[int] = []
    ids: list[int | None] = []

    async def draw_card(bot: Bot, row: OutboxMessage) -> Message:
        drawn.append(int(row.payload["request_id"]))
        return await bot.send_message(chat_id=int(row.chat_id or 0), text="card")

    async def on_sent(db: AsyncSession, row: OutboxMessage, message_id: int | None) -> None:
        ids.append(message_id)

    async with unit_of_work(factory) as db:
        await enqueue_chat(
            db,
            platform="telegram",
            chat_id=-1009,
            organization_id="x",
            payload={"type": "card", "request_id": 77},
            dedupe_key="card",
        )
    await run_until_done(make_sender(factory, bots, handlers={"card": draw_card}, on_sent=on_sent))
    assert drawn == [77]
    assert ids == [session._ids]


async def test_a_type_without_handler_is_retried_not_lost(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    async with unit_of_work(factory) as db:
        await enqueue_chat(
            db,
            platform="telegram",
            chat_id=-1009,
            organization_id="x",
            payload={"type": "card", "request_id": 1},
            dedupe_key="c",
        )
        await enqueue_chat(
            db, platform="telegram", chat_id=6, organization_id="x", payload=note(6), dedupe_key="t"
        )
    sender = make_sender(factory, bots, backoff=Backoff(base=30, cap=30, max_attempts=3))
    task = asyncio.create_task(sender.run())
    await eventually(lambda: sender.stats.retried >= 1 and sender.stats.sent >= 1)
    await sender.stop()
    await task
    assert await statuses(factory) == {"c": "pending", "t": "sent"}


async def test_a_malformed_payload_fails_at_once(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    await queue(factory, 9, {"type": "text", "lang": "fa"}, "no-key")
    await run_until_done(make_sender(factory, bots))
    assert await statuses(factory) == {"no-key": "failed"}


async def test_the_telegram_limits_apply_by_default(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    for n in range(1, 5):
        await queue(factory, 60, note(n), f"l{n}")
    sender = OutboxSender(factory, bots, poll_interval=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await run_until_done(sender)
    assert texts_to(session, 60) == [f"{n} rials" for n in range(1, 5)]
    assert loop.time() - started >= 1.9  # a burst of 2, then one a second


async def test_a_chats_backlog_beyond_what_is_held_is_put_back_in_order(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    for n in range(1, 9):
        await queue(factory, 70, note(n), f"p{n}")
    sender = OutboxSender(
        factory,
        bots,
        poll_interval=0.05,
        per_chat_in_hand=2,
        limiters={"telegram": SendLimiter(BALE.__class__(None, 1, 20.0, 1, None, 1, False))},
    )
    await run_until_done(sender)
    assert texts_to(session, 70) == [f"{n} rials" for n in range(1, 9)]
    assert sender.stats.put_back > 0


# ------------------------------------------------------------------------------------------ lanes per platform


async def test_a_telegram_backlog_never_delays_bale(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    for n in range(1, 21):  # older than Bale's message, more than one claim's window, 5 a second at most
        await queue(factory, 100 + n, note(n), f"t{n}")
    await queue(factory, 900, note(99), "bale", platform="bale")
    slow = BALE.__class__(5.0, 1, None, 1, None, 1, False)
    sender = make_sender(
        factory, bots, batch=5, limiters={"telegram": SendLimiter(slow), "bale": SendLimiter(BALE)}
    )
    await run_until_done(sender)
    order = [chat for chat, _ in session.sent]
    assert len(order) == 21
    assert order.index(900) < 3  # Bale's own lane: it does not wait for Telegram's twenty


async def test_a_sender_without_a_platforms_bot_leaves_its_rows_to_one_that_has_it(
    factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    await queue(factory, 910, note(1), "for-bale", platform="bale")
    await queue(factory, 920, note(2), "for-telegram")
    telegram_only = make_sender(factory, {"telegram": bots["telegram"]})
    task = asyncio.create_task(telegram_only.run())
    await eventually(lambda: telegram_only.stats.sent == 1)
    await telegram_only.stop()
    await task
    async with factory() as db:
        bale_row = (await db.scalars(select(OutboxMessage).where(col(OutboxMessage.chat_id) == 910))).one()
    assert (bale_row.status, bale_row.attempts, bale_row.locked_by) == ("pending", 0, None)
    assert bale_row.next_attempt_at <= utcnow()  # not pushed back: a Bale sender sends it at once

    bale_only = make_sender(factory, {"bale": bots["bale"]})
    started = asyncio.get_running_loop().time()
    await run_until_done(bale_only)
    assert asyncio.get_running_loop().time() - started < 5
    assert texts_to(session, 910) == ["1 rials"]
    assert await statuses(factory) == {"for-bale": "sent", "for-telegram": "sent"}


# ------------------------------------------------------------------------- one sender without shared limits


async def test_without_shared_limits_a_second_sender_idles_and_takes_over_when_the_first_stops(
    engine: AsyncEngine, factory: async_sessionmaker[AsyncSession], bots: dict[str, Bot], session: FakeSession
) -> None:
    locker = functools.partial(try_lock, engine)
    first, second = make_sender(factory, bots, locker=locker), make_sender(factory, bots, locker=locker)
    first_task = asyncio.create_task(first.run())
    await eventually(lambda: set(first._sending) == set(bots))  # it holds both platforms' locks
    second_task = asyncio.create_task(second.run())
    for n in range(1, 11):
        await queue(factory, 300 + n, note(n), f"one{n}", platform="telegram" if n % 2 else "bale")
    first.notify()
    await first.drain()
    assert (first.stats.sent, second.stats.claimed) == (10, 0), "only one process sends"

    await first.stop()
    await first_task
    await queue(factory, 400, note(11), "after")
    second.notify()
    await second.drain()
    await second.stop()
    await second_task
    assert second.stats.sent == 1, "the other one took over"
    assert len(session.sent) == 11
