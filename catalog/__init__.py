"""The service catalog: the county, its organizations and services, read from YAML and checked as a whole.

Import from here: ``load_catalog`` and ``CatalogHolder`` to load, ``Catalog`` to look things up, the
schema models to read what a service asks for. The format is described in ``catalog/FORMAT.md``.
"""

from __future__ import annotations

from catalog.index import Catalog, CatalogSummary, NotInCatalogError
from catalog.loader import CatalogHolder, check_catalog, load_catalog
from catalog.problems import CatalogError, Problem
from catalog.schema import (
    Category,
    Clerk,
    ClerkRole,
    Document,
    DocumentKind,
    FieldType,
    FormField,
    Organization,
    OrganizationKind,
    Platform,
    ResolvedService,
    Service,
    Text,
)

__all__ = [
    "Catalog",
    "CatalogError",
    "CatalogHolder",
    "CatalogSummary",
    "Category",
    "Clerk",
    "ClerkRole",
    "Document",
    "DocumentKind",
    "FieldType",
    "FormField",
    "NotInCatalogError",
    "Organization",
    "OrganizationKind",
    "Platform",
    "Problem",
    "ResolvedService",
    "Service",
    "Text",
    "check_catalog",
    "load_catalog",
]
