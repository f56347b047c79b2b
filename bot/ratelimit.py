"""Per-platform send limits as async token buckets, so the outbox stays under the messengers' flood limits.

Telegram documents about 30 messages per second per bot, about one per second in a chat (short bursts pass)
and 20 per minute in a group; past them it answers 429 with ``retry_after``. Bale publishes no fixed limit
but answers 429 the same way. :class:`SendLimiter` keeps, for one bot, a token bucket for the bot, one per
chat and one per group (negative chat ids), all in this process.

A bucket counts in the time tokens are really taken: waiters queue on a lock in arrival order and only the
first one sleeps, exactly until the next token exists, so nobody polls. Handing out reservations in advance
instead would let every waiter whose time passed during a stall of the event loop (a long garbage
collection) leave at once, a burst the messenger answers with 429; here at most ``burst`` can. The narrow buckets
(chat, group) are waited for before the bot's own, so a message waiting for its chat holds no bot-wide slot that
another chat could use; the chat's token is taken only with the bot's, so the chat's bucket counts the message
when it leaves, however long a backlog of other chats held it. Our rates sit a little below the documented ones:
a token bucket of rate ``r`` and burst ``b`` lets ``b + r`` messages through in any one second (``b + 60 r`` in a
minute), and messages that leave together can arrive a few milliseconds apart in a different order.

Each platform's limits are its row of ``desk.platforms``. After a 429 the limiter pauses: the chat that got
it (Telegram, where flood control is per chat) or the whole bot (Bale, whose limit is not documented). Buckets
that have refilled and pauses that are over are pruned as the maps grow, so memory follows the number of
recently active chats, not of all chats ever seen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from desk.platforms import Limits, Platform

__all__ = ["BALE", "TELEGRAM", "Limits", "SendLimiter", "TokenBucket", "limits_for"]

Clock = Callable[[], float]
"""Monotonic seconds (``time.monotonic`` in production, a fake clock in tests)."""

Sleep = Callable[[float], Awaitable[None]]
"""``asyncio.sleep`` in production; a fake that advances the fake clock in tests."""

_EPSILON = 1e-9  # a token this close to whole counts as whole
_PRUNE_AT = 1024  # prune the per-chat maps when they reach this size (and then twice the size that remains)


TELEGRAM = Platform.TELEGRAM.spec.limits
"""Telegram's flood limits, with a margin (see the module docstring)."""

BALE = Platform.BALE.spec.limits
"""Bale documents no limit: send freely, and pause the whole bot for ``retry_after`` after a 429."""


