"""One-time SMS codes that prove a mobile number, on SQLite and PostgreSQL, as the bot's handlers call them.

Each step runs in its own ``unit_of_work(factory, write=True)``, as a chat message would; time is passed in, so
expiry and the throttles are tested without waiting.
"""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from desk.errors import ValidationError
from desk.i18n import LOCALES_DIR
from desk.persian import to_persian_digits
from desk.verification import (
    CITIZEN_LIMIT,
    CITIZEN_WINDOW,
    CODE_LIFETIME,
    MAX_WRONG_TRIES,
    PHONE_LIMIT,
    PHONE_WINDOW,
    CheckResult,
    CheckStatus,
    StartResult,
    StartStatus,
    check_code,
    mobile_answers,
    phone_to_offer,
    record_shared_phone,
    record_verified_phone,
    start_verification,
)
from storage.models import Citizen, OutboxMessage, PhoneVerification
from storage.repositories import Citizens
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]

SECRET = "test-secret"
PHONE = "09123456789"
OTHER_PHONE = "09351234567"
ORG = "falavarjan"
T0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)

_users = iter(range(5001, 1_000_000))


async def new_citizen(factory: Factory) -> int:
    async with unit_of_work(factory, write=True) as session:
        user_id = next(_users)
        citizen = await Citizens(session).get_or_create("telegram", user_id, chat_id=user_id)
        assert citizen.id is not None
        return citizen.id


async def start(factory: Factory, citizen_id: int, phone: str = PHONE, *, now: datetime = T0) -> StartResult:
    async with unit_of_work(factory, write=True) as session:
        return await start_verification(
            session, citizen_id, phone, ORG, now=now, secret=SECRET, org_limit=100
        )


async def check(
    factory: Factory, citizen_id: int, typed: str, phone: str = PHONE, *, now: datetime = T0
) -> CheckResult:
    async with unit_of_work(factory, write=True) as session:
        return await check_code(session, citizen_id, phone, typed, now=now, secret=SECRET)


async def sms_rows(factory: Factory) -> list[OutboxMessage]:
    async with factory() as session:
        stmt = (
            select(OutboxMessage).where(col(OutboxMessage.channel) == "sms").order_by(col(OutboxMessage.id))
        )
        return list((await session.scalars(stmt)).all())


async def sent_code(factory: Factory, result: StartResult) -> str:
    """The code queued for ``result``'s SMS (what the citizen reads on their phone)."""
    rows = [
        row
        for row in await sms_rows(factory)
        if row.dedupe_key == f"phone_verification:{result.verification_id}"
    ]
    assert len(rows) == 1
    code = rows[0].payload["code"]
    assert isinstance(code, str)
    return code


async def citizen_row(factory: Factory, citizen_id: int) -> Citizen:
    async with factory() as session:
        citizen = await session.get(Citizen, citizen_id)
        assert citizen is not None
        return citizen


async def verification_row(factory: Factory, verification_id: int | None) -> PhoneVerification:
    async with factory() as session:
        row = await session.get(PhoneVerification, verification_id)
        assert row is not None
        return row


def wrong(code: str) -> str:
    return code[:-1] + str((int(code[-1]) + 1) % 10)


# Sending a code.


async def test_a_code_is_queued_by_sms_and_only_its_hash_is_stored(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)

    result = await start(factory, citizen_id, "+98 912 345 6789")

    assert result.status is StartStatus.SENT
    assert result.phone == PHONE
    assert result.expires_at == T0 + CODE_LIFETIME
    (row,) = await sms_rows(factory)
    assert row.phone == PHONE
    assert row.organization_id == ORG
    assert row.payload["type"] == "sms_code"
    code = row.payload["code"]
    assert re.fullmatch(r"\d{5}", code)
    stored = await verification_row(factory, result.verification_id)
    assert (stored.citizen_id, stored.phone, stored.attempts, stored.verified_at) == (
        citizen_id,
        PHONE,
        0,
        None,
    )
    assert re.fullmatch(r"[0-9a-f]{64}", stored.code_hash)
    assert code not in stored.code_hash
    assert stored.code_hash != code


