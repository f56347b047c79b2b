"""A service names its responsible official per organization (title, and optionally name and office phone): the
bot's card and the public site show them, and an unconfirmed name is a sample value."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot.cards import catalog_service_card
from bot.render import Renderer
from catalog import load_catalog
from desk.platforms import Platform
from public.site import build_site

OVERRIDE = """\
overrides:
  town:
    responsible:
      title: {fa: رئیس واحد درآمد, en: Head of the revenue unit}
      name: {fa: مریم احمدی, en: Maryam Ahmadi}
      phone: "031-3742-2021"
      sample: true
"""


def test_the_card_and_the_site_show_the_organizations_own_official(
    run_check, catalog_dir, tmp_path: Path
) -> None:
    catalog_dir.edit(
        "services/permit.yaml",
        "responsible: {title: {fa: مسئول درآمد}}",
        "responsible: {title: {fa: مسئول درآمد}}\n" + OVERRIDE.rstrip(),
    )
    catalog = load_catalog(catalog_dir.root)
    service = catalog.service("town", "permit")
    assert service.responsible.name is not None
    card = catalog_service_card(
        Renderer(Platform.TELEGRAM, "fa"), catalog, service, catalog.organization("town"), date(2026, 12, 5)
    )
    assert "رئیس واحد درآمد · مریم احمدی · " in card
    assert "۰۳۱۳۷۴۲۲۰۲۱" in card, "the office phone, in Persian digits"

    build_site(catalog, tmp_path, {}, langs=["fa", "en"])
    page = (tmp_path / "town" / "permit.html").read_text(encoding="utf-8")
    assert "مریم احمدی" in page
    assert 'href="tel:03137422021"' in page
    assert "Maryam Ahmadi" in (tmp_path / "en" / "town" / "permit.html").read_text(encoding="utf-8")

    code, out = run_check(catalog_dir.root)
    assert code == 0, out
    assert "overrides.town.responsible: sample value" in out
