"""The catalog facts the access rules of ``desk.access`` need: which organization is the governorate.

A request's cards and messages go to the operator groups of the organization that handles it
(``ServiceRequest.organization_id``); ``desk.access`` decides which that is (the governorate, for an anonymous
complaint) and who may see it.
"""

from __future__ import annotations

from catalog.index import Catalog
from catalog.schema import OrganizationKind

__all__ = ["governorate_id", "the_governorate"]


def the_governorate(catalog: Catalog) -> str | None:
    """The id of the catalog's county governorate, with or without an operator group; None when it has none."""
    return next((o.id for o in catalog.organizations if o.kind is OrganizationKind.GOVERNORATE), None)


def governorate_id(catalog: Catalog) -> str | None:
    """The county governorate that can take anonymous complaints: None when the catalog has no governorate with
    an operator group (such a complaint is then refused politely, never handed to the organization accused)."""
    found = the_governorate(catalog)
    return found if found is not None and catalog.operator_groups(found) else None
