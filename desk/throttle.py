"""A sliding-window limit on guesses, to slow down guessing (tracking codes, national IDs).

``Throttle`` remembers when each key (a citizen, ``'<platform>:<user id>'``) last guessed wrong, and refuses the
key while it has ``limit`` wrong guesses within the last ``window_seconds``. They age out one by one (a sliding
window, not fixed buckets), so a citizen who mistypes once is never locked out for long.

``Throttle`` lives in memory, in one process: right for one process polling both messengers. Several workers
behind a load balancer share the same counters in Redis instead (``storage.throttle.RedisThrottle``, used when
``MIZ_REDIS_URL`` is set), so that a citizen cannot multiply the limit by landing on different workers, and a
restart does not reset it. Both have the asynchronous interface of :class:`Limiter`, which is all callers see.

A guess is counted *before* the look-up it leads to, and given back if it turns out right. aiogram handles
updates concurrently, so "check, look up, count the miss" would let a script that sends fifty guesses at once
past the check before the first miss is counted. ``attempt`` checks and counts in one step (one event loop
step in memory, one script in Redis), so at most ``limit`` guesses per window ever reach the database, however
many arrive together and on however many workers. Intended use with ``desk.requests.track`` (one throttle for
the whole process, made at start-up)::

    throttle = tracking_throttle()              # 5 wrong guesses per 10 minutes
    key = f"{platform}:{user_id}"
    attempt = await throttle.attempt(key)       # raises Throttled, or counts this guess now
    try:
        view = await track(session, text, platform=platform, user_id=user_id, national_id=nid)
    except ValidationError:
        await throttle.give_back(attempt)       # refused before any look-up: a typo, not a guess
        raise
    except NotFound:
        raise                                   # the counted attempt is the failure: nothing more to do
    await throttle.give_back(attempt)           # a right answer is not a failure

A national ID (or its last four digits) that does not match raises ``NotFound`` and counts. A code alone does
not: found or not, a stranger is asked for the national ID the same way, so it tells a guesser nothing; such a
look-up only calls ``check``, which refuses a blocked key without counting anything. Nor does a code refused by
its check digit (``ValidationError``): it never reaches the database, and counting it would only punish a typo.
Do not ``reset`` after a successful look-up: a citizen who owns a request could otherwise interleave their own
code with guesses and never be slowed down (``give_back`` returns only the right guess's own attempt).
``reset`` is for an operator lifting a block.

The per-account limit does not bound what many accounts do together: twenty accounts put 100 guesses of the last
four digits against one tracking code in a second. So a code has a limit of its own too
(:func:`tracking_code_throttle`, keyed by the code, whoever guesses): ``CODE_FAILURE_LIMIT`` wrong national IDs
per ``CODE_WINDOW_SECONDS`` (10 a day), counted after the guesser's own limit let the guess through. A day, not
ten minutes: the code's limit is what all accounts share, so it must make 10,000 tails a matter of years (10 a
day), where one account's limit only has to slow one person down. A code locked so is no denial of service to
its owner, who never needs a national ID: "my requests", their code alone, and their code with any digits still
show it. Strangers (a relative at the counter) wait until the oldest of the ten wrong guesses is a day old, and
are told so, and where the owner sees it. The dues and certificate look-ups have no per-code limit: dues
ask for a whole national ID (ten digits with a check digit, not four), and a certificate's code is itself the
secret, so each guess is a different code (55 bits) and a per-code count would never reach two.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from desk.errors import Throttled

__all__ = [
    "CODE_FAILURE_LIMIT",
    "CODE_WINDOW_SECONDS",
    "DEFAULT_MAX_KEYS",
    "TRACK_FAILURE_LIMIT",
    "TRACK_WINDOW_SECONDS",
    "Attempt",
    "Limiter",
    "Throttle",
    "throttled",
    "tracking_code_throttle",
    "tracking_throttle",
]

TRACK_FAILURE_LIMIT: Final = 5
"""Wrong tracking codes or national IDs a citizen may give within ``TRACK_WINDOW_SECONDS``."""
TRACK_WINDOW_SECONDS: Final = 600.0
"""The window of the tracking throttle: ten minutes."""
CODE_FAILURE_LIMIT: Final = 10
"""Wrong national IDs (whole or last four digits) one tracking code may be given within ``CODE_WINDOW_SECONDS``,
by all guessers together."""
CODE_WINDOW_SECONDS: Final = 86_400.0
"""The window of the per-code limit: a day."""
DEFAULT_MAX_KEYS: Final = 100_000
"""Most keys a throttle remembers at once; beyond that the key that failed longest ago is forgotten."""


@dataclass(frozen=True)
class Attempt:
    """One counted guess of ``key`` at ``at`` (the limiter's clock); ``token`` tells it from others at ``at``.

    Returned by ``Limiter.attempt``, and handed back to ``Limiter.give_back`` to uncount that guess alone."""

    key: str
    at: float
    token: str


class Limiter(Protocol):
    """A sliding-window limit on guesses as the dialogs use it: in memory (:class:`Throttle`) or shared by
    several workers in Redis (``storage.throttle.RedisThrottle``). Keys are ``'<platform>:<user id>'`` (a
    guesser), or the guessed code itself for :func:`tracking_code_throttle`."""

    async def attempt(self, key: str) -> Attempt:
        """Count one guess of ``key`` now, or raise ``Throttled(message_key, seconds=..., minutes=..., hours=...)``
        if ``key`` already has ``limit`` within the window; atomically, so concurrent guesses never pass together."""
        ...

    async def give_back(self, attempt: Attempt) -> None:
        """Uncount ``attempt``: its guess was right, or refused before any look-up. Nothing if it aged out."""
        ...

    async def check(self, key: str) -> None:
        """Raise ``Throttled`` while ``key`` is at the limit, counting nothing (for look-ups that never count)."""
        ...

    async def reset(self, key: str) -> None:
        """Forget the failures of ``key`` (an operator lifting a block)."""
        ...

    async def failures(self, key: str) -> int:
        """How many counted guesses of ``key`` are within the window now (at most the limit)."""
        ...


class Throttle:
    """Per-key limit on guesses over a sliding window of ``window_seconds``; in memory, one process.

    ``attempt(key)`` raises ``Throttled(message_key, seconds=..., minutes=..., hours=...)`` while ``key`` has
    ``limit`` counted guesses younger than the window (``seconds`` until the oldest of them ages out, ``minutes``
    and ``hours`` the same rounded up, for the message); otherwise it counts one, with no ``await`` between the
    test and the count, so concurrent handlers in the event loop cannot slip past it together. Memory stays
    bounded: a key is forgotten once its last guess leaves the window, each key holds at most ``limit`` attempts,
    and at most ``max_keys`` keys are kept.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        message_key: str = "desk.throttled",
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.limit = limit
        self.window = float(window_seconds)
        self.message_key = message_key
        self.max_keys = max_keys
        self._clock = clock
        self._tokens = itertools.count()
        # Keys in the order of their latest attempt, oldest first, so expired keys are found at the front.
        self._attempts: OrderedDict[str, deque[Attempt]] = OrderedDict()

    async def attempt(self, key: str) -> Attempt:
        """Count one guess of ``key`` now, or raise ``Throttled`` if it has ``limit`` within the window."""
        now = self._clock()
        self._refuse_at_limit(key, now)
        attempts = self._attempts.pop(key, None)
        if attempts is None:
            attempts = deque(maxlen=self.limit)  # never more: at the limit, the next attempt is refused
        attempt = Attempt(key, now, str(next(self._tokens)))
        attempts.append(attempt)
        self._attempts[key] = attempts  # (re)inserted at the end: the most recent attempt
        while len(self._attempts) > self.max_keys:
            self._attempts.popitem(last=False)
        return attempt

    async def give_back(self, attempt: Attempt) -> None:
        """Uncount ``attempt`` (a right guess, or one refused before any look-up)."""
        attempts = self._attempts.get(attempt.key)
        if attempts is None or attempt not in attempts:  # aged out, reset or forgotten meanwhile
            return
        attempts.remove(attempt)
        if not attempts:
            del self._attempts[attempt.key]

    async def check(self, key: str) -> None:
        """Raise ``Throttled`` if ``key`` has ``limit`` guesses within the window; count nothing."""
        self._refuse_at_limit(key, self._clock())

    async def reset(self, key: str) -> None:
        """Forget the failures of ``key`` (an operator lifting a block)."""
        self._attempts.pop(key, None)

    async def failures(self, key: str) -> int:
        """How many counted guesses of ``key`` are within the window now."""
        attempts = self._attempts.get(key)
        if attempts is None:
            return 0
        self._expire(attempts, self._clock())
        return len(attempts)

    def __len__(self) -> int:
        """How many keys the throttle remembers (for tests and health checks)."""
        return len(self._attempts)

    def _refuse_at_limit(self, key: str, now: float) -> None:
        self._prune(now)
        attempts = self._attempts.get(key)
        if attempts is None:
            return
        self._expire(attempts, now)
        if len(attempts) >= self.limit:
            raise throttled(self.message_key, attempts[0].at + self.window - now)

    def _expire(self, attempts: deque[Attempt], now: float) -> None:
        while attempts and attempts[0].at <= now - self.window:
            attempts.popleft()

    def _prune(self, now: float) -> None:
        # The front key attempted longest ago; once its latest attempt is out of the window, so is all of it.
        # (A key whose latest attempt was given back may wait behind newer ones; ``max_keys`` still bounds it.)
        while self._attempts:
            key, attempts = next(iter(self._attempts.items()))
            if attempts and attempts[-1].at > now - self.window:
                break
            del self._attempts[key]


def throttled(message_key: str, wait: float) -> Throttled:
    """The error for a wait of ``wait`` seconds: ``seconds`` (at least 1), and ``minutes`` and ``hours`` rounded
    up, for whichever the message shows."""
    seconds = max(1, math.ceil(wait))
    return Throttled(
        message_key, seconds=seconds, minutes=math.ceil(seconds / 60), hours=math.ceil(seconds / 3600)
    )


def tracking_throttle(clock: Callable[[], float] = time.monotonic) -> Throttle:
    """The throttle for ``desk.requests.track``: 5 wrong codes or national IDs per 10 minutes per citizen."""
    return Throttle(TRACK_FAILURE_LIMIT, TRACK_WINDOW_SECONDS, clock, message_key="desk.track.throttled")


def tracking_code_throttle(clock: Callable[[], float] = time.monotonic) -> Throttle:
    """The per-code limit of ``desk.requests.track``: 10 wrong national IDs per day against one tracking code,
    from anyone; keyed by the code as ``desk.tracking.normalize_tracking_code`` gives it."""
    return Throttle(CODE_FAILURE_LIMIT, CODE_WINDOW_SECONDS, clock, message_key="desk.track.code_throttled")
