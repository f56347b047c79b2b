"""The layers hold: the domain, the catalog and the store never pull in the messenger library, and the catalog
loads without the database (an admin checking a catalog needs neither)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def imported_by(module: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after importing ``module``."""
    code = f"import sys, {module}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


@pytest.mark.parametrize(
    "module",
    ["desk.handling", "desk.access", "storage.repositories", "catalog.loader", "public.site", "public.track"],
)
def test_the_domain_catalog_and_store_never_import_aiogram(module: str) -> None:
    assert "aiogram" not in imported_by(module)


def test_the_catalog_loads_without_the_database_layer() -> None:
    loaded = imported_by("catalog.loader")
    assert not {"storage", "sqlmodel", "sqlalchemy"} & loaded, sorted(loaded)
