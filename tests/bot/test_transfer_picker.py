"""The transfer picker reads the built-in catalog: where each service can go, and the buttons page by page."""

from __future__ import annotations

from bot.callbacks import TransferPage, TransferPick
from bot.platforms import Platform
from bot.render import Renderer
from bot.transfers import PICKER_PAGE, CatalogDirectory, picker
from catalog import load_catalog
from catalog.schema import OrganizationKind
from config.settings import PROJECT_ROOT
from desk.lifecycle import Status

CATALOG = load_catalog(PROJECT_ROOT / "catalog" / "data")


def test_a_service_goes_only_where_it_is_offered_with_that_organizations_duration_and_calendar() -> None:
    directory = CatalogDirectory(CATALOG)
    complaint = directory.destinations("complaint")
    kinds = {CATALOG.organization(org_id).kind for org_id in complaint}
    assert OrganizationKind.MUNICIPALITY in kinds
    assert OrganizationKind.DEHYARI in kinds
    assert "agency" not in {kind.value for kind in kinds}, "agencies are asked, never handed a request"
    village = directory.destinations("village_building_permit")
    assert village
    assert all(CATALOG.organization(org_id).kind is OrganizationKind.DEHYARI for org_id in village)
    for org_id, destination in village.items():
        assert destination.duration_days == CATALOG.service(org_id, "village_building_permit").duration_days
        assert destination.calendar == CATALOG.calendar_for(org_id)
    assert directory.groups("falavarjan") == CATALOG.operator_groups("falavarjan")
    assert directory.groups("no_such_org") == {}


def test_the_picker_pages_the_organizations_and_each_button_names_request_target_and_status() -> None:
    r = Renderer(Platform.TELEGRAM, "fa")
    targets = [org.id for org in CATALOG.organizations][: PICKER_PAGE + 2]
    first = picker(r, CATALOG, 42, Status.IN_PROGRESS, targets, 0)
    picks = [b for row in first.inline_keyboard for b in row if b.callback_data.startswith("xfer:")]
    assert len(picks) == PICKER_PAGE
    assert picks[0].text == CATALOG.organization(targets[0]).name.get("fa")
    assert TransferPick.unpack(picks[0].callback_data or "") == TransferPick(
        req=42, org=targets[0], seen=Status.IN_PROGRESS
    )
    nav = first.inline_keyboard[-1]
    assert [TransferPage.unpack(b.callback_data or "").page for b in nav] == [1]

    last = picker(r, CATALOG, 42, Status.IN_PROGRESS, targets, 1)
    picks = [b for row in last.inline_keyboard for b in row if b.callback_data.startswith("xfer:")]
    assert [TransferPick.unpack(b.callback_data or "").org for b in picks] == targets[PICKER_PAGE:]
    assert [TransferPage.unpack(b.callback_data or "").page for b in last.inline_keyboard[-1]] == [0]
