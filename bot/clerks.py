"""Who may act in an operator group: the catalog's clerks, and those added there with ``/addclerk``.

The added ones are kept in the database (``registered_clerk``) and cached in the process, which reads them
once at start-up and updates the cache on every change it makes.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.loader import CatalogHolder
from catalog.schema import Clerk, ClerkRole, Text
from catalog.schema import Platform as CatalogPlatform
from desk.persian import display_name
from storage.models import RegisteredClerk
from storage.repositories import RegisteredClerks
from storage.uow import unit_of_work

__all__ = ["ClerkRegistry"]

_Key = tuple[str, str, int]


class ClerkRegistry:
    """The clerks of every organization: catalog first, then the registered ones."""

    def __init__(self, factory: async_sessionmaker[AsyncSession], catalogs: CatalogHolder) -> None:
        self._factory = factory
        self._catalogs = catalogs
        self._added: dict[_Key, Clerk] = {}

    async def load(self) -> None:
        """Read the registered clerks (at start-up)."""
        async with self._factory() as session:
            rows = await RegisteredClerks(session).all()
        self._added = {(r.organization_id, r.platform, r.user_id): self._as_clerk(r) for r in rows}

    @staticmethod
    def _as_clerk(row: RegisteredClerk) -> Clerk:
        return Clerk(platform=CatalogPlatform(row.platform), user_id=row.user_id, name=Text(fa=row.name))

    def in_catalog(self, org_id: str, platform: str, user_id: int) -> Clerk | None:
        """The clerk as the catalog lists them, if it does."""
        return next(
            (
                c
                for c in self._catalogs.catalog.clerks(org_id)
                if c.platform.value == platform and c.user_id == user_id
            ),
            None,
        )

    def find(self, org_id: str, platform: str, user_id: int) -> Clerk | None:
        """The clerk ``user_id`` of ``org_id`` on ``platform``, or None for anyone else."""
        return self.in_catalog(org_id, platform, user_id) or self._added.get((org_id, platform, user_id))

    def anywhere(self, platform: str, user_id: int) -> Clerk | None:
        """The clerk with this account in any organization (a governorate inspector handling a complaint)."""
        for org in self._catalogs.catalog.organizations:
            clerk = self.find(org.id, platform, user_id)
            if clerk is not None:
                return clerk
        return None

    def is_supervisor(self, org_id: str, platform: str, user_id: int) -> bool:
        """A supervisor of ``org_id`` in the catalog (registered clerks are never supervisors)."""
        clerk = self.in_catalog(org_id, platform, user_id)
        return clerk is not None and clerk.role is ClerkRole.SUPERVISOR

    def added(self, org_id: str) -> list[Clerk]:
        """The clerks registered in the group of ``org_id``."""
        return [clerk for (org, _, _), clerk in self._added.items() if org == org_id]

    async def add(self, org_id: str, platform: str, user_id: int, name: str, added_by: str) -> bool:
        """Register a clerk; False when they already are one (in the catalog or registered).

        ``name`` is their messenger profile's name, kept as ``desk.persian.display_name`` cleans it.
        """
        if self.find(org_id, platform, user_id) is not None:
            return False
        row = RegisteredClerk(
            organization_id=org_id,
            platform=platform,
            user_id=user_id,
            name=display_name(name) or str(user_id),
            added_by=added_by,
        )
        async with unit_of_work(self._factory, write=True) as session:
            await RegisteredClerks(session).add(row)
        self._added[(org_id, platform, user_id)] = self._as_clerk(row)
        return True

    async def remove(self, org_id: str, platform: str, user_id: int) -> bool:
        """Unregister a clerk added in the group; False when they were not (catalog clerks stay)."""
        if (org_id, platform, user_id) not in self._added:
            return False
        async with unit_of_work(self._factory, write=True) as session:
            await RegisteredClerks(session).remove(org_id, platform, user_id)
        del self._added[(org_id, platform, user_id)]
        return True
