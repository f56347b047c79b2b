"""Proving a mobile number by a one-time code (کد تأیید), so stage notifications may go to it by SMS.

A number the citizen shared with the messenger's contact button is their own and needs no code (the platform
vouched for it: :func:`record_shared_phone`). A number they typed (a relative's, or their own typed by hand)
is proved by :func:`start_verification`, which queues an SMS with a random 5-digit code, and :func:`check_code`,
which compares what the citizen typed back. A right code makes the number the citizen's verified phone and
turns SMS notifications on.

What protects it:

- The code comes from ``secrets``; only ``HMAC-SHA256(secret, "<citizen id>:<phone>:<code>")`` is stored, so a
  copy of the database does not reveal live codes without the settings' ``sms_code_secret``. The outbox row
  carries the code until it is sent (the SMS sender wipes it then).
- A code lives ``CODE_LIFETIME`` (2 minutes) and dies after ``MAX_WRONG_TRIES`` (5) wrong ones: a guesser has
  5 tries in 100,000 per code. Comparisons are constant-time.
- At most ``PHONE_LIMIT`` codes per number per ``PHONE_WINDOW`` (3 per 10 minutes), so nobody can flood a
  stranger's phone, and ``CITIZEN_LIMIT`` per citizen per ``CITIZEN_WINDOW`` (5 per hour), so one account cannot
  run up the organization's SMS bill over many numbers. Many accounts can, so each organization also has a
  ceiling of codes per ``ORG_WINDOW`` (an hour; ``Settings.sms_codes_per_org_hour``): past it, nobody gets a
  code on that organization's bill until the hour's oldest ages out (``BUSY``). A code counts against the
  organization that pays for its SMS: the one handling the request the number came with.
- They are counted from the ``phone_verification`` rows themselves, so they hold across restarts and processes,
  with or without Redis (unlike ``desk.throttle``). Counting and writing happen under locks on the citizen, the
  organization and the number, taken in that order, so concurrent requests queue instead of all counting the
  same rows: a row lock and transaction-scoped advisory locks on PostgreSQL; on SQLite the writer's
  ``BEGIN IMMEDIATE`` of ``unit_of_work`` serializes every writer already.

Every function takes the caller's session (``storage.uow.unit_of_work(factory, write=True)``) and never commits.
The bot calls :func:`verify_phone_of_request` and :func:`check_code_of`, which find the citizen first.
Results are small dataclasses whose ``key`` is the locale message id (``phone.*``) the bot shows.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from desk.errors import NotFound, ValidationError
from desk.lifecycle import Status, is_open
from desk.notifications import enqueue_sms
from desk.persian import normalize_identifier
from desk.validators import mobile
from storage.models import Citizen, PhoneVerification, ServiceRequest
from storage.repositories import Citizens, Requests

__all__ = [
    "CITIZEN_LIMIT",
    "CITIZEN_WINDOW",
    "CODE_LENGTH",
    "CODE_LIFETIME",
    "MAX_WRONG_TRIES",
    "ORG_WINDOW",
    "PHONE_LIMIT",
    "PHONE_WINDOW",
    "CheckResult",
    "CheckStatus",
    "StartResult",
    "StartStatus",
    "check_code",
    "check_code_of",
    "mobile_answers",
    "phone_to_offer",
    "record_shared_phone",
    "record_verified_phone",
    "share_own_phone",
    "sms_for_request",
    "start_verification",
    "verify_phone_of_request",
]

logger = logging.getLogger(__name__)

CODE_LENGTH: Final = 5
"""Digits of a one-time code: short enough to type from the SMS, and 5 tries in 100,000 per code."""
CODE_LIFETIME: Final = timedelta(minutes=2)
"""How long a code may be typed after it was made."""
MAX_WRONG_TRIES: Final = 5
"""Wrong codes after which a code is dead and a new one must be asked for."""
PHONE_LIMIT: Final = 3
"""Codes one mobile number may get within ``PHONE_WINDOW``."""
PHONE_WINDOW: Final = timedelta(minutes=10)
CITIZEN_LIMIT: Final = 5
"""Codes one citizen may ask for (to any numbers) within ``CITIZEN_WINDOW``."""
CITIZEN_WINDOW: Final = timedelta(hours=1)
ORG_WINDOW: Final = timedelta(hours=1)
"""The window of an organization's ceiling of codes (``Settings.sms_codes_per_org_hour``)."""