async def test_codes_are_random_and_hashed_per_citizen_and_number(factory: Factory) -> None:
    first, second = await new_citizen(factory), await new_citizen(factory)
    results = [
        await start(factory, first),
        await start(factory, second),
        await start(factory, first, OTHER_PHONE),
    ]
    codes = {await sent_code(factory, result) for result in results}
    hashes = {(await verification_row(factory, result.verification_id)).code_hash for result in results}
    assert len(hashes) == 3
    assert all(re.fullmatch(r"\d{5}", code) for code in codes)


async def test_a_number_that_is_not_a_mobile_is_refused(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    with pytest.raises(ValidationError) as caught:
        await start(factory, citizen_id, "0311234567")
    assert caught.value.key == "desk.mobile.format"
    assert await sms_rows(factory) == []


async def test_an_already_verified_number_gets_no_code_and_sms_is_turned_on(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    async with unit_of_work(factory, write=True) as session:
        citizen = await Citizens(session).get(citizen_id)
        assert citizen is not None
        await Citizens(session).set_phone(citizen, PHONE, verified=True)

    result = await start(factory, citizen_id)

    assert result.status is StartStatus.ALREADY_VERIFIED
    assert await sms_rows(factory) == []
    assert (await citizen_row(factory, citizen_id)).sms_enabled


# Checking a code.


async def test_the_right_code_verifies_the_number_and_turns_sms_on(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    result = await start(factory, citizen_id)
    code = await sent_code(factory, result)

    checked = await check(factory, citizen_id, code, now=T0 + timedelta(seconds=30))

    assert checked.status is CheckStatus.VERIFIED
    assert checked.key == "phone.check.verified"
    citizen = await citizen_row(factory, citizen_id)
    assert (citizen.phone, citizen.phone_verified, citizen.sms_enabled) == (PHONE, True, True)
    assert (await verification_row(factory, result.verification_id)).verified_at == T0 + timedelta(seconds=30)


async def test_a_code_typed_in_persian_digits_with_spaces_is_accepted(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    code = await sent_code(factory, await start(factory, citizen_id))
    typed = " " + " ".join(to_persian_digits(code)) + " "  # '۱ ۲ ۳ ۴ ۵'

    assert (await check(factory, citizen_id, typed)).status is CheckStatus.VERIFIED


async def test_a_code_typed_in_arabic_digits_is_accepted(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    code = await sent_code(factory, await start(factory, citizen_id))
    arabic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))

    assert (await check(factory, citizen_id, arabic)).status is CheckStatus.VERIFIED


async def test_a_wrong_code_costs_a_try_and_says_how_many_are_left(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    result = await start(factory, citizen_id)
    code = await sent_code(factory, result)

    checked = await check(factory, citizen_id, wrong(code))

    assert checked.status is CheckStatus.WRONG
    assert checked.tries_left == MAX_WRONG_TRIES - 1
    assert (await verification_row(factory, result.verification_id)).attempts == 1
    citizen = await citizen_row(factory, citizen_id)
    assert (citizen.phone, citizen.phone_verified, citizen.sms_enabled) == (None, False, False)
    assert (await check(factory, citizen_id, code)).status is CheckStatus.VERIFIED


async def test_something_that_is_not_a_code_costs_no_try(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    result = await start(factory, citizen_id)

    for typed in ("1234", "123456", "سلام", ""):
        assert (await check(factory, citizen_id, typed)).status is CheckStatus.MALFORMED

    assert (await verification_row(factory, result.verification_id)).attempts == 0


async def test_five_wrong_tries_kill_the_code_even_for_the_right_one(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    code = await sent_code(factory, await start(factory, citizen_id))

    statuses = [(await check(factory, citizen_id, wrong(code))) for _ in range(MAX_WRONG_TRIES)]

    assert [s.tries_left for s in statuses[:-1]] == [4, 3, 2, 1]
    assert statuses[-1].status is CheckStatus.LOCKED
    assert statuses[-1].code_is_dead
    assert (await check(factory, citizen_id, code)).status is CheckStatus.LOCKED
    assert not (await citizen_row(factory, citizen_id)).phone_verified


async def test_an_expired_code_is_refused_even_when_right(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    code = await sent_code(factory, await start(factory, citizen_id))

    checked = await check(factory, citizen_id, code, now=T0 + CODE_LIFETIME)

    assert checked.status is CheckStatus.EXPIRED
    assert checked.code_is_dead
    assert not (await citizen_row(factory, citizen_id)).phone_verified


async def test_a_new_code_replaces_the_old_one(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    old = await sent_code(factory, await start(factory, citizen_id))
    new = await sent_code(factory, await start(factory, citizen_id, now=T0 + timedelta(seconds=5)))

    if old != new:
        assert (await check(factory, citizen_id, old)).status is CheckStatus.WRONG
    assert (await check(factory, citizen_id, new)).status is CheckStatus.VERIFIED


async def test_a_used_code_or_none_at_all_asks_for_a_new_one(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    assert (await check(factory, citizen_id, "12345")).status is CheckStatus.NO_CODE

    code = await sent_code(factory, await start(factory, citizen_id))
    assert (await check(factory, citizen_id, code)).status is CheckStatus.VERIFIED
    assert (await check(factory, citizen_id, code)).status is CheckStatus.NO_CODE


async def test_a_code_proves_only_the_number_and_citizen_it_was_sent_for(factory: Factory) -> None:
    owner, other = await new_citizen(factory), await new_citizen(factory)
    code = await sent_code(factory, await start(factory, owner))

    assert (await check(factory, other, code)).status is CheckStatus.NO_CODE
    assert (await check(factory, owner, code, OTHER_PHONE)).status is CheckStatus.NO_CODE
    assert (await check(factory, owner, code)).status is CheckStatus.VERIFIED


# Throttles.


async def test_a_number_gets_at_most_three_codes_in_ten_minutes(factory: Factory) -> None:
    citizens = [await new_citizen(factory) for _ in range(PHONE_LIMIT + 1)]
    for minute, citizen_id in enumerate(citizens[:PHONE_LIMIT]):
        result = await start(factory, citizen_id, now=T0 + timedelta(minutes=minute))
        assert result.status is StartStatus.SENT

    throttled = await start(factory, citizens[-1], now=T0 + timedelta(minutes=3))

    assert throttled.status is StartStatus.THROTTLED
    assert throttled.key == "phone.start.throttled"
    assert throttled.retry_after == (PHONE_WINDOW - timedelta(minutes=3)).total_seconds()
    assert throttled.retry_minutes == 7
    assert len(await sms_rows(factory)) == PHONE_LIMIT
    assert (await start(factory, citizens[-1], OTHER_PHONE, now=T0 + timedelta(minutes=3))).status is (
        StartStatus.SENT
    )
    later = await start(factory, citizens[-1], now=T0 + PHONE_WINDOW + timedelta(seconds=1))
    assert later.status is StartStatus.SENT


async def test_a_citizen_gets_at_most_five_codes_an_hour(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    phones = [f"0912000000{i}" for i in range(CITIZEN_LIMIT + 1)]
    for minute, phone in enumerate(phones[:CITIZEN_LIMIT]):
        result = await start(factory, citizen_id, phone, now=T0 + timedelta(minutes=minute))
        assert result.status is StartStatus.SENT

    throttled = await start(factory, citizen_id, phones[-1], now=T0 + timedelta(minutes=10))

    assert throttled.status is StartStatus.THROTTLED
    assert throttled.retry_after == (CITIZEN_WINDOW - timedelta(minutes=10)).total_seconds()
    assert len(await sms_rows(factory)) == CITIZEN_LIMIT
    later = await start(factory, citizen_id, phones[-1], now=T0 + CITIZEN_WINDOW + timedelta(seconds=1))
    assert later.status is StartStatus.SENT


# What the bot's form uses.


FORM_SNAPSHOT = {
    "form": [
        {"id": "name", "type": "text"},
        {"id": "mobile", "type": "mobile"},
        {"id": "other_mobile", "type": "mobile"},
    ]
}


def test_mobile_answers_are_read_in_form_order_and_normalized() -> None:
    answers = {"name": "09120000000", "mobile": "+989123456789", "other_mobile": "not a number"}
    assert mobile_answers(FORM_SNAPSHOT, answers) == [PHONE]


def test_sms_is_offered_unless_the_request_has_the_citizens_verified_number() -> None:
    answers = {"mobile": PHONE, "other_mobile": OTHER_PHONE}
    citizen = Citizen(platform="telegram", user_id=1, chat_id=1)
    assert phone_to_offer(citizen, FORM_SNAPSHOT, answers) == PHONE
    assert phone_to_offer(citizen, FORM_SNAPSHOT, {}) is None
    citizen.phone, citizen.phone_verified = OTHER_PHONE, True
    assert phone_to_offer(citizen, FORM_SNAPSHOT, answers) is None
    citizen.phone_verified = False
    assert phone_to_offer(citizen, FORM_SNAPSHOT, answers) == PHONE


async def test_a_number_the_messenger_vouched_for_is_recorded_verified(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    async with unit_of_work(factory, write=True) as session:
        citizen = await Citizens(session).get(citizen_id)
        assert citizen is not None
        await record_verified_phone(session, citizen, PHONE)
    citizen = await citizen_row(factory, citizen_id)
    assert (citizen.phone, citizen.phone_verified, citizen.sms_enabled) == (PHONE, True, True)


async def test_sharing_ones_own_contact_again_keeps_sms_turned_off(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    async with unit_of_work(factory, write=True) as session:
        citizen = await Citizens(session).get(citizen_id)
        assert citizen is not None
        assert await record_shared_phone(session, citizen, PHONE)
        await Citizens(session).set_sms_enabled(citizen, False)  # the citizen turned SMS off (/sms)
    async with unit_of_work(factory, write=True) as session:
        citizen = await Citizens(session).get(citizen_id)
        assert citizen is not None
        assert not await record_shared_phone(session, citizen, PHONE)
        assert (citizen.phone_verified, citizen.sms_enabled) == (True, False)
        assert await record_shared_phone(session, citizen, OTHER_PHONE)  # a new number: SMS on for it
    citizen = await citizen_row(factory, citizen_id)
    assert (citizen.phone, citizen.phone_verified, citizen.sms_enabled) == (OTHER_PHONE, True, True)


async def test_naive_times_are_a_programming_error(factory: Factory) -> None:
    citizen_id = await new_citizen(factory)
    with pytest.raises(ValueError, match="timezone-aware"):
        await start(factory, citizen_id, now=datetime(2026, 1, 1))  # a naive time: the mistake under test


# Texts.

DESK_VERIFICATION = Path(__file__).resolve().parents[2] / "desk" / "verification.py"
VERIFY_DIALOG = Path(__file__).resolve().parents[2] / "bot" / "dialogs" / "verify_phone.py"


def po_texts(lang: str) -> dict[str, str]:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "verification.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain="verification")
    return {str(m.id): str(m.string) for m in catalog if m.id}


def test_every_result_and_text_of_the_dialog_has_a_text_in_both_languages() -> None:
    keys = {f"phone.start.{s.value}" for s in StartStatus} | {f"phone.check.{s.value}" for s in CheckStatus}
    keys |= set(re.findall(r'"(phone\.[a-z_.]+)"', VERIFY_DIALOG.read_text(encoding="utf-8")))
    fa, en = po_texts("fa"), po_texts("en")
    assert not {key for key in keys if not fa.get(key) or not en.get(key)}
    assert set(fa) == set(en)
    fields = string.Formatter()
    for key in fa:
        assert {n for _, n, _, _ in fields.parse(fa[key]) if n} == {
            n for _, n, _, _ in fields.parse(en[key]) if n
        }
        assert not re.search(r"[0-9]", fa[key]), key
