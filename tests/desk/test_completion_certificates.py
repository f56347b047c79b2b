"""Completing a request of a certificate service issues one certificate, on SQLite and PostgreSQL (issue #7).

The service's ``certificate`` (catalog/FORMAT.md) arrives in the request's snapshot; ``desk.handling.complete``
issues the certificate in its own transaction and tells the citizen its verification code.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from desk.calendar import WorkCalendar
from desk.certificates import (
    CertificateStatus,
    CertificateType,
    VerifyStatus,
    format_certificate_code,
    issue_by_admin,
    issue_certificate,
    revoke_certificate,
    verify_certificate,
)
from desk.errors import TransitionError, ValidationError
from desk.handling import ActorRef, complete, reject, resume
from desk.i18n import translator
from desk.lifecycle import Actor, Status
from desk.persian import TEHRAN, visible
from desk.requests import Submission, submit_request
from desk.tracking import format_tracking_code
from storage.models import Certificate, OutboxMessage
from storage.repositories import Requests
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]

ORG = "falavarjan"
GROUPS = {"telegram": -100_501, "bale": 4242}
CLERK = ActorRef(Actor.CLERK, "telegram", 501, "رضا", organization_id=ORG)
SUPERVISOR = ActorRef(Actor.SUPERVISOR, "bale", 503, "مریم", organization_id=ORG)
NATIONAL_ID = "0499370899"
FORM: list[dict[str, Any]] = [
    {"id": "owner_name", "label": {"fa": "نام مالک"}, "type": "text", "required": True},
    {"id": "owner_national_id", "label": {"fa": "کد ملی مالک"}, "type": "national_id", "required": True},
    {"id": "plot_address", "label": {"fa": "نشانی ملک"}, "type": "text", "required": True},
]
ANSWERS = {
    "owner_name": "زهرا احمدی",
    "owner_national_id": NATIONAL_ID,
    "plot_address": "خیابان امام، پلاک ۱۲",
}
NO_VIOLATION = {
    "type": "no_violation_certificate",
    "holder_field": "owner_name",
    "national_id_field": "owner_national_id",
    "property_field": "plot_address",
    "valid_days": 90,
}

_keys = iter(range(1, 1_000_000))


def snapshot(certificate: Mapping[str, Any] | None, form: list[dict[str, Any]] = FORM) -> dict[str, Any]:
    return {
        "id": "no_violation_certificate",
        "title": {"fa": "گواهی عدم خلاف", "en": "No-violation certificate"},
        "duration_days": 3,
        "form": form,
        "documents": [],
        "certificate": dict(certificate) if certificate is not None else None,
    }


async def file_request(
    factory: Factory,
    certificate: Mapping[str, Any] | None = NO_VIOLATION,
    answers: Mapping[str, Any] = ANSWERS,
    form: list[dict[str, Any]] = FORM,
) -> tuple[int, str]:
    async with unit_of_work(factory, write=True) as session:
        result = await submit_request(
            session,
            Submission(
                platform="telegram",
                user_id=1001,
                chat_id=1011,
                first_name="زهرا",
                last_name="کریمی",
                username=None,
                organization_id=ORG,
                service_id="no_violation_certificate",
                service_version="v1",
                service_snapshot=snapshot(certificate, form),
                answers=dict(answers),
                documents=[],
                idempotency_key=f"certificates-{next(_keys)}",
                calendar=WorkCalendar(),
                today=date(2026, 4, 1),
            ),
        )
    return result.request_id, result.tracking_code


async def clerk_completes(factory: Factory, request_id: int, text: str | None, seen: Status) -> Any:
    async with unit_of_work(factory, write=True) as session:
        return await complete(session, request_id, CLERK, text, seen_status=seen, groups=GROUPS)


async def certificates(factory: Factory) -> list[Certificate]:
    async with factory() as session:
        return list((await session.scalars(select(Certificate).order_by(col(Certificate.id)))).all())


async def citizen_notices(factory: Factory) -> list[dict[str, Any]]:
    async with factory() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    return [row.payload for row in rows if row.dedupe_key.endswith(":citizen")]


def tehran_today() -> date:
    return datetime.now(TEHRAN).date()


async def test_completing_issues_one_certificate_from_the_answers(factory: Factory) -> None:
    request_id, _code = await file_request(factory)
    change = await clerk_completes(factory, request_id, "گواهی آماده است", Status.SUBMITTED)

    [certificate] = await certificates(factory)
    today = tehran_today()
    assert certificate.request_id == request_id
    assert certificate.organization_id == ORG
    assert certificate.type == CertificateType.NO_VIOLATION.value
    assert certificate.holder_name == "زهرا احمدی"
    assert certificate.holder_national_id == NATIONAL_ID
    assert certificate.property == "خیابان امام، پلاک 12"  # the answer alone, stored with ASCII digits
    assert certificate.issued_on == today
    assert certificate.valid_until == today + timedelta(days=90)
    assert certificate.issued_by == "telegram:501"
    assert change.certificate_code == certificate.verification_code

    notice = (await citizen_notices(factory))[-1]
    assert notice["key"] == "notify.citizen.completed_certificate_text"
    assert notice["params"]["certificate"] == format_certificate_code(certificate.verification_code)
    assert notice["params"]["text"] == "گواهی آماده است"
    assert notice["labels"]["certificate_type"] == "certificate.type.no_violation_certificate"
    for lang in ("fa", "en"):
        shown = translator(lang)(notice["key"], **notice["params"], certificate_type="-", status="-")
        assert f"/verify {notice['params']['certificate']}" in shown

    async with factory() as session:
        view = await verify_certificate(session, certificate.verification_code, today)
    assert view.status is VerifyStatus.VALID
    assert view.holder == "ز*** ا****"


async def test_a_reopened_request_completed_again_keeps_its_one_certificate(factory: Factory) -> None:
    request_id, _code = await file_request(factory)
    async with unit_of_work(factory, write=True) as session:
        await reject(session, request_id, CLERK, "مدارک ناقص", seen_status=Status.SUBMITTED, groups=GROUPS)
    async with unit_of_work(factory, write=True) as session:
        await resume(session, request_id, SUPERVISOR, seen_status=Status.REJECTED, groups=GROUPS)
    first = await clerk_completes(factory, request_id, None, Status.IN_PROGRESS)
    with pytest.raises(TransitionError):
        await clerk_completes(factory, request_id, None, Status.IN_PROGRESS)
    with pytest.raises(TransitionError):
        await clerk_completes(factory, request_id, None, Status.COMPLETED)
    [certificate] = await certificates(factory)
    assert first.certificate_code == certificate.verification_code
    assert (await citizen_notices(factory))[-1]["key"] == "notify.citizen.completed_certificate"


async def test_a_certificate_issued_before_completion_is_not_doubled(factory: Factory) -> None:
    request_id, _code = await file_request(factory)
    async with unit_of_work(factory, write=True) as session:
        issued = await issue_certificate(
            session,
            organization_id=ORG,
            type="no_violation_certificate",
            holder_name="زهرا احمدی",
            holder_national_id=NATIONAL_ID,
            property="پلاک ۱۲",
            issued_on=date(2026, 4, 2),
            request_id=request_id,
            issued_by="cli",
        )
        code = issued.verification_code
    change = await clerk_completes(factory, request_id, None, Status.SUBMITTED)
    [certificate] = await certificates(factory)
    assert certificate.verification_code == code == change.certificate_code
    assert (await citizen_notices(factory))[-1]["params"]["certificate"] == format_certificate_code(code)


async def test_a_service_without_certificate_issues_none(factory: Factory) -> None:
    request_id, _code = await file_request(factory, certificate=None)
    change = await clerk_completes(factory, request_id, "انجام شد", Status.SUBMITTED)
    assert await certificates(factory) == []
    assert change.certificate_code is None
    notice = (await citizen_notices(factory))[-1]
    assert notice["key"] == "notify.citizen.completed_text"
    assert "certificate" not in notice["params"]
    assert set(notice["labels"]) == {"status"}


async def test_a_request_filed_before_holders_were_asked_defaults_to_the_citizens_name_and_the_tracking_code(
    factory: Factory,
) -> None:
    spec = {"type": "building_permit", "national_id_field": "owner_national_id"}
    request_id, tracking_code = await file_request(factory, certificate=spec)
    await clerk_completes(factory, request_id, None, Status.SUBMITTED)
    [certificate] = await certificates(factory)
    assert certificate.holder_name == "زهرا کریمی"
    assert certificate.valid_until is None
    shown = format_tracking_code(tracking_code, "en")
    # Stored as normalized text, without the isolates the code is shown with.
    assert certificate.property == visible(translator("fa")("certificate.property.request", code=shown))


async def test_a_location_is_the_property_as_coordinates_in_persian_digits(factory: Factory) -> None:
    form_answers = {**ANSWERS, "plot_address": {"latitude": 32.5123456, "longitude": 51.5012345}}
    located = [{**q, "type": "location"} if q["id"] == "plot_address" else q for q in FORM]
    request_id, _code = await file_request(factory, answers=form_answers, form=located)
    await clerk_completes(factory, request_id, None, Status.SUBMITTED)
    [certificate] = await certificates(factory)
    assert certificate.property == "32٫51235، 51٫50123", "Persian separators (digits stored as typed)"


async def test_answers_that_cannot_fill_it_refuse_the_completion_and_write_nothing(factory: Factory) -> None:
    request_id, _code = await file_request(factory)
    async with unit_of_work(
        factory, write=True
    ) as session:  # filed before desk checked answers again at filing
        request = await Requests(session).get(request_id)
        assert request is not None
        request.answers = {**ANSWERS, "owner_national_id": "0499370898"}
        session.add(request)
    with pytest.raises(ValidationError):
        await clerk_completes(factory, request_id, None, Status.SUBMITTED)
    assert await certificates(factory) == []
    async with factory() as session:
        request = await Requests(session).get(request_id)
    assert request is not None
    assert request.status == Status.SUBMITTED.value


async def admin_issues(factory: Factory, request_id: int, **changed: Any) -> tuple[Certificate, bool]:
    """``miz certificate issue --request``: the corrected certificate an admin issues by hand."""
    fields: dict[str, Any] = {
        "organization_id": ORG,
        "type": "no_violation_certificate",
        "holder_name": "زهرا احمدی",
        "holder_national_id": NATIONAL_ID,
        "property": "خیابان امام، پلاک ۱۴",
        "issued_on": date(2026, 4, 5),
        "issued_by": "cli:admin",
        **changed,
    }
    async with unit_of_work(factory, write=True) as session:
        request = await Requests(session).get(request_id)
        assert request is not None
        return await issue_by_admin(session, request, **fields)


async def test_a_revoked_certificate_of_a_completed_request_is_corrected_and_the_citizen_told_the_new_code(
    factory: Factory,
) -> None:
    request_id, _code = await file_request(factory)
    await clerk_completes(factory, request_id, None, Status.SUBMITTED)
    with pytest.raises(TransitionError):  # completed is final: completing again cannot issue anything
        await clerk_completes(factory, request_id, None, Status.COMPLETED)
    [wrong] = await certificates(factory)
    async with unit_of_work(factory, write=True) as session:
        await revoke_certificate(session, wrong.verification_code, "پلاک ملک اشتباه نوشته شده بود")

    corrected, told = await admin_issues(factory, request_id)

    assert told
    assert [(c.verification_code, c.status) for c in await certificates(factory)] == [
        (wrong.verification_code, CertificateStatus.REVOKED.value),
        (corrected.verification_code, CertificateStatus.VALID.value),
    ]
    assert corrected.request_id == request_id
    async with factory() as session:
        old = await verify_certificate(session, wrong.verification_code, date(2026, 4, 6))
        new = await verify_certificate(session, corrected.verification_code, date(2026, 4, 6))
    assert (old.status, old.revoked_reason) == (VerifyStatus.REVOKED, "پلاک ملک اشتباه نوشته شده بود")
    assert (new.status, new.property) == (
        VerifyStatus.VALID,
        "خیابان امام، پلاک 14",
    )  # ASCII digits

    notice = (await citizen_notices(factory))[-1]
    assert notice["key"] == "notify.citizen.certificate_replaced"
    assert notice["params"]["certificate"] == format_certificate_code(corrected.verification_code)
    assert notice["params"]["revoked"] == format_certificate_code(wrong.verification_code)
    assert notice["labels"] == {"certificate_type": "certificate.type.no_violation_certificate"}
    for lang in ("fa", "en"):
        shown = translator(lang)(notice["key"], **notice["params"], certificate_type="-")
        assert f"/verify {notice['params']['certificate']}" in shown
        assert notice["params"]["revoked"] in shown


async def test_a_request_with_a_valid_certificate_gets_no_second_one(factory: Factory) -> None:
    request_id, _code = await file_request(factory)
    await clerk_completes(factory, request_id, None, Status.SUBMITTED)
    [valid] = await certificates(factory)
    notices = await citizen_notices(factory)
    with pytest.raises(ValidationError) as raised:
        await admin_issues(factory, request_id)
    assert raised.value.key == "certificate.request_has_valid"
    assert raised.value.params["code"] == format_certificate_code(valid.verification_code)
    with pytest.raises(ValidationError) as raised:
        await admin_issues(factory, request_id, organization_id="baharan")
    assert raised.value.key == "certificate.request_other_org"
    assert await certificates(factory) == [valid]
    assert await citizen_notices(factory) == notices


async def test_a_certificate_issued_by_hand_before_completion_is_told_with_the_completion(
    factory: Factory,
) -> None:
    request_id, _code = await file_request(factory)
    issued, told = await admin_issues(factory, request_id)
    assert not told
    assert await citizen_notices(factory) == [], "the completion notice will carry the code"
    await clerk_completes(factory, request_id, None, Status.SUBMITTED)
    assert await certificates(factory) == [issued]
    notice = (await citizen_notices(factory))[-1]
    assert notice["key"] == "notify.citizen.completed_certificate"
    assert notice["params"]["certificate"] == format_certificate_code(issued.verification_code)
