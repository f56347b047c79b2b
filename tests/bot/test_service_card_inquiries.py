"""The service card tells the citizen whose answers a service waits for, and for how long at most."""

from __future__ import annotations

from datetime import date

import pytest

from bot.cards import catalog_service_card
from bot.platforms import Platform
from bot.render import Renderer
from catalog import load_catalog
from config.settings import PROJECT_ROOT


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("fa", "به پاسخ استعلام از امور برق شهرستان فلاورجان، امور آب و فاضلاب شهرستان فلاورجان، "),
        ("en", "needs answers from Falavarjan Electricity Distribution Office, Falavarjan Water"),
    ],
)
def test_the_excavation_permit_names_its_agencies_and_their_longest_deadline(lang, expected):
    catalog = load_catalog(PROJECT_ROOT / "catalog" / "data")
    service = catalog.service("falavarjan", "excavation_permit")
    org = catalog.organization("falavarjan")
    card = catalog_service_card(Renderer(Platform.TELEGRAM, lang), catalog, service, org, date(2026, 12, 5))
    assert expected in card
    assert ("۷ روز کاری" if lang == "fa" else "usually within 7 working days") in card


def test_a_service_without_inquiries_says_nothing_of_them():
    catalog = load_catalog(PROJECT_ROOT / "catalog" / "data")
    service = catalog.service("falavarjan", "debris_collection")
    org = catalog.organization("falavarjan")
    card = catalog_service_card(Renderer(Platform.BALE, "fa"), catalog, service, org, date(2026, 12, 5))
    assert "استعلام از" not in card
