"""Dues, their import batches and certificates in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from storage.columns import utcnow
from storage.errors import VerificationCodeTakenError
from storage.models import Certificate, Citizen, Due, DuesImport, ServiceRequest
from storage.repositories import Certificates, Dues, Requests
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]


def _due(batch_id: int, code_key: str = "1234567", **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "organization_id": "falavarjan",
        "kind": "renovation",
        "property_or_business_code": code_key,
        "code_key": code_key,
        "national_id": "0499370899",
        "amount_rials": 1_250_000,
        "period_year": 1405,
        "period_number": 0,
        "bill_id": "1123456731161",
        "payment_id": "125050007",
        "imported_at": utcnow(),
        "import_batch_id": batch_id,
    }
    values.update(fields)
    return values


async def _batch(session: AsyncSession, **fields: Any) -> int:
    values: dict[str, Any] = {
        "organization_id": "falavarjan",
        "kind": "renovation",
        "file_name": "dues.csv",
        "sha256": "0" * 64,
        "rows": 1,
        "imported_by": "tester",
    }
    values.update(fields)
    batch = await Dues(session).add_batch(DuesImport(**values))
    assert batch.id is not None
    return batch.id


async def test_dues_are_found_by_code_and_national_id(factory: Factory) -> None:
    async with unit_of_work(factory) as session:
        batch = await _batch(session)
        await Dues(session).insert_many(
            [
                _due(batch, period_number=2, payment_id="125050279"),
                _due(batch),
                _due(batch, kind="business", bill_id="2123456731167"),
                _due(batch, "777", national_id="0790419904"),
                _due(batch, organization_id="imanshahr"),
            ]
        )
    async with factory() as session:
        dues = await Dues(session).of_holder("falavarjan", ["1234567"], "0499370899")
        assert [(d.period_number, d.kind) for d in dues] == [
            (0, "business"),
            (0, "renovation"),
            (2, "renovation"),
        ]
        assert await Dues(session).of_holder("falavarjan", ["1234567"], "0790419904") == []
        assert await Dues(session).count("falavarjan") == 4
        assert await Dues(session).count("falavarjan", "renovation", paid=False) == 3


async def test_one_due_per_code_and_period_and_amounts_are_positive(factory: Factory) -> None:
    async with unit_of_work(factory) as session:
        batch = await _batch(session)
        await Dues(session).insert_many([_due(batch)])
    with pytest.raises(IntegrityError):
        async with unit_of_work(factory) as session:
            await Dues(session).insert_many([_due(batch, national_id="0790419904")])
    with pytest.raises(IntegrityError):
        async with unit_of_work(factory) as session:
            await Dues(session).insert_many([_due(batch, "999", amount_rials=0)])
    with pytest.raises(IntegrityError):
        async with unit_of_work(factory) as session:
            await Dues(session).insert_many([_due(999_999, "888")])  # no such batch


async def test_replacing_removes_only_unpaid_dues_of_the_given_periods(factory: Factory) -> None:
    async with unit_of_work(factory) as session:
        batch = await _batch(session)
        dues = Dues(session)
        await dues.insert_many(
            [
                _due(batch, "1", bill_id="1000000131167"),
                _due(batch, "2", bill_id="1000000231162"),
                _due(batch, "3", period_number=1),
                _due(batch, "4", kind="business"),
                _due(batch, "5", organization_id="imanshahr"),
            ]
        )
        assert await dues.mark_paid("1000000131167", "125050007")
    async with unit_of_work(factory) as session:
        dues = Dues(session)
        assert await dues.paid_keys("falavarjan", "renovation", [(1405, 0), (1405, 1)]) == {("1", 1405, 0)}
        assert await dues.paid_keys("falavarjan", "renovation", [(1404, 0)]) == set()
        assert await dues.file_numbers("falavarjan", "renovation") == {
            "1": 10000001,
            "2": 10000002,
            "3": 11234567,
        }
        assert await dues.delete_unpaid("falavarjan", "renovation", [(1405, 0)]) == 1
    async with factory() as session:
        left = (await session.scalars(select(Due.code_key).order_by(col(Due.code_key)))).all()
    assert left == ["1", "3", "4", "5"]


async def test_the_latest_import_of_the_same_file_is_found(factory: Factory) -> None:
    async with unit_of_work(factory) as session:
        await _batch(session, sha256="a" * 64, rows=1)
        await _batch(session, sha256="a" * 64, rows=2)
        await _batch(session, sha256="a" * 64, rows=3, kind="business")
    async with factory() as session:
        dues = Dues(session)
        found = await dues.batch_by_sha256("falavarjan", "renovation", "a" * 64)
        assert found is not None
        assert found.rows == 2
        assert await dues.batch_by_sha256("imanshahr", "renovation", "a" * 64) is None


def _certificate(code: str, **fields: Any) -> Certificate:
    values: dict[str, Any] = {
        "organization_id": "falavarjan",
        "type": "completion_certificate",
        "holder_name": "زهرا احمدی",
        "holder_national_id": "0499370899",
        "property": "فلاورجان، پلاک ۱۲",
        "issued_on": date(2026, 11, 27),
        "verification_code": code,
        "issued_by": "tester",
    }
    values.update(fields)
    return Certificate(**values)


async def test_certificates_by_code_revoked_and_unique(factory: Factory) -> None:
    async with unit_of_work(factory) as session:
        await Certificates(session).add(_certificate("K7QM2XPD9HRK"))
    with pytest.raises(VerificationCodeTakenError):
        async with unit_of_work(factory) as session:
            await Certificates(session).add(_certificate("K7QM2XPD9HRK", holder_name="دیگری"))
    async with unit_of_work(factory) as session:
        certificates = Certificates(session)
        found = await certificates.by_code("K7QM2XPD9HRK")
        assert found is not None
        assert found.status == "valid"
        await certificates.revoke(found, "صدور اشتباه")
        assert await certificates.by_code("0000000000000") is None
    async with factory() as session:
        found = await Certificates(session).by_code("K7QM2XPD9HRK")
        assert found is not None
        assert (found.status, found.revoked_reason) == ("revoked", "صدور اشتباه")
        assert found.revoked_at is not None
        assert found.revoked_at.tzinfo is not None
        assert found.valid_until is None


async def test_a_certificate_outlives_its_request(
    factory: Factory, citizen: Citizen, make_request: Callable[..., ServiceRequest]
) -> None:
    assert citizen.id is not None
    async with unit_of_work(factory) as session:
        request, _ = await Requests(session).add(make_request(citizen.id))
        await Certificates(session).add(_certificate("ABCD", request_id=request.id))
    async with unit_of_work(factory) as session:
        await session.execute(delete(ServiceRequest))
    async with factory() as session:
        found = await Certificates(session).by_code("ABCD")
        assert found is not None
        assert found.request_id is None
