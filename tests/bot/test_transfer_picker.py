"""The transfer picker reads the built-in catalog: where each service can go, and the buttons page by page."""

from __future__ import annotations

from bot.callbacks import TransferPage, TransferPick, TransferService, TransferServicePick, TransferServices
from bot.platforms import Platform
from bot.render import Renderer
from bot.transfers import PICKER_PAGE, CatalogDirectory, picker, service_choices, service_picker
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
    nav, other = first.inline_keyboard[-2:]
    assert [TransferPage.unpack(b.callback_data or "").page for b in nav] == [1]
    assert [b.text for b in other] == ["🔀 خدمت دیگر"]
    assert TransferServices.unpack(other[0].callback_data or "") == TransferServices(
        req=42, seen=Status.IN_PROGRESS, page=0
    )

    last = picker(r, CATALOG, 42, Status.IN_PROGRESS, targets, 1)
    picks = [b for row in last.inline_keyboard for b in row if b.callback_data.startswith("xfer:")]
    assert [TransferPick.unpack(b.callback_data or "").org for b in picks] == targets[PICKER_PAGE:]
    assert [TransferPage.unpack(b.callback_data or "").page for b in last.inline_keyboard[-2]] == [0]


def test_the_service_picker_lists_every_service_once_by_category_and_its_buttons_fit() -> None:
    r = Renderer(Platform.TELEGRAM, "fa")
    choices = service_choices(CATALOG)
    order = [category.id for category in CATALOG.categories]
    assert [order.index(s.category) for s in choices] == sorted(order.index(s.category) for s in choices)
    listed: list[TransferService] = []
    for page in range(-(-len(choices) // PICKER_PAGE)):
        markup = service_picker(r, CATALOG, 42, Status.SUBMITTED, page)
        listed += [
            TransferService.unpack(b.callback_data or "")
            for row in markup.inline_keyboard
            for b in row
            if (b.callback_data or "").startswith("xfersvc:")
        ]
    assert [choices[item.svc].id for item in listed] == [s.id for s in choices]
    longest = max((org.id for org in CATALOG.organizations), key=len)
    pick = TransferServicePick(req=10**12, org=longest, seen=Status.IN_PROGRESS, svc=len(choices) - 1)
    assert len(pick.pack().encode()) <= 64, "a button's data is at most 64 bytes"
