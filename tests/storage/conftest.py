"""Fixtures of the storage tests: a stored citizen and a request builder.

The database fixtures (``database``, ``engine``, ``factory``: every test on SQLite and on PostgreSQL) live in
``tests/conftest.py``, shared with the ``desk`` use-case tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Citizen, ServiceRequest
from storage.repositories import Citizens
from storage.uow import unit_of_work


@pytest.fixture
async def citizen(factory: async_sessionmaker[AsyncSession]) -> Citizen:
    """A Bale citizen already in the database."""
    async with unit_of_work(factory) as session:
        return await Citizens(session).get_or_create(
            "bale", 7_000_000_123, chat_id=7_000_000_123, first_name="مریم"
        )


_codes = itertools.count(100_000_001)


@pytest.fixture
def make_request() -> Callable[..., ServiceRequest]:
    """Builds (does not store) a submitted request with a fresh tracking code; keywords override fields."""

    def build(citizen_id: int, **fields: Any) -> ServiceRequest:
        values: dict[str, Any] = {
            "tracking_code": str(next(_codes)),
            "citizen_id": citizen_id,
            "organization_id": "falavarjan",
            "service_id": "renovation_fee",
            "service_version": "1405.1",
            "status": "submitted",
            "deadline": date(2026, 3, 1),
        }
        values.update(fields)
        return ServiceRequest(**values)

    return build