_MOBILE_FIELD: Final = "mobile"
_CODE: Final = re.compile(rf"\d{{{CODE_LENGTH}}}", re.ASCII)


class StartStatus(StrEnum):
    """What :func:`start_verification` did."""

    SENT = "sent"
    """A code was queued for SMS."""
    THROTTLED = "throttled"
    """Too many codes lately for this number or this citizen; ``retry_after`` says how long to wait."""
    BUSY = "busy"
    """The organization's hourly ceiling of codes is reached; ``retry_after`` says how long to wait."""
    ALREADY_VERIFIED = "already_verified"
    """The number is already the citizen's verified phone: SMS notifications are on, no code was sent."""
    NEEDS_NUMBER = "needs_number"
    """No number to send to: neither a verified phone of the citizen's nor a mobile answer in the request."""


@dataclass(frozen=True, slots=True)
class StartResult:
    """The outcome of asking for a code to ``phone``."""

    status: StartStatus
    phone: str
    verification_id: int | None = None
    expires_at: datetime | None = None
    retry_after: int = 0
    """Seconds until a code may be asked for again (throttled or busy only)."""

    @property
    def key(self) -> str:
        """The locale message id that tells the citizen what happened."""
        return f"phone.start.{self.status.value}"

    @property
    def retry_minutes(self) -> int:
        """``retry_after`` in whole minutes, rounded up, for the message."""
        return max(1, math.ceil(self.retry_after / 60))


class CheckStatus(StrEnum):
    """What became of a typed code."""

    VERIFIED = "verified"
    """Right: the number is the citizen's verified phone now, with SMS notifications on."""
    WRONG = "wrong"
    """Wrong; ``tries_left`` more tries with the same code."""
    LOCKED = "locked"
    """Too many wrong tries: the code is dead, a new one must be asked for."""
    EXPIRED = "expired"
    """The code is too old: a new one must be asked for."""
    NO_CODE = "no_code"
    """No code is waiting for this number (never asked, or already used)."""
    MALFORMED = "malformed"
    """Not ``CODE_LENGTH`` digits: a typo, not counted as a try."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of checking a typed code for ``phone``."""

    status: CheckStatus
    phone: str
    tries_left: int = 0

    @property
    def key(self) -> str:
        """The locale message id that tells the citizen what happened."""
        return f"phone.check.{self.status.value}"

    @property
    def code_is_dead(self) -> bool:
        """True when only a new code can help (the old one expired, was used up, or never existed)."""
        return self.status in (CheckStatus.LOCKED, CheckStatus.EXPIRED, CheckStatus.NO_CODE)


def _code_hash(secret: str, citizen_id: int, phone: str, code: str) -> str:
    message = f"{citizen_id}:{phone}:{code}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _check_now(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def _wait(times_newest_first: Sequence[datetime], limit: int, window: timedelta, now: datetime) -> int:
    """Seconds until fewer than ``limit`` of these times are within ``window`` of now (0: not over the limit)."""
    if len(times_newest_first) < limit:
        return 0
    # The limit-th newest must age out of the window for one more code to fit.
    frees_at = times_newest_first[limit - 1] + window
    return max(1, math.ceil((frees_at - now).total_seconds()))


