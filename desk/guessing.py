"""Look-ups by a code someone may be guessing, behind the guessing limits of ``desk.throttle``: a request by its
tracking code (with a national ID, for anyone but its owner), dues by their code and national ID, a certificate
by its code.

A guess is counted before its look-up, so concurrent guesses cannot all pass, and given back when it was right,
or a typo caught before any look-up (``ValidationError``); a miss stays counted. Tracking counts a national ID
against the guesser and against the code, whoever guesses; a code alone counts nothing, and the owner of a code
that strangers have used up still sees their request. The limiters are the Dispatcher's (``bot.app``), the keys
``'<platform>:<user id>'`` and the tracking code's 12 digits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from desk.certificates import CertificateView, VerifyStatus, verify_certificate
from desk.dues import DuesView, lookup_dues
from desk.errors import NotFound, Throttled, ValidationError
from desk.requests import TrackView, track
from desk.throttle import Attempt, Limiter
from desk.tracking import normalize_tracking_code

__all__ = ["Guess", "guesser_key", "look_up_dues", "track_by_code", "verify_by_code"]

T = TypeVar("T")


def guesser_key(platform: str, user_id: int) -> str:
    """The limiter key of a guesser: ``'<platform>:<user id>'`` (no personal data)."""
    return f"{platform}:{user_id}"


class Guess:
    """One guess counted against each limit it must pass (the guesser's, then the code's) before its look-up.

    ``count`` raises ``Throttled`` at a limit already reached; what was counted before stays counted (the guess
    was made) until ``give_back``, which uncounts all of it: a right guess, or a typo caught before the look-up.
    """

    def __init__(self) -> None:
        self._counted: list[tuple[Limiter, Attempt]] = []

    async def count(self, limiter: Limiter, key: str) -> None:
        """Count this guess against ``limiter`` under ``key``, or raise ``Throttled``."""
        self._counted.append((limiter, await limiter.attempt(key)))

    async def give_back(self) -> None:
        """Uncount this guess from every limit that counted it."""
        counted, self._counted = self._counted, []
        for limiter, attempt in counted:
            await limiter.give_back(attempt)


async def _typos_uncounted(guess: Guess, look_up: Callable[[], Awaitable[T]]) -> T:
    """``look_up()``; a ``ValidationError`` (a typo caught before any look-up) gives ``guess`` back first."""
    try:
        return await look_up()
    except ValidationError:
        await guess.give_back()
        raise


async def track_by_code(
    session: AsyncSession,
    code: str,
    *,
    platform: str,
    user_id: int,
    national_id: str | None,
    guesser: Limiter,
    per_code: Limiter,
    guesser_id: str | None = None,
) -> TrackView:
    """``desk.requests.track`` behind the guesser's limit and the code's.

    The guesser is counted under ``'<platform>:<user id>'``, or under ``guesser_id`` when given: the web tracking
    page has no user id, and counts each client address instead (``public.track``).

    Raises ``Throttled`` (the guesser's limit; or the code's, to anyone but the request's owner),
    ``ValidationError`` (a mistyped code or national ID: not counted) and ``NotFound`` (counted when it answers
    a national ID).
    """
    key = guesser_id if guesser_id is not None else guesser_key(platform, user_id)
    guess = Guess()
    if national_id is None:
        await guesser.check(key)  # found or not, a code alone tells a guesser nothing: not counted
    else:
        await guess.count(guesser, key)
    try:
        if national_id is not None:
            await guess.count(per_code, normalize_tracking_code(code))
        view = await track(session, code, platform=platform, user_id=user_id, national_id=national_id)
    except Throttled as error:  # strangers used up the code's tries: no national ID is compared now
        try:
            view = await track(session, code, platform=platform, user_id=user_id)
        except NotFound:
            raise error from None
    except ValidationError:  # a mistyped code or national ID never reached the database
        await guess.give_back()
        raise
    await guess.give_back()  # a right national ID (or the owner's own request) is not a failure
    return view


async def look_up_dues(
    session: AsyncSession,
    organization_id: str,
    code: str,
    national_id: str,
    *,
    platform: str,
    user_id: int,
    limiter: Limiter,
) -> DuesView:
    """``desk.dues.lookup_dues`` behind the guesser's limit: ``Throttled``, ``ValidationError`` (not counted) or
    ``NotFound`` (counted)."""
    guess = Guess()
    await guess.count(limiter, guesser_key(platform, user_id))
    view = await _typos_uncounted(guess, lambda: lookup_dues(session, organization_id, code, national_id))
    await guess.give_back()
    return view


async def verify_by_code(
    session: AsyncSession, code: str, today: date, *, platform: str, user_id: int, limiter: Limiter
) -> CertificateView:
    """``desk.certificates.verify_certificate`` behind the guesser's limit: ``Throttled``, ``ValidationError``
    (not counted), or the view (an ``UNKNOWN`` one counted)."""
    guess = Guess()
    await guess.count(limiter, guesser_key(platform, user_id))
    view = await _typos_uncounted(guess, lambda: verify_certificate(session, code, today))
    if view.status is not VerifyStatus.UNKNOWN:
        await guess.give_back()
    return view
