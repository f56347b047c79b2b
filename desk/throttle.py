"""A sliding-window failure counter, to slow down guessing (tracking codes, national IDs).

``Throttle`` remembers when each key (a citizen, ``'<platform>:<user id>'``) last failed, and refuses the key
while it has failed ``limit`` times within the last ``window_seconds``. Failures age out one by one (a sliding
window, not fixed buckets), so a citizen who mistypes once is never locked out for long.

``Throttle`` lives in memory, in one process: right for one process polling both messengers. Several workers
behind a load balancer share the same counters in Redis instead (``storage.throttle.RedisThrottle``, used when
``MIZ_REDIS_URL`` is set), so that a citizen cannot multiply the limit by landing on different workers, and a
restart does not reset it. Both have the asynchronous interface of :class:`Limiter`, which is all callers see.

Intended use with ``desk.requests.track`` (one throttle for the whole process, made at start-up)::

    throttle = tracking_throttle()              # 5 failures per 10 minutes
    key = f"{platform}:{user_id}"
    await throttle.check(key)                   # raises Throttled before any look-up
    try:
        view = await track(session, text, platform=platform, user_id=user_id, national_id=nid)
    except NotFound:
        if nid is not None:
            await throttle.fail(key)            # a wrong national ID (or its last four digits) for that code
        raise

A national ID that does not match raises ``NotFound`` and counts. A code alone does not: found or not, a
stranger is asked for the national ID the same way, so it tells a guesser nothing. Nor does a code refused by
its check digit (``ValidationError``): it never reaches the database, and counting it would only punish a typo. Do not ``reset`` after a successful look-up: a citizen who
owns a request could otherwise interleave their own code with guesses and never be slowed down. ``reset`` is
for an operator lifting a block.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Final, Protocol

from desk.errors import Throttled

__all__ = [
    "DEFAULT_MAX_KEYS",
    "TRACK_FAILURE_LIMIT",
    "TRACK_WINDOW_SECONDS",
    "Limiter",
    "Throttle",
    "tracking_throttle",
]

TRACK_FAILURE_LIMIT: Final = 5
"""Wrong tracking codes or national IDs a citizen may give within ``TRACK_WINDOW_SECONDS``."""
TRACK_WINDOW_SECONDS: Final = 600.0
"""The window of the tracking throttle: ten minutes."""
DEFAULT_MAX_KEYS: Final = 100_000
"""Most keys a throttle remembers at once; beyond that the key that failed longest ago is forgotten."""


class Limiter(Protocol):
    """A sliding-window failure counter as the dialogs use it: in memory (:class:`Throttle`) or shared by
    several workers in Redis (``storage.throttle.RedisThrottle``). Keys are ``'<platform>:<user id>'``."""

    async def check(self, key: str) -> None:
        """Raise ``Throttled(message_key, seconds=..., minutes=...)`` while ``key`` is over the limit."""
        ...

    async def fail(self, key: str) -> None:
        """Count one failure of ``key`` now."""
        ...

    async def reset(self, key: str) -> None:
        """Forget the failures of ``key`` (an operator lifting a block)."""
        ...

    async def failures(self, key: str) -> int:
        """How many failures of ``key`` are within the window now (at most the limit)."""
        ...


class Throttle:
    """Per-key failure counter over a sliding window of ``window_seconds``; in memory, one process.

    ``check(key)`` raises ``Throttled(message_key, seconds=..., minutes=...)`` while ``key`` has ``limit``
    failures younger than the window (``seconds`` until the oldest of them ages out, ``minutes`` the same
    rounded up, for the message). Memory stays bounded: a key is forgotten once its last failure leaves the
    window, each key holds at most ``limit`` timestamps, and at most ``max_keys`` keys are kept.
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
        # Keys in the order of their latest failure, oldest first, so expired keys are found at the front.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    async def check(self, key: str) -> None:
        """Raise ``Throttled`` if ``key`` has failed ``limit`` times within the window; else do nothing."""
        now = self._clock()
        self._prune(now)
        times = self._failures.get(key)
        if times is None:
            return
        self._expire(times, now)
        if len(times) >= self.limit:
            seconds = max(1, math.ceil(times[0] + self.window - now))
            raise Throttled(self.message_key, seconds=seconds, minutes=math.ceil(seconds / 60))

    async def fail(self, key: str) -> None:
        """Count one failure of ``key`` now."""
        now = self._clock()
        self._prune(now)
        times = self._failures.pop(key, None)
        if times is None:
            times = deque(maxlen=self.limit)  # older failures than the last ``limit`` never matter
        times.append(now)
        self._failures[key] = times  # (re)inserted at the end: the most recent failure
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    async def reset(self, key: str) -> None:
        """Forget the failures of ``key`` (an operator lifting a block)."""
        self._failures.pop(key, None)

    async def failures(self, key: str) -> int:
        """How many failures of ``key`` are within the window now."""
        times = self._failures.get(key)
        if times is None:
            return 0
        self._expire(times, self._clock())
        return len(times)

    def __len__(self) -> int:
        """How many keys the throttle remembers (for tests and health checks)."""
        return len(self._failures)

    def _expire(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()

    def _prune(self, now: float) -> None:
        # The front key failed longest ago; once its latest failure is out of the window, so is all of it.
        while self._failures:
            key, times = next(iter(self._failures.items()))
            if times and times[-1] > now - self.window:
                break
            del self._failures[key]


def tracking_throttle(clock: Callable[[], float] = time.monotonic) -> Throttle:
    """The throttle for ``desk.requests.track``: 5 wrong codes or national IDs per 10 minutes per citizen."""
    return Throttle(TRACK_FAILURE_LIMIT, TRACK_WINDOW_SECONDS, clock, message_key="desk.track.throttled")
