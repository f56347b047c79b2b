"""The outbox sender: delivers the chat messages that committed transactions left in ``outbox_message``.

Rules (the story is in docs/ARCHITECTURE.md):

* A row exists only if its change committed, and stays pending or leased until marked sent or failed.
* Each platform is a lane: its own claim of up to ``OutboxSender.batch`` rows and its own ``in_flight`` slots, so a
  backlog on one never delays another; a sender claims only the rows of the platforms it has a bot for.
* One chat's rows go in order; a row waiting for a retry holds its chat's later rows, across senders too.
* A row is marked sent in its own transaction right after the API answered. A hard kill repeats at most the rows in
  flight, ``OutboxSender.in_flight`` per platform (a ``copy`` row with a header: both messages); a timeout repeats
  its row.
* Leases name their owner (:func:`lease_owner`) and are renewed every ``lease``/8 while held; on start a sender ends
  the leases of dead processes of its machine (:func:`dead_owners`, both in :mod:`bot.worker`); others run out
  within ``lease``.
* 429 pauses the chat (Telegram) or the bot (Bale) for ``retry_after``, uncounted; network errors and 5xx back off
  exponentially with jitter; other 4xx, and the last of ``Backoff.max_attempts``, fail the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.log_context import bind
from bot.metrics import ERRORS, SENDS
from bot.platforms import Platform
from bot.ratelimit import SendLimiter, limits_for
from bot.render import Renderer
from bot.worker import LEASE_MARGIN, Backoff, Clock, Worker, dead_owners, end_dead_leases, lease_owner
from desk.persian import format_jalali_date, format_number
from storage.columns import utcnow
from storage.locks import HeldLock
from storage.models import OutboxMessage
from storage.repositories import Outbox

__all__ = [
    "Backoff",
    "FailedHook",
    "Locker",
    "OutboxSender",
    "PayloadError",
    "PayloadHandler",
    "SenderStats",
    "SentHook",
    "Verdict",
    "classify",
    "dead_owners",
    "end_dead_leases",
    "lease_owner",
    "render_text",
]

logger = logging.getLogger(__name__)

PayloadHandler = Callable[[Bot, OutboxMessage], Awaitable[Message | None]]
"""Sends a row of a pluggable payload type (``card``) and answers the message it sent, if any."""

SentHook = Callable[[AsyncSession, OutboxMessage, int | None], Awaitable[None]]
"""Called with the session of the ``mark_sent`` transaction, the row and the id of the message sent
(None when the handler sent nothing), e.g. to remember a card's message id. Runs in a SAVEPOINT: if it
raises, the error is logged and the row is still marked sent."""

FailedHook = Callable[[AsyncSession, OutboxMessage, BaseException], Awaitable[None]]
"""Called with the session of the ``mark_failed`` transaction, the row and the error, when a row fails for
good (e.g. to tell a citizen who blocked the bot by SMS). Runs in a SAVEPOINT: if it raises, the error is
logged and the row is still marked failed."""

_EPSILON = timedelta(milliseconds=1)  # keeps put-back rows of one chat in their order by next_attempt_at
_NOT_HERE = timedelta(minutes=5)  # put back a row without a chat (written by hand): someone should look at it


class PayloadError(ValueError):
    """The payload cannot be rendered (malformed JSON, missing parameter): retrying would not help."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with a row after an API error: ``"retry"``, ``"throttled"`` (429) or ``"fail"``."""

    action: str
    error: str
    retry_after: float | None = None


def classify(error: BaseException) -> Verdict:
    """Decide whether a send error is for good (blocked, unknown chat, bad request) or worth retrying."""
    text = f"{type(error).__name__}: {error}"[:500]
    if isinstance(error, TelegramRetryAfter):
        return Verdict("throttled", text, float(error.retry_after))
    if isinstance(error, TelegramMigrateToChat):
        return Verdict("fail", f"{text} (the group moved to {error.migrate_to_chat_id})")
    if isinstance(
        error,
        TelegramForbiddenError
        | TelegramBadRequest
        | TelegramNotFound
        | TelegramEntityTooLarge
        | PayloadError,
    ):
        return Verdict("fail", text)
    # 5xx, network errors and timeouts, 401 (a token being fixed), and anything unexpected: try again later.
    return Verdict("retry", text)