async def _recent(session: AsyncSession, condition: Any, since: datetime, limit: int) -> list[datetime]:
    """The newest ``limit`` creation times after ``since`` of the codes matching ``condition`` (all ``_wait``
    needs), newest first."""
    stmt = (
        select(PhoneVerification.created_at)
        .where(condition, col(PhoneVerification.created_at) > since)
        .order_by(col(PhoneVerification.created_at).desc())
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def _lock(session: AsyncSession, name: str) -> None:
    """Hold a lock on ``name`` to the end of the transaction, on PostgreSQL: concurrent code requests for the
    same organization or number queue here, so each counts the codes the ones before it wrote.

    There is no row to lock for a number nobody asked a code for yet, hence an advisory lock on a 64-bit hash
    of the name (a collision only makes two unrelated requests wait for each other). SQLite needs none.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": f"miz:sms-code:{name}"}
        )


async def _citizen_for_update(session: AsyncSession, citizen_id: int) -> Citizen:
    """The citizen, locked to the end of the transaction on PostgreSQL, so one citizen's code requests queue up.

    SQLite ignores the lock; there the writer's ``BEGIN IMMEDIATE`` of ``unit_of_work`` already serializes them.
    (Only one citizen's requests: many citizens asking for one number queue on :func:`_lock`.)
    """
    stmt = (
        select(Citizen)
        .where(col(Citizen.id) == citizen_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    citizen = (await session.scalars(stmt)).first()
    if citizen is None:
        raise ValueError(f"no citizen with id {citizen_id}")
    return citizen


async def record_verified_phone(session: AsyncSession, citizen: Citizen, phone: str) -> None:
    """Make ``phone`` (``09xxxxxxxxx``) the citizen's verified mobile and turn SMS notifications on.

    For a number the messenger vouched for (the citizen's own contact, shared with the contact button) and for a
    number proved by a right code.
    """
    citizens = Citizens(session)
    await citizens.set_phone(citizen, phone, verified=True)
    await citizens.set_sms_enabled(citizen, True)


async def record_shared_phone(session: AsyncSession, citizen: Citizen, phone: str) -> bool:
    """The citizen shared their own contact with the contact button: the messenger vouches for ``phone``.

    It becomes their verified mobile with SMS notifications on, unless it already was their verified mobile:
    then their SMS setting stays as they left it (they may have turned SMS off). True when something changed.
    """
    if citizen.phone == phone and citizen.phone_verified:
        return False
    await record_verified_phone(session, citizen, phone)
    return True


def mobile_answers(service_snapshot: Mapping[str, Any], answers: Mapping[str, Any]) -> list[str]:
    """The request's answers to its mobile form fields, in form order, normalized (malformed ones skipped)."""
    found: list[str] = []
    for form_field in service_snapshot.get("form") or ():
        if form_field.get("type") != _MOBILE_FIELD:
            continue
        answer = answers.get(form_field.get("id"))
        if not isinstance(answer, str):
            continue
        try:
            phone = mobile(answer)
        except ValidationError:
            continue
        if phone not in found:
            found.append(phone)
    return found


def phone_to_offer(
    citizen: Citizen, service_snapshot: Mapping[str, Any], answers: Mapping[str, Any]
) -> str | None:
    """The request's mobile number worth offering SMS updates on, or None.

    None when the request has no mobile answer, or when one of its mobile answers already is the citizen's
    verified phone (the updates go there; a second number on the form is not the citizen's to switch to).
    """
    phones = mobile_answers(service_snapshot, answers)
    if not phones:
        return None
    if citizen.phone_verified and citizen.phone in phones:
        return None
    return phones[0]


async def start_verification(
    session: AsyncSession,
    citizen_id: int,
    phone: str,
    organization_id: str,
    *,
    now: datetime,
    secret: str,
    org_limit: int,
) -> StartResult:
    """Queue an SMS with a new one-time code to ``phone`` for the citizen, unless throttled or already verified.

    ``organization_id`` pays for the SMS, and the code counts against its ceiling of ``org_limit`` codes per
    ``ORG_WINDOW`` (``Settings.sms_codes_per_org_hour``): it is the organization handling the request the number
    came with (the governorate, for an anonymous complaint), never one the citizen names. ``phone`` may be
    typed in any form ``desk.validators.mobile`` accepts (``ValidationError`` otherwise). ``secret`` keys the
    code's hash (``Settings.sms_code_secret``). A number already verified for this citizen only turns SMS
    notifications on. Otherwise, over ``PHONE_LIMIT`` codes for the number or ``CITIZEN_LIMIT`` for the citizen
    answer ``THROTTLED``, and the organization's ceiling ``BUSY``, with the seconds to wait; else a code row and
    its SMS outbox row are written. Concurrent calls count one after the other (see the module's docstring).
    """
    _check_now(now)
    if org_limit < 1:
        raise ValueError("org_limit must be at least 1")
    phone = mobile(phone)
    citizen = await _citizen_for_update(session, citizen_id)
    if citizen.phone == phone and citizen.phone_verified:
        await Citizens(session).set_sms_enabled(citizen, True)
        return StartResult(StartStatus.ALREADY_VERIFIED, phone)
    await _lock(session, f"org:{organization_id}")
    await _lock(session, f"phone:{phone}")
    by_phone = await _recent(session, col(PhoneVerification.phone) == phone, now - PHONE_WINDOW, PHONE_LIMIT)
    by_citizen = await _recent(
        session, col(PhoneVerification.citizen_id) == citizen_id, now - CITIZEN_WINDOW, CITIZEN_LIMIT
    )
    wait = max(
        _wait(by_phone, PHONE_LIMIT, PHONE_WINDOW, now),
        _wait(by_citizen, CITIZEN_LIMIT, CITIZEN_WINDOW, now),
    )
    if wait:
        return StartResult(StartStatus.THROTTLED, phone, retry_after=wait)
    by_org = await _recent(
        session, col(PhoneVerification.organization_id) == organization_id, now - ORG_WINDOW, org_limit
    )
    wait = _wait(by_org, org_limit, ORG_WINDOW, now)
    if wait:
        return StartResult(StartStatus.BUSY, phone, retry_after=wait)
    code = str(secrets.randbelow(10**CODE_LENGTH)).zfill(CODE_LENGTH)
    row = PhoneVerification(
        citizen_id=citizen_id,
        phone=phone,
        organization_id=organization_id,
        code_hash=_code_hash(secret, citizen_id, phone, code),
        created_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    session.add(row)
    await session.flush()
    assert row.id is not None
    await enqueue_sms(
        session,
        phone=phone,
        organization_id=organization_id,
        payload={"type": "sms_code", "code": code},
        dedupe_key=f"phone_verification:{row.id}",
    )
    return StartResult(StartStatus.SENT, phone, verification_id=row.id, expires_at=row.expires_at)


async def check_code(
    session: AsyncSession,
    citizen_id: int,
    phone: str,
    typed: str,
    *,
    now: datetime,
    secret: str,
) -> CheckResult:
    """Check the code the citizen typed for ``phone`` against the latest code sent to it for them.

    Persian or Arabic digits, spaces and dashes are accepted. Anything but ``CODE_LENGTH`` digits is
    ``MALFORMED`` and costs no try. A right code marks the code used and records the number as the citizen's
    verified phone with SMS notifications on; a wrong one costs a try, and the ``MAX_WRONG_TRIES``-th kills the
    code (``LOCKED``), as does age (``EXPIRED``).
    """
    _check_now(now)
    phone = mobile(phone)
    code = normalize_identifier(typed)
    if not _CODE.fullmatch(code):
        return CheckResult(CheckStatus.MALFORMED, phone)
    stmt = (
        select(PhoneVerification)
        .where(col(PhoneVerification.citizen_id) == citizen_id, col(PhoneVerification.phone) == phone)
        .order_by(col(PhoneVerification.created_at).desc(), col(PhoneVerification.id).desc())
        .limit(1)
        .with_for_update()  # two quick guesses on PostgreSQL count one after the other
        .execution_options(populate_existing=True)
    )
    row = (await session.scalars(stmt)).first()
    if row is None or row.verified_at is not None:
        return CheckResult(CheckStatus.NO_CODE, phone)
    if row.attempts >= MAX_WRONG_TRIES:
        return CheckResult(CheckStatus.LOCKED, phone)
    if now >= row.expires_at:
        return CheckResult(CheckStatus.EXPIRED, phone)
    if hmac.compare_digest(row.code_hash, _code_hash(secret, citizen_id, phone, code)):
        row.verified_at = now
        session.add(row)
        citizen = await Citizens(session).get(citizen_id)
        if citizen is None:
            raise ValueError(f"no citizen with id {citizen_id}")
        await record_verified_phone(session, citizen, phone)
        await session.flush()
        return CheckResult(CheckStatus.VERIFIED, phone)
    row.attempts += 1
    session.add(row)
    await session.flush()
    left = MAX_WRONG_TRIES - row.attempts
    if left <= 0:
        return CheckResult(CheckStatus.LOCKED, phone)
    return CheckResult(CheckStatus.WRONG, phone, tries_left=left)


async def _own_request(
    session: AsyncSession, platform: str, user_id: int, request_id: int
) -> tuple[Citizen, ServiceRequest]:
    """The citizen ``platform:user_id`` and their request ``request_id``; ``NotFound`` when they did not file it."""
    citizen = await Citizens(session).find(platform, user_id)
    request = await Requests(session).get(request_id)
    if citizen is None or citizen.id is None or request is None or request.citizen_id != citizen.id:
        raise NotFound("desk.request.not_found")
    return citizen, request


async def verify_phone_of_request(
    session: AsyncSession,
    platform: str,
    user_id: int,
    request_id: int,
    *,
    sends_sms: Callable[[str], bool],
    now: datetime,
    secret: str,
    org_limit: int,
) -> StartResult | None:
    """:func:`start_verification` for the first mobile number of the citizen's request ``request_id``, on the bill
    of the organization handling it; None when that organization sends no SMS (``sends_sms``).

    Raises ``NotFound`` when ``platform:user_id`` did not file the request, or it has no mobile number (a forged
    or stale button).
    """
    citizen, request = await _own_request(session, platform, user_id, request_id)
    assert citizen.id is not None
    phones = mobile_answers(request.service_snapshot, request.answers)
    if not phones:
        raise NotFound("desk.request.not_found")
    if not sends_sms(request.organization_id):
        return None
    result = await start_verification(
        session, citizen.id, phones[0], request.organization_id, now=now, secret=secret, org_limit=org_limit
    )
    if result.status is StartStatus.BUSY:
        logger.warning(
            "phone verification: %s reached its hourly ceiling of SMS codes", request.organization_id
        )
    return result


async def sms_for_request(
    session: AsyncSession,
    platform: str,
    user_id: int,
    request_id: int,
    *,
    phone: str | None = None,
    sends_sms: Callable[[str], bool],
    now: datetime,
    secret: str,
    org_limit: int,
) -> StartResult | None:
    """Stage SMS for the citizen's open request ``request_id`` (🔔 on its own page), on the bill of the
    organization handling it; None when that organization sends no SMS (``sends_sms``).

    The number is ``phone`` when the citizen typed one there, else their verified phone (turned on again, no code:
    ``ALREADY_VERIFIED``), else the request's first mobile answer (a code is sent: :func:`start_verification`);
    with none of them, ``NEEDS_NUMBER`` (the bot asks for one). Raises ``NotFound`` when ``platform:user_id`` did
    not file the request or it is closed (a forged or stale button), and ``ValidationError`` for a malformed
    ``phone``.
    """
    citizen, request = await _own_request(session, platform, user_id, request_id)
    if not is_open(Status(request.status)):
        raise NotFound("desk.request.not_found")
    if not sends_sms(request.organization_id):
        return None
    known = citizen.phone if citizen.phone and citizen.phone_verified else None
    number = phone or known or next(iter(mobile_answers(request.service_snapshot, request.answers)), None)
    if number is None:
        return StartResult(StartStatus.NEEDS_NUMBER, "")
    assert citizen.id is not None
    return await start_verification(
        session, citizen.id, number, request.organization_id, now=now, secret=secret, org_limit=org_limit
    )


async def share_own_phone(session: AsyncSession, platform: str, user_id: int, phone: str) -> str:
    """The citizen shared their own contact (the messenger vouches for it) where a number for SMS was asked:
    it becomes their verified phone with SMS on. Returns the number; ``NotFound`` for an unknown citizen."""
    citizen = await Citizens(session).find(platform, user_id)
    if citizen is None or citizen.id is None:
        raise NotFound("desk.request.not_found")
    number = mobile(phone)
    await record_verified_phone(session, citizen, number)
    return number


async def check_code_of(
    session: AsyncSession, platform: str, user_id: int, phone: str, typed: str, *, now: datetime, secret: str
) -> CheckResult:
    """:func:`check_code` for the citizen ``platform:user_id``; ``NotFound`` if they are unknown."""
    citizen = await Citizens(session).find(platform, user_id)
    if citizen is None or citizen.id is None:
        raise NotFound("desk.request.not_found")
    return await check_code(session, citizen.id, phone, typed, now=now, secret=secret)