def limits_for(platform: Platform | str) -> Limits:
    """The limits of ``platform`` (its row of ``desk.platforms``)."""
    return Platform(platform).spec.limits


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; :meth:`take` waits for one (see the module docstring)."""

    __slots__ = ("_lock", "at", "burst", "rate", "tokens")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.at = now
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        if now > self.at:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now

    def until_token(self, now: float) -> float:
        """Seconds until a token will be there (0.0 when one is); nothing taken."""
        self._refill(now)
        if self.tokens >= 1 - _EPSILON:  # rounding must not leave a waiter sleeping for 1e-15 s forever
            return 0.0
        return (1 - self.tokens) / self.rate

    def try_take(self, now: float) -> float:
        """Take a token if one is there (answers 0.0); else the seconds until one will be (nothing taken)."""
        wait = self.until_token(now)
        if wait == 0.0:
            self.tokens = max(0.0, self.tokens - 1)
        return wait

    async def take(self, clock: Clock, sleep: Sleep) -> None:
        """Wait for a token and take it. Waiters queue on a lock in arrival order; only the first sleeps."""
        async with self._lock:
            while (wait := self.try_take(clock())) > 0:
                await sleep(wait)

    async def ready(self, clock: Clock, sleep: Sleep) -> None:
        """Wait until a token is there, taking none (waiters as in :meth:`take`)."""
        async with self._lock:
            while (wait := self.until_token(clock())) > 0:
                await sleep(wait)

    def idle(self, now: float) -> bool:
        """Full again and nobody waiting, so forgetting the bucket changes nothing."""
        return not self._lock.locked() and self.tokens + (now - self.at) * self.rate >= self.burst


class SendLimiter:
    """The send limits of one bot: ``await acquire(chat_id)`` before each API call that sends to a chat."""

    def __init__(
        self, limits: Limits, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._bot = TokenBucket(limits.bot_rate, limits.bot_burst, clock()) if limits.bot_rate else None
        self._chats: dict[int, TokenBucket] = {}
        self._paused: dict[int, float] = {}  # chat id -> monotonic time its pause ends
        self._bot_paused_until = 0.0
        self._prune_at = _PRUNE_AT

    @property
    def tracked(self) -> int:
        """How many per-chat buckets and pauses are kept (bounded by pruning)."""
        return len(self._chats) + len(self._paused)

    def interval(self, chat_id: int) -> float:
        """Seconds between two messages to ``chat_id`` in steady state (0.0 when that chat has no limit)."""
        rate = self.limits.group_rate if chat_id < 0 else self.limits.chat_rate
        return 1.0 / rate if rate else 0.0

    async def acquire(self, chat_id: int) -> None:
        """Wait until one more message may go to ``chat_id``; never sleeps when no limit applies."""
        await self.acquire_chat(chat_id)
        await self.acquire_bot(chat_id)

    async def acquire_chat(self, chat_id: int) -> None:
        """The first half of :meth:`acquire`: wait for the chat's own turn (its pause, and a token in its bucket,
        taken by :meth:`acquire_bot`)."""
        await self._wait_pause(chat_id)
        bucket = self._chat_bucket(chat_id)
        if bucket is not None:
            await bucket.ready(self._clock, self._sleep)

    async def acquire_bot(self, chat_id: int) -> None:
        """The second half of :meth:`acquire`, right before the send: wait for the bot's turn, then take the chat's
        token. The chat's bucket counts the message when it leaves, not when the chat's turn came: behind a backlog
        of other chats the bot's turn may come seconds later, and the chat's next messages would leave at once.
        The token is there (the chat's messages go one after another), unless another sender to the chat took it."""
        if self._bot is not None:
            await self._bot.take(self._clock, self._sleep)
        await self._wait_pause(chat_id)  # a 429 may have come in while we waited
        bucket = self._chat_bucket(chat_id)
        if bucket is not None:
            await bucket.take(self._clock, self._sleep)
        self._maybe_prune()

    def penalize(self, chat_id: int, retry_after: float) -> None:
        """The API answered 429 with ``retry_after``: pause the chat, or the whole bot (see :class:`Limits`)."""
        until = self._clock() + max(0.0, retry_after)
        if self.limits.pause_bot_on_429:
            self._bot_paused_until = max(self._bot_paused_until, until)
        else:
            self._paused[chat_id] = max(self._paused.get(chat_id, 0.0), until)

    def _paused_until(self, chat_id: int) -> float:
        return max(self._bot_paused_until, self._paused.get(chat_id, 0.0))

    async def _wait_pause(self, chat_id: int) -> None:
        while (wait := self._paused_until(chat_id) - self._clock()) > 0:
            await self._sleep(wait)

    def _chat_bucket(self, chat_id: int) -> TokenBucket | None:
        rate, burst = (
            (self.limits.group_rate, self.limits.group_burst)
            if chat_id < 0
            else (self.limits.chat_rate, self.limits.chat_burst)
        )
        if not rate:
            return None
        bucket = self._chats.get(chat_id)
        if bucket is None:
            bucket = self._chats[chat_id] = TokenBucket(rate, burst, self._clock())
        return bucket

    def _maybe_prune(self) -> None:
        if self.tracked < self._prune_at:
            return
        now = self._clock()
        self._chats = {chat: bucket for chat, bucket in self._chats.items() if not bucket.idle(now)}
        self._paused = {chat: until for chat, until in self._paused.items() if until > now}
        self._prune_at = max(_PRUNE_AT, 2 * self.tracked)
