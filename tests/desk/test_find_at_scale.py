"""``/find NATIONAL_ID`` at an organization's size: every request naming it, however old, newest first (issue #19).

3,000 requests of two organizations are generated in bulk (``bench.county``); citizen 0 filed every 20th of each, from the oldest to the newest. The answer is checked against reading every request's answers.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from bench.county import Shape, generate, national_id_of
from catalog.loader import load_catalog
from desk import handling
from desk.lifecycle import Actor
from storage.models import ServiceRequest

CATALOG = load_catalog(Path(__file__).resolve().parents[2] / "catalog" / "data")
SHAPE = Shape(
    requests=3_000,
    citizens=500,
    organizations=("falavarjan", "imanshahr"),
    frequent_every=20,
    events_per_request=0,
    outbox_per_request=0,
    pending_outbox=0,
)


def clerk_of(org_id: str) -> handling.ActorRef:
    return handling.ActorRef(Actor.CLERK, "bale", 7_200_000_001, organization_id=org_id)


async def naming(factory: async_sessionmaker[AsyncSession], org_id: str, national_id: str) -> list[str]:
    """The oracle: tracking codes of the organization's requests with ``national_id`` as an answer, newest first."""
    async with factory() as session:
        rows = (
            await session.scalars(
                select(ServiceRequest)
                .where(col(ServiceRequest.organization_id) == org_id)
                .order_by(col(ServiceRequest.created_at).desc(), col(ServiceRequest.id).desc())
            )
        ).all()
    return [r.tracking_code for r in rows if national_id in r.answers.values()]


async def test_every_request_naming_a_national_id_is_found_newest_first_however_old(
    engine: AsyncEngine, factory: async_sessionmaker[AsyncSession]
) -> None:
    await generate(engine, CATALOG, SHAPE, today=date(2026, 12, 5))
    frequent = national_id_of(0)
    expected = await naming(factory, "falavarjan", frequent)
    assert len(expected) > handling.FIND_LIMIT  # more than a page, from the oldest request on

    async with factory() as session:
        found = await handling.find_by_national_id(session, clerk_of("falavarjan"), frequent)
        everything = await handling.find_by_national_id(
            session, clerk_of("falavarjan"), frequent, limit=1_000
        )
        imanshahr = await handling.find_by_national_id(session, clerk_of("imanshahr"), frequent)
        elsewhere = await handling.find_by_national_id(session, clerk_of("zazeran"), frequent)

    assert found.total == len(expected)
    assert [r.tracking_code for r in found.items] == expected[: handling.FIND_LIMIT]
    assert [r.tracking_code for r in everything.items] == expected
    assert imanshahr.total == len(await naming(factory, "imanshahr", frequent))
    assert not {r.tracking_code for r in imanshahr.items} & set(expected)
    assert elsewhere.total == 0, "another organization's requests are never found"