@dataclass
class SenderStats:
    """Counters of one sender since it was created (for logs, health checks and the benchmark)."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    throttled: int = 0
    """429 answers received."""
    failed: int = 0
    put_back: int = 0
    """Rows handed back without an attempt (order within a chat, shutdown, a chat's backlog)."""
    expired: int = 0
    """Rows dropped unsent because their lease was about to run out."""


def _param(value: Any, lang: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    return format_number(value, lang)


Locker = Callable[[str], Awaitable[HeldLock | None]]
"""Takes the named lock if no other process holds it (:func:`storage.locks.try_lock` bound to the engine)."""

OrgNames = Callable[[str, str], str]
"""``(organization id, language) -> the organization's name``: notifications carry the id as ``params["org"]``."""


def render_text(
    platform: Platform | str, payload: Mapping[str, Any], org_names: OrgNames | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text and inline keyboard of a ``text`` payload (see ``desk.notifications``) for ``platform``.

    Raises :class:`PayloadError` when the payload is malformed or the text needs a parameter it lacks.
    """
    try:
        lang = str(payload.get("lang") or "fa")
        renderer = Renderer.get(Platform(platform), lang)
        params: dict[str, Any] = {name: _param(v, lang) for name, v in (payload.get("params") or {}).items()}
        if org_names is not None and isinstance(params.get("org"), str):
            params["org"] = org_names(params["org"], lang)
        for name, label in (payload.get("labels") or {}).items():
            params[name] = renderer.plain(str(label))
        for name, iso in (payload.get("dates") or {}).items():
            params[name] = format_jalali_date(date.fromisoformat(str(iso)), lang)
        text = renderer.text(str(payload["key"]), **params)
        markup = None
        if payload.get("buttons"):
            markup = InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text=renderer.plain(str(button["label"])),
                            callback_data=button.get("data"),
                            url=button.get("url"),
                        )
                        for button in row
                    ]
                    for row in payload["buttons"]
                ]
            )
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise PayloadError(
            f"cannot render {payload.get('key')!r}: {type(error).__name__}: {error}"
        ) from error
    return text, markup


@dataclass(slots=True)
class _Held:
    row: OutboxMessage
    deadline: datetime  # the lease ends here

    @property
    def id(self) -> int:
        assert self.row.id is not None
        return self.row.id


_LaneKey = tuple[str, int]


@dataclass
class OutboxSender(Worker):
    """The long-running task that delivers the outbox's chat rows (see the module docstring).

    ``bots`` maps a platform name (``"telegram"``, ``"bale"``) to its Bot. ``handlers`` send pluggable payload
    types (``"card"``), ``on_sent`` records what was sent (:data:`SentHook`), ``clock`` gives the time stored
    in the database. Start, notify and stop it as any :class:`bot.worker.Worker`; stop it before closing the
    bots.
    """

    name: ClassVar[str] = "outbox"
    channel: ClassVar[str] = "chat"

    factory: async_sessionmaker[AsyncSession]
    bots: Mapping[str, Bot]
    handlers: Mapping[str, PayloadHandler] = field(default_factory=dict)
    on_sent: SentHook | None = None
    on_failed: FailedHook | None = None
    org_names: OrgNames | None = None
    clock: Clock = utcnow
    batch: int = 50
    """Most rows held at once per platform (each platform's lane claims its own)."""
    lease: timedelta = timedelta(seconds=45)
    """How long a claim holds a row; renewed every ``lease``/8 while this sender holds it."""
    in_flight: int = 8
    """At most this many rows per platform are between the start of their API call and the commit of their
    outcome: what a hard kill can make the sender repeat."""
    owner: str = field(default_factory=lease_owner)
    """The lease owner written on the rows this sender claims (:func:`bot.worker.lease_owner`)."""
    poll_interval: float = 1.0
    request_timeout: int = 20
    backoff: Backoff = field(default_factory=Backoff)
    limiters: Mapping[str, SendLimiter] | None = None
    per_chat_in_hand: int = 5
    """At most this many rows of one rate-limited chat are held; the rest are put back until their turn."""
    locker: Locker | None = None
    """When the send limits are this process's own (no Redis), only one process may send a platform's rows: a
    lane claims only while this process holds the lock ``outbox:<platform>`` taken with it
    (:func:`storage.locks.try_lock`); another process's lanes idle, asking again every poll, and take over when it
    dies. None: every process sends (the limits are shared, :mod:`bot.shared_limits`)."""
    rng: random.Random = field(default_factory=random.Random)
    stats: SenderStats = field(default_factory=SenderStats, init=False)

    def __post_init__(self) -> None:
        if self.lease < timedelta(seconds=self.request_timeout) + 2 * LEASE_MARGIN:
            raise ValueError("the lease must be longer than request_timeout plus 20 seconds")
        if self.in_flight < 1:
            raise ValueError("at least one row must be allowed in flight")
        super().__post_init__()
        if self.limiters is None:
            self.limiters = {name: SendLimiter(limits_for(name)) for name in self.bots}
        self._limiters: Mapping[str, SendLimiter] = self.limiters
        self._held: dict[int, _Held] = {}
        self._lanes: dict[_LaneKey, deque[_Held]] = {}
        self._lane_tasks: dict[_LaneKey, asyncio.Task[None]] = {}
        self._units: set[asyncio.Task[bool]] = set()
        self._slots = {platform: asyncio.Semaphore(self.in_flight) for platform in self.bots}
        self._sending: dict[str, HeldLock] = {}  # platform -> our lock on sending its rows (with a locker)
        self._told_idle: set[str] = set()
        self._renew_at = self.clock()

    # ------------------------------------------------------------------------------------------ control

    async def drain(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 (a deadline for tests and tools)
        """Wait until no row is pending or being sent: every one is sent or failed (tests, the benchmark)."""
        async with asyncio.timeout(timeout):
            while True:
                self.notify()
                async with self.factory() as session:
                    left = await Outbox(session).has_unfinished()
                if not left and not self._units:
                    return
                await asyncio.sleep(0.05)

    async def _begin(self) -> None:
        await super()._begin()
        self._renew_at = self.clock() + self.lease / 8

    async def _round(self) -> bool:
        """Claim each platform's due rows in its own lane: a backlog on one never delays another."""
        await self._keep_leases()
        more = False
        for platform in self.bots:
            room = self.batch - self._held_of(platform)
            if room <= 0 or not await self._may_send(platform):
                continue
            try:
                claimed = await self._claim(platform, room)
            except Exception:
                logger.exception("outbox: claiming due %s rows failed; trying again shortly", platform)
                continue
            # More may be due, and there is room for them.
            more = more or (claimed == room and self._held_of(platform) < self.batch)
        return more

    async def _may_send(self, platform: str) -> bool:
        """Whether this process sends ``platform``'s rows: always without a :attr:`locker`, else while it holds
        the platform's lock (taken here when free)."""
        if self.locker is None or platform in self._sending:
            return True
        try:
            lock = await self.locker(f"outbox:{platform}")
        except Exception:
            logger.exception("outbox: could not ask for the lock of sending %s rows", platform)
            return False
        if lock is None:
            if platform not in self._told_idle:
                self._told_idle.add(platform)
                logger.info(
                    "outbox: another process sends the %s rows; this one waits to take over", platform
                )
            return False
        self._sending[platform] = lock
        if platform in self._told_idle:
            self._told_idle.discard(platform)
            logger.info("outbox: this process sends the %s rows now", platform)
        return True

    def _held_of(self, platform: str) -> int:
        """How many rows of ``platform``'s lane this sender holds (at most :attr:`batch`)."""
        return sum(1 for item in self._held.values() if item.row.platform == platform)

    async def _shutdown(self) -> None:
        self._stopping.set()
        lanes = list(self._lane_tasks.values())
        for task in lanes:
            task.cancel()  # a lane stops between rows; the row in flight runs on, shielded
        await asyncio.gather(*lanes, return_exceptions=True)
        if self._units:
            await asyncio.wait(set(self._units), timeout=self.request_timeout + 5)
        leftover = list(self._held.values())
        self._held.clear()
        self._lanes.clear()
        if leftover:
            now = self.clock()
            try:
                await self._put_back([(item, now) for item in leftover if item.deadline > now], "shutdown")
            except Exception:
                logger.exception(
                    "outbox: could not hand back %d rows; their lease will free them", len(leftover)
                )
        for platform in list(self._sending):
            with contextlib.suppress(Exception):  # a lock not released ends with the process
                await self._sending.pop(platform).release()

    # ------------------------------------------------------------------------------------------- claim

    async def _claim(self, platform: str, room: int) -> int:
        """Claim up to ``room`` due rows of ``platform``, keep the ones that may go now, put back the rest; rows
        claimed."""
        async with self._write() as session:
            now = self.clock()
            rows = await self._claim_due(session, room, now, platform)
            if not rows:
                return 0
            deadline = now + self.lease
            fresh: list[_Held] = []
            for row in rows:
                assert row.id is not None
                if row.id in self._held:  # our own row whose lease ran out: it is ours again, for longer
                    self._held[row.id].deadline = deadline
                else:
                    fresh.append(_Held(row, deadline))
            keep, back = await self._sort_out(session, fresh, now)
            await Outbox(session).put_back([(item.row, at) for item, at in back])
        self.stats.claimed += len(fresh)
        self.stats.put_back += len(back)
        for item in sorted(keep, key=lambda held: held.id):
            self._held[item.id] = item
            key = (str(item.row.platform), int(item.row.chat_id or 0))
            self._lanes.setdefault(key, deque()).append(item)
            if key not in self._lane_tasks:
                self._lane_tasks[key] = asyncio.create_task(self._lane(key), name=f"outbox:{key[0]}:{key[1]}")
        return len(rows)

    async def _keep_leases(self) -> None:
        """Every ``lease``/8, extend the leases of the rows we hold (those not about to run out)."""
        if not self._held or self.clock() < self._renew_at:
            return
        now = self.clock()
        self._renew_at = now + self.lease / 8
        mine = [item for item in self._held.values() if item.deadline - now >= LEASE_MARGIN]
        deadline = now + self.lease
        if mine and await self._renew([item.id for item in mine], deadline):
            for item in mine:
                item.deadline = max(item.deadline, deadline)

    async def _sort_out(
        self, session: AsyncSession, fresh: Sequence[_Held], now: datetime
    ) -> tuple[list[_Held], list[tuple[_Held, datetime]]]:
        """Split claimed rows into those to send now and those to put back (with when they are due)."""
        keep: list[_Held] = []
        back: list[tuple[_Held, datetime]] = []
        by_chat: dict[_LaneKey, list[_Held]] = defaultdict(list)
        for item in fresh:
            row = item.row
            if row.chat_id is None:
                logger.warning("outbox: row %s (%s) has no chat to go to", row.id, row.platform)
                back.append((item, now + _NOT_HERE))
            else:
                by_chat[(str(row.platform), row.chat_id)].append(item)
        newest = max((item.id for items in by_chat.values() for item in items), default=0)
        blockers = await Outbox(session).blockers(
            by_chat, before=newest, mine={*(item.id for item in fresh), *self._held}
        )
        for key, items in by_chat.items():
            items.sort(key=lambda held: held.id)
            blocker = blockers.get(key)
            lane_len = len(self._lanes.get(key, ()))
            interval = self._limiters[key[0]].interval(key[1])
            for item in items:
                if blocker is not None and item.id > blocker[0]:
                    back.append((item, blocker[1] + _EPSILON * (len(back) + 1)))
                elif interval and lane_len >= self.per_chat_in_hand:
                    # This chat's backlog: come back about when its turn would come.
                    wait = timedelta(seconds=interval * (lane_len - self.per_chat_in_hand + 1))
                    back.append((item, now + wait + _EPSILON * (len(back) + 1)))
                    lane_len += 1
                else:
                    keep.append(item)
                    lane_len += 1
        return keep, back

    async def _put_back(self, items: Sequence[tuple[_Held, datetime]], why: str) -> None:
        if not items:
            return
        async with self._write() as session:
            await Outbox(session).put_back([(item.row, at) for item, at in items])
        self.stats.put_back += len(items)
        logger.info("outbox: handed back %d rows (%s)", len(items), why)

    # -------------------------------------------------------------------------------------------- send

    async def _lane(self, key: _LaneKey) -> None:
        """Send one chat's rows one after another; stop the lane when a row must wait (keeps the order)."""
        platform, chat_id = key
        limiter = self._limiters[platform]
        queue = self._lanes[key]
        try:
            while queue and not self._stopping.is_set():
                item = queue[0]
                await limiter.acquire_chat(chat_id)
                slots = self._slots[platform]
                await slots.acquire()  # released when the row's outcome is committed
                try:
                    await limiter.acquire_bot(chat_id)
                except BaseException:
                    slots.release()
                    raise
                unit = asyncio.create_task(self._deliver(item, limiter))
                self._units.add(unit)
                unit.add_done_callback(functools.partial(self._unit_done, slots))
                sent_in_order = await asyncio.shield(unit)
                queue.popleft()
                if not sent_in_order and queue:
                    await self._hold_lane(key, queue)
        except asyncio.CancelledError:
            if not self._stopping.is_set():
                raise
        except Exception:
            logger.exception("outbox: lane %s stopped; its rows are handed back", key)
            with contextlib.suppress(Exception):
                await self._hold_lane(key, queue)
        finally:
            if self._lanes.get(key) is queue and not queue:
                del self._lanes[key]
            if self._lane_tasks.get(key) is asyncio.current_task():
                del self._lane_tasks[key]
            if self._held_of(platform) <= self.batch // 2:
                self._wake.set()

    def _unit_done(self, slots: asyncio.Semaphore, unit: asyncio.Task[bool]) -> None:
        self._units.discard(unit)
        slots.release()

    async def _hold_lane(self, key: _LaneKey, queue: deque[_Held]) -> None:
        """The head of the lane must wait: hand the rest back right after it, in order."""
        async with self.factory() as session:
            head = await Outbox(session).next_pending_at(*key)
        base = head or self.clock()
        rest = [(item, base + _EPSILON * (n + 1)) for n, item in enumerate(queue)]
        for item in queue:
            self._held.pop(item.id, None)
        queue.clear()
        await self._put_back(rest, "an earlier message of the chat must wait")

    async def _deliver(self, item: _Held, limiter: SendLimiter) -> bool:
        """Send one row and record the outcome; True when the chat's next row may follow at once."""
        row = item.row
        if self.clock() > item.deadline - timedelta(seconds=self.request_timeout) - LEASE_MARGIN:
            # Another sender may take it any moment now: leave it to whoever claims it next.
            self._held.pop(item.id, None)
            self.stats.expired += 1
            return False
        bind(organization=row.organization_id, request_id=row.request_id, platform=row.platform)
        try:
            message_id = await self._send(row, limiter)
        except Exception as error:
            verdict = classify(error)
            if verdict.action == "retry" and not isinstance(error, TelegramAPIError | OSError | TimeoutError):
                ERRORS.labels("outbox").inc()
                logger.exception("outbox: unexpected error sending row %s", row.id)
            return await self._after_error(item, verdict, limiter, error)
        await self._mark_sent(item, message_id)
        return True

    async def _send(self, row: OutboxMessage, limiter: SendLimiter) -> int | None:
        bot = self.bots[str(row.platform)]
        chat_id = int(row.chat_id or 0)
        payload = row.payload or {}
        kind = payload.get("type")
        if kind == "text":
            return (await self._send_text(bot, row.platform, chat_id, payload)).message_id
        if kind == "copy":
            if payload.get("key"):
                await self._send_text(bot, row.platform, chat_id, payload)
                await limiter.acquire(chat_id)
            copied = await bot.copy_message(
                chat_id=chat_id,
                from_chat_id=int(payload["from_chat_id"]),
                message_id=int(payload["message_id"]),
                request_timeout=self.request_timeout,
            )
            return copied.message_id
        handler = self.handlers.get(str(kind))
        if handler is None:
            raise LookupError(f"no handler for outbox payload type {kind!r}")
        message = await handler(bot, row)
        return message.message_id if message is not None else None

    async def _send_text(
        self, bot: Bot, platform: str | None, chat_id: int, payload: Mapping[str, Any]
    ) -> Message:
        text, markup = render_text(str(platform), payload, self.org_names)
        reply_to = payload.get("reply_to")
        return await bot.send_message(
            chat_id=chat_id,
            text=text,
            parse_mode=ParseMode.HTML if Platform(str(platform)).has_html else None,
            reply_markup=markup,
            reply_parameters=(
                ReplyParameters(message_id=int(reply_to), allow_sending_without_reply=True)
                if reply_to
                else None
            ),
            request_timeout=self.request_timeout,
        )

    async def _mark_sent(self, item: _Held, message_id: int | None) -> None:
        for attempt in range(3):
            try:
                async with self._write() as session:
                    await Outbox(session).mark_sent(item.id, at=self.clock())
                    if self.on_sent is not None:
                        try:
                            async with session.begin_nested():
                                await self.on_sent(session, item.row, message_id)
                        except Exception:
                            logger.exception("outbox: on_sent failed for row %s (it stays sent)", item.id)
                break
            except Exception:
                logger.exception(
                    "outbox: row %s was sent but marking it failed (try %d)", item.id, attempt + 1
                )
                await asyncio.sleep(0.5 * (attempt + 1))
        self._held.pop(item.id, None)
        self.stats.sent += 1
        SENDS.labels(str(item.row.platform), "sent").inc()

    async def _after_error(
        self, item: _Held, verdict: Verdict, limiter: SendLimiter, cause: BaseException
    ) -> bool:
        row = item.row
        now = self.clock()
        if verdict.action == "throttled":
            retry_after = verdict.retry_after or 1.0
            limiter.penalize(int(row.chat_id or 0), retry_after)
            self.stats.throttled += 1
            SENDS.labels(str(row.platform), "429").inc()
            at = now + timedelta(seconds=retry_after * (1 + self.rng.uniform(0, 0.1)))
            row.last_error = verdict.error
            async with self._write() as session:
                await Outbox(session).put_back([(row, at)])
            self._held.pop(item.id, None)
            return False
        give_up = verdict.action == "fail" or row.attempts >= self.backoff.max_attempts
        async with self._write() as session:
            outbox = Outbox(session)
            if give_up:
                error = (
                    verdict.error
                    if verdict.action == "fail"
                    else f"gave up after {row.attempts} attempts: {verdict.error}"
                )
                await outbox.mark_failed(item.id, error=error)
                if self.on_failed is not None:
                    try:
                        async with session.begin_nested():
                            await self.on_failed(session, row, cause)
                    except Exception:
                        logger.exception("outbox: on_failed failed for row %s", item.id)
            else:
                await outbox.mark_retry(item.id, at=self._retry_at(row, now), error=verdict.error)
        self._held.pop(item.id, None)
        if give_up:
            self.stats.failed += 1
            SENDS.labels(str(row.platform), "failed").inc()
            logger.info("outbox: row %s failed for good: %s", row.id, verdict.error)
            return True  # a failed row does not hold back the chat's next one
        self.stats.retried += 1
        SENDS.labels(str(row.platform), "retried").inc()
        return False
