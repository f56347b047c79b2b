"""The names a report's rows are read by: organizations and services from the catalog, clerks by their name."""

from __future__ import annotations

from collections.abc import Callable

from catalog.index import Catalog
from catalog.problems import NotInCatalogError
from catalog.schema import Clerk

__all__ = ["ClerkFinder", "RowNames", "catalog_clerk"]

ClerkFinder = Callable[[str, str, int], Clerk | None]
"""The clerk of an organization by platform and user id (``ClerkRegistry.find``, or the catalog's alone)."""


def catalog_clerk(catalog: Catalog) -> ClerkFinder:
    """A finder of the clerks the catalog lists."""

    def find(org_id: str, platform: str, user_id: int) -> Clerk | None:
        return next(
            (c for c in catalog.clerks(org_id) if c.platform.value == platform and c.user_id == user_id), None
        )

    return find


class RowNames:
    """Names a row's key in ``lang``: an organization id, or, within ``org_id``, a service id or a clerk's
    ``platform:user id``; a key it cannot name is shown as it is."""

    def __init__(self, catalog: Catalog, org_id: str | None, lang: str, find_clerk: ClerkFinder) -> None:
        self._catalog = catalog
        self._org_id = org_id
        self._lang = lang
        self._find_clerk = find_clerk

    def __call__(self, key: str) -> str:
        catalog = self._catalog
        if catalog.has_organization(key):
            return catalog.organization(key).name.get(self._lang)
        if self._org_id is None:
            return key
        if ":" in key:
            platform, _, user_id = key.partition(":")
            clerk = self._find_clerk(self._org_id, platform, int(user_id)) if user_id.isdigit() else None
            return clerk.name.get(self._lang) if clerk is not None else key
        try:
            return catalog.service(self._org_id, key).title.get(self._lang)
        except NotInCatalogError:
            return key
