"""The public site built once per test module from the shipped catalog, with both bots' usernames."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog import load_catalog
from catalog.index import Catalog
from config.settings import PROJECT_ROOT
from public.site import build_site

BALE_BOT = "miz_falavarjan_bot"
TELEGRAM_BOT = "MizFalavarjanBot"
TRACK_URL = "https://miz.example.ir/track"


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return load_catalog(PROJECT_ROOT / "catalog" / "data")


@pytest.fixture(scope="module")
def site(shipped: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build_site(shipped, out, {"bale": BALE_BOT, "telegram": TELEGRAM_BOT}, track_url=TRACK_URL)
    return out
