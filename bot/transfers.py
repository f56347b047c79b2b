"""The bot's side of a transfer: the catalog as ``desk.transfers`` needs it, and the clerk's organization picker.

The picker lists, page by page, the organizations ``desk.transfers.destinations_for`` allows (those offering the
request's service, most popular first as in the citizens' menus), two to a row; each button names the request,
the organization and the status the card showed, and ``desk`` checks all of them again when it is pressed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import TransferPage, TransferPick
from bot.render import Renderer
from catalog.index import Catalog, NotInCatalogError
from desk.lifecycle import Status
from desk.transfers import Destination

__all__ = ["PICKER_PAGE", "CatalogDirectory", "org_label", "picker"]

PICKER_PAGE = 10
"""Organizations per page of the picker (five rows of two)."""


class CatalogDirectory:
    """``desk.transfers.Directory`` read from one loaded catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def destinations(self, service_id: str) -> Mapping[str, Destination]:
        found: dict[str, Destination] = {}
        for org in self._catalog.organizations:
            try:
                service = self._catalog.service(org.id, service_id)
            except NotInCatalogError:
                continue
            found[org.id] = Destination(org.id, service.duration_days, self._catalog.calendar_for(org.id))
        return found

    def groups(self, organization_id: str) -> Mapping[str, int]:
        try:
            return self._catalog.operator_groups(organization_id)
        except NotInCatalogError:
            return {}


def org_label(catalog: Catalog, organization_id: str) -> str:
    """An organization's Persian name (the groups read Persian), or its id when the catalog lost it."""
    try:
        return catalog.organization(organization_id).name.get("fa")
    except NotInCatalogError:
        return organization_id


def picker(
    r: Renderer, catalog: Catalog, request_id: int, seen: Status, targets: Sequence[str], page: int
) -> InlineKeyboardMarkup:
    """One page of the organizations to pick from, with previous/next buttons when there are more."""
    pages = max(1, -(-len(targets) // PICKER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = targets[page * PICKER_PAGE : (page + 1) * PICKER_PAGE]
    buttons = [
        InlineKeyboardButton(
            text=org_label(catalog, org_id),
            callback_data=TransferPick(req=request_id, org=org_id, seen=seen).pack(),
        )
        for org_id in shown
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        data = TransferPage(req=request_id, seen=seen, page=page - 1).pack()
        nav.append(InlineKeyboardButton(text=r.plain("bot.nav.prev"), callback_data=data))
    if page < pages - 1:
        data = TransferPage(req=request_id, seen=seen, page=page + 1).pack()
        nav.append(InlineKeyboardButton(text=r.plain("bot.nav.next"), callback_data=data))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows)
