"""How many requests each organization's services got in a period: the posters' most used services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Citizen, ServiceRequest
from storage.repositories import Requests
from storage.uow import unit_of_work


async def test_requests_are_counted_per_organization_and_service_since_a_day(
    factory: async_sessionmaker[AsyncSession], citizen: Citizen, make_request: Callable[..., ServiceRequest]
) -> None:
    assert citizen.id is not None
    now = datetime.now(UTC)
    filed = [
        ("falavarjan", "building_permit", now - timedelta(days=3)),
        ("falavarjan", "building_permit", now - timedelta(days=40)),
        ("falavarjan", "tree_cutting", now - timedelta(days=1)),
        ("abrisham", "building_permit", now - timedelta(days=2)),
        ("falavarjan", "tree_cutting", now - timedelta(days=400)),  # before the period
    ]
    async with unit_of_work(factory, write=True) as session:
        for org, service, at in filed:
            await Requests(session).add(
                make_request(citizen.id, organization_id=org, service_id=service, submitted_at=at)
            )
    async with factory() as session:
        counts = await Requests(session).filed_per_service(now - timedelta(days=365))
    assert counts == {
        ("falavarjan", "building_permit"): 2,
        ("falavarjan", "tree_cutting"): 1,
        ("abrisham", "building_permit"): 1,
    }
