"""The bot's side of a transfer: the catalog as ``desk.transfers`` needs it, and the clerk's organization picker.

The picker lists, page by page, the organizations ``desk.transfers.destinations_for`` allows (those offering the
request's service, most popular first as in the citizens' menus), two to a row; each button names the request,
the organization and the status the card showed, and ``desk`` checks all of them again when it is pressed.

Under them, "🔀 another service" opens the catalog's services by category, page by page; a service leads to the
organizations offering it (its own organization among them), and those to the reason, as above.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import TransferPage, TransferPick, TransferService, TransferServicePick, TransferServices
from bot.render import Renderer
from catalog.index import Catalog, NotInCatalogError
from catalog.schema import Service
from desk.lifecycle import Status
from desk.transfers import Destination

__all__ = [
    "PICKER_PAGE",
    "CatalogDirectory",
    "org_label",
    "picker",
    "service_choices",
    "service_label",
    "service_org_picker",
    "service_picker",
]

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
            found[org.id] = Destination(
                org.id,
                service.duration_days,
                self._catalog.calendar_for(org.id),
                service.version,
                service.model_dump(mode="json"),
            )
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


def service_choices(catalog: Catalog) -> list[Service]:
    """The services a request may be moved to, by category (county.yaml's order) and then id: the order of the
    service picker, whose buttons name a service by its place here."""
    order = {category.id: n for n, category in enumerate(catalog.categories)}
    return sorted(catalog.services, key=lambda s: (order.get(s.category, len(order)), s.id))


def service_label(catalog: Catalog, service_id: str) -> str:
    """A service's Persian title, or its id when the catalog lost it."""
    found = next((s for s in catalog.services if s.id == service_id), None)
    return found.title.get("fa") if found is not None else service_id


def picker(
    r: Renderer,
    catalog: Catalog,
    request_id: int,
    seen: Status,
    targets: Sequence[str],
    page: int,
) -> InlineKeyboardMarkup:
    """One page of the organizations to pick from, with previous/next buttons when there are more, and the way
    to another service."""
    markup = _paged(
        r,
        [
            (org_label(catalog, org_id), TransferPick(req=request_id, org=org_id, seen=seen))
            for org_id in targets
        ],
        page,
        lambda n: TransferPage(req=request_id, seen=seen, page=n),
    )
    other = TransferServices(req=request_id, seen=seen, page=0).pack()
    markup.inline_keyboard.append(
        [InlineKeyboardButton(text=r.plain("op.transfer.other_service"), callback_data=other)]
    )
    return markup


def service_picker(
    r: Renderer, catalog: Catalog, request_id: int, seen: Status, page: int
) -> InlineKeyboardMarkup:
    """One page of the services, by category, each leading to the organizations offering it."""
    return _paged(
        r,
        [
            (service.title.get("fa"), TransferService(req=request_id, seen=seen, svc=n, page=0))
            for n, service in enumerate(service_choices(catalog))
        ],
        page,
        lambda n: TransferServices(req=request_id, seen=seen, page=n),
    )


def service_org_picker(
    r: Renderer,
    catalog: Catalog,
    request_id: int,
    seen: Status,
    service: int,
    targets: Sequence[str],
    page: int,
) -> InlineKeyboardMarkup:
    """One page of the organizations offering the chosen service."""
    return _paged(
        r,
        [
            (
                org_label(catalog, org_id),
                TransferServicePick(req=request_id, org=org_id, seen=seen, svc=service),
            )
            for org_id in targets
        ],
        page,
        lambda n: TransferService(req=request_id, seen=seen, svc=service, page=n),
    )


def _paged(
    r: Renderer,
    items: Sequence[tuple[str, CallbackData]],
    page: int,
    page_data: Callable[[int], CallbackData],
) -> InlineKeyboardMarkup:
    """Buttons two to a row, ``PICKER_PAGE`` to a page, with previous/next buttons when there are more."""
    pages = max(1, -(-len(items) // PICKER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = items[page * PICKER_PAGE : (page + 1) * PICKER_PAGE]
    buttons = [InlineKeyboardButton(text=text, callback_data=data.pack()) for text, data in shown]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(text=r.plain("bot.nav.prev"), callback_data=page_data(page - 1).pack())
        )
    if page < pages - 1:
        nav.append(
            InlineKeyboardButton(text=r.plain("bot.nav.next"), callback_data=page_data(page + 1).pack())
        )
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows)
