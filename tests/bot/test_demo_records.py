"""``miz demo`` seeds sample dues and a certificate that the chat finds, however often it starts."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.demo_records import DEMO_CERTIFICATE_CODE, DEMO_DUES_CODE, DEMO_NATIONAL_ID, seed_demo_records
from catalog import load_catalog
from config.settings import PROJECT_ROOT
from desk.certificates import VerifyStatus, is_valid_code, verify_certificate
from desk.dues import lookup_dues
from storage.repositories import Dues


async def test_demo_records_are_seeded_once(factory: async_sessionmaker[AsyncSession]) -> None:
    catalog = load_catalog(PROJECT_ROOT / "catalog" / "data")
    assert is_valid_code(DEMO_CERTIFICATE_CODE)
    await seed_demo_records(factory, catalog)
    await seed_demo_records(factory, catalog)  # a second start of the demo
    async with factory() as session:
        assert await Dues(session).count("falavarjan") == 3
        view = await lookup_dues(session, "falavarjan", DEMO_DUES_CODE, DEMO_NATIONAL_ID)
        assert len(view.unpaid) == 2
        found = await verify_certificate(session, DEMO_CERTIFICATE_CODE, date(2026, 12, 1))
        assert found.status is VerifyStatus.VALID
