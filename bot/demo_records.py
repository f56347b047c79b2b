"""Sample dues and a sample certificate for ``miz demo``, so the dues look-up and ``/verify`` have something to find.

Idempotent: the dues import replaces the same unpaid sample dues on every start, and the certificate has a fixed
code and is issued once. Every value is invented (the national IDs are public test vectors: docs/RULES.md,
"National ID").
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.index import Catalog
from desk.certificates import issue_certificate
from desk.dues import DueKind, import_dues, parse_dues_csv
from storage.repositories import Certificates
from storage.uow import unit_of_work

__all__ = ["DEMO_CERTIFICATE_CODE", "DEMO_DUES_CODE", "DEMO_NATIONAL_ID", "seed_demo_records"]

DEMO_ORGANIZATION = "falavarjan"
DEMO_DUES_CODE = "12-34-567"
DEMO_NATIONAL_ID = "0499370899"
DEMO_CERTIFICATE_CODE = "K7QM2XPD9HRK"
_DUES_CSV = (
    "code,national_id,amount_rials,period\n"
    f"{DEMO_DUES_CODE},{DEMO_NATIONAL_ID},1250000,1405\n"
    f"{DEMO_DUES_CODE},{DEMO_NATIONAL_ID},480000,1404\n"
    "12-34-568,0790419904,960000,1405\n"
)


async def seed_demo_records(factory: async_sessionmaker[AsyncSession], catalog: Catalog) -> None:
    """Import the sample renovation dues of Falavarjan and issue the sample certificate (once)."""
    billing = catalog.organization(DEMO_ORGANIZATION).billing
    if billing is None:
        return
    parsed = parse_dues_csv(_DUES_CSV.encode())
    async with unit_of_work(factory, write=True) as session:
        await import_dues(
            session,
            parsed.rows,
            organization_id=DEMO_ORGANIZATION,
            company_code=billing.company_code,
            kind=DueKind.RENOVATION,
            file_name="demo.csv",
            sha256="demo",
            imported_by="demo",
        )
        if await Certificates(session).by_code(DEMO_CERTIFICATE_CODE) is None:
            await issue_certificate(
                session,
                organization_id=DEMO_ORGANIZATION,
                type="completion_certificate",
                holder_name="زهرا احمدی",
                holder_national_id=DEMO_NATIONAL_ID,
                property="فلاورجان، خیابان امام خمینی، پلاک ۱۲ (نمونه)",
                issued_on=date(2026, 11, 27),
                issued_by="demo",
                code_source=lambda: DEMO_CERTIFICATE_CODE,
            )
