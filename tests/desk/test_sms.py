"""SMS to citizens: every text fits two parts, and only a verified mobile that kept SMS on gets them, at each stage."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from catalog.loader import load_catalog
from config.settings import PROJECT_ROOT
from desk.handling import claim, complete, reject
from desk.i18n import LANGUAGES, translator
from desk.lifecycle import Status
from desk.persian import for_sms, format_number
from desk.sms import MAX_PARTS, SmsPayloadError, render_sms, sms_parts
from desk.tracking import format_tracking_code
from storage.models import OutboxMessage
from storage.repositories import Citizens
from storage.uow import unit_of_work
from tests.desk.test_handling import clerk_acts, file_request

Factory = async_sessionmaker[AsyncSession]

SMS_KEYS = (
    "sms.submitted",
    "sms.status",
    "sms.needs_info",
    "sms.awaiting_payment",
    "sms.paid",
    "sms.completed",
    "sms.rejected",
    "sms.blocked",
    "sms.code",
)


def test_gsm_and_persian_texts_are_split_into_parts_as_gateways_charge() -> None:
    assert sms_parts("a" * 160) == 1
    assert sms_parts("a" * 161) == 2  # 153 a part once split
    assert sms_parts("س" * 70) == 1
    assert sms_parts("س" * 71) == 2  # 67 a part once split
    assert sms_parts("س" * 135) == 3


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", SMS_KEYS)
def test_every_sms_fits_two_parts_with_the_longest_names(lang: str, key: str) -> None:
    catalog = load_catalog(PROJECT_ROOT / "catalog" / "data")
    t = translator(lang)
    assert t.has(key), f"{key} missing in {lang}"
    longest_org = max((org.name.get(lang) for org in catalog.organizations), key=len)
    longest_status = max((t(status.label_key) for status in Status), key=len)
    text = for_sms(
        t(
            key,
            code=format_tracking_code("123412341234", lang),
            org=longest_org,
            status=longest_status,
            amount=format_number(999_999_999_000, lang),
        ),
        lang,
    )
    assert "{" not in text, text
    assert sms_parts(text) <= MAX_PARTS, f"{key} ({lang}) takes {sms_parts(text)} parts: {text}"


def test_an_sms_names_the_organization_and_the_status_in_the_citizens_language() -> None:
    payload = {
        "type": "sms",
        "key": "sms.status",
        "lang": "en",
        "params": {"code": "1234-1234-1234", "org": "falavarjan"},
        "labels": {"status": "desk.status.in_progress"},
    }
    names = {("falavarjan", "en"): "Falavarjan Municipality"}
    text = render_sms(payload, lambda org, lang: names[(org, lang)])
    assert text == "Miz: request 1234-1234-1234 at Falavarjan Municipality: In progress"
    with pytest.raises(SmsPayloadError):
        render_sms({**payload, "key": "bot.menu.track"})  # not an SMS text
    with pytest.raises(SmsPayloadError):
        render_sms({**payload, "params": {}})  # a parameter is missing


async def _sms_rows(factory: Factory) -> list[OutboxMessage]:
    async with factory() as session:
        stmt = (
            select(OutboxMessage).where(col(OutboxMessage.channel) == "sms").order_by(col(OutboxMessage.id))
        )
        return list((await session.scalars(stmt)).all())


async def _give_phone(factory: Factory, user_id: int, *, verified: bool, sms: bool) -> None:
    async with unit_of_work(factory, write=True) as session:
        citizens = Citizens(session)
        citizen = await citizens.get_or_create("telegram", user_id, chat_id=user_id + 10)
        await citizens.set_phone(citizen, "09131234567", verified=verified)
        await citizens.set_sms_enabled(citizen, sms)


async def test_a_verified_mobile_gets_an_sms_at_filing_at_each_public_change_and_at_completion(
    factory: Factory,
) -> None:
    await _give_phone(factory, 501, verified=True, sms=True)
    request_id, code = await file_request(factory, user_id=501)
    await clerk_acts(factory, claim, request_id, seen=Status.SUBMITTED)
    await clerk_acts(factory, complete, request_id, "پروانه صادر شد", seen=Status.IN_PROGRESS)

    rows = await _sms_rows(factory)
    assert [row.payload["key"] for row in rows] == ["sms.submitted", "sms.status", "sms.completed"]
    assert {row.phone for row in rows} == {"09131234567"}
    assert {row.organization_id for row in rows} == {"falavarjan"}  # who pays for it
    assert all(row.payload["params"]["code"] == format_tracking_code(code, "fa") for row in rows)


@pytest.mark.parametrize(("verified", "sms"), [(False, True), (True, False)])
async def test_no_sms_to_an_unverified_mobile_or_to_a_citizen_who_turned_sms_off(
    factory: Factory, verified: bool, sms: bool
) -> None:
    await _give_phone(factory, 502, verified=verified, sms=sms)
    request_id, _ = await file_request(factory, user_id=502)
    await clerk_acts(factory, reject, request_id, "مدارک ناقص است", seen=Status.SUBMITTED)
    assert await _sms_rows(factory) == []


async def test_a_citizen_without_a_mobile_gets_no_sms(factory: Factory) -> None:
    request_id, _ = await file_request(factory, user_id=503)
    await clerk_acts(factory, claim, request_id, seen=Status.SUBMITTED)
    assert await _sms_rows(factory) == []


def test_a_persian_sms_marks_its_code_left_to_right_and_an_english_one_stays_gsm7() -> None:
    """Phones' SMS apps may draw isolates as boxes: a Persian SMS carries LRM marks around the code instead, so
    its groups are not drawn in reverse; an English one needs neither and keeps 160 characters a part."""
    payload = {
        "type": "sms",
        "key": "sms.submitted",
        "params": {"code": format_tracking_code("123412341234", "fa"), "org": "falavarjan"},
    }
    names = {("falavarjan", "fa"): "شهرداری فلاورجان", ("falavarjan", "en"): "Falavarjan Municipality"}
    persian = render_sms({**payload, "lang": "fa"}, lambda org, lang: names[(org, lang)])
    assert persian.endswith("\u200e۱۲۳۴-۱۲۳۴-۱۲۳۴"), (
        "a mark before the code (one at the very end orders nothing)"
    )
    assert "\u2066" not in persian
    assert "\u2069" not in persian
    english_payload = {
        **payload,
        "lang": "en",
        "params": {**payload["params"], "code": format_tracking_code("123412341234", "en")},
    }
    english = render_sms(english_payload, lambda org, lang: names[(org, lang)])
    assert "1234-1234-1234" in english
    assert set(english) <= set(english.encode("ascii", "ignore").decode()), "nothing invisible in English"
