"""A restart does not parse an unchanged catalog again (issue 19, item 5): a clean load is left in the cache folder
and read back by the next process, while any edit, or a damaged cache file, means parsing the files again."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog import loader
from catalog.loader import CatalogHolder, check_catalog
from tests.catalog.conftest import CatalogDir


@pytest.fixture
def new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a process just started: no catalog loaded in memory yet."""
    monkeypatch.setattr(loader, "_LOADED", {})


def parsing_counted(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Record every folder the loader parses."""
    parsed: list[Path] = []
    run = loader._Loader.run

    def counted(self: loader._Loader) -> object:
        parsed.append(self.directory)
        return run(self)

    monkeypatch.setattr(loader._Loader, "run", counted)
    return parsed


def test_the_next_process_reads_the_cached_catalog_instead_of_parsing(
    catalog_dir: CatalogDir, tmp_path: Path, new_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    parsed = parsing_counted(monkeypatch)
    first = CatalogHolder(catalog_dir.root, cache_dir=cache).catalog
    assert len(parsed) == 1
    assert len(list(cache.glob("catalog-*.pickle"))) == 1

    monkeypatch.setattr(loader, "_LOADED", {})  # a restart
    again = CatalogHolder(catalog_dir.root, cache_dir=cache).catalog
    assert len(parsed) == 1, "not parsed again"
    assert again.summary() == first.summary()
    assert [org.id for org in again.organizations] == [org.id for org in first.organizations]


def test_an_edited_catalog_is_parsed_again_and_replaces_the_cached_one(
    catalog_dir: CatalogDir, tmp_path: Path, new_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    parsed = parsing_counted(monkeypatch)
    check_catalog(catalog_dir.root, cache)
    catalog_dir.edit("organizations/town.yaml", "popularity: 100", "popularity: 5")
    monkeypatch.setattr(loader, "_LOADED", {})
    catalog, problems = check_catalog(catalog_dir.root, cache)
    assert (catalog is not None, problems, len(parsed)) == (True, [], 2)
    assert len(list(cache.glob("catalog-*.pickle"))) == 1, "only the newest is kept"


def test_a_broken_catalog_is_never_cached(catalog_dir: CatalogDir, tmp_path: Path, new_process: None) -> None:
    cache = tmp_path / "cache"
    catalog_dir.edit("organizations/town.yaml", "district: central", "district: nowhere")
    catalog, problems = check_catalog(catalog_dir.root, cache)
    assert catalog is None
    assert problems
    assert not list(cache.glob("catalog-*.pickle"))


def test_a_damaged_cache_file_means_parsing_again(
    catalog_dir: CatalogDir, tmp_path: Path, new_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    parsed = parsing_counted(monkeypatch)
    check_catalog(catalog_dir.root, cache)
    (cached,) = cache.glob("catalog-*.pickle")
    cached.write_bytes(b"not a pickle")
    monkeypatch.setattr(loader, "_LOADED", {})
    catalog, problems = check_catalog(catalog_dir.root, cache)
    assert (catalog is not None, problems, len(parsed)) == (True, [], 2)
