"""Browsing the catalog: organization, category, service, the service card and its FAQ; typing searches."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks import (
    CategoryPage,
    CategoryPick,
    ComplaintOrg,
    FaqOpen,
    FoundPage,
    MenuOpen,
    OrgPage,
    OrgPick,
    PlaceOpen,
    RequestStart,
    SearchPage,
    ServiceOrgs,
    ServicePage,
    ServicePick,
)
from bot.cards import catalog_service_card, faq_text, place_text
from bot.dialogs.common import typed_text
from bot.handlers.start import menu_labels
from bot.keyboards import PAGE_SIZE, Choice, main_menu, paged
from bot.render import Renderer, cut
from bot.states import ORG_KEY, QUERY_KEY, Browse, Form
from catalog.index import Catalog, NotInCatalogError
from catalog.loader import CatalogHolder
from catalog.schema import DESK_KINDS, Category, Organization, OrganizationKind, ResolvedService
from desk.access import COMPLAINT_SERVICE

__all__ = ["grouped_choices", "one_screen", "open_link", "router"]

logger = logging.getLogger(__name__)
TEHRAN = ZoneInfo("Asia/Tehran")


def _today() -> date:
    return datetime.now(TEHRAN).date()


def _find_org(catalog: Catalog, org_id: str) -> Organization | None:
    """The organization a citizen may browse (a link or a forged button naming an agency finds none)."""
    try:
        org = catalog.organization(org_id)
    except NotInCatalogError:
        return None
    return org if org.kind in DESK_KINDS else None


def _find_category(catalog: Catalog, org_id: str, category_id: str) -> Category | None:
    return next((c for c in catalog.categories_for(org_id) if c.id == category_id), None)


def _find_service(catalog: Catalog, org_id: str, service_id: str) -> ResolvedService | None:
    try:
        return catalog.service(org_id, service_id)
    except NotInCatalogError:
        return None


def _pickable(catalog: Catalog, *, complaint: bool = False) -> list[Organization]:
    """Every organization a citizen may pick, most popular first: the flat list before any grouping."""
    return [
        org
        for org in catalog.organizations
        if (
            _find_service(catalog, org.id, COMPLAINT_SERVICE) is not None
            if complaint
            else bool(catalog.services_for(org.id))
        )
    ]


def _org_choice(r: Renderer, org: Organization, *, complaint: bool) -> Choice:
    data = ComplaintOrg(org=org.id) if complaint else OrgPick(org=org.id)
    return Choice(org.name.get(r.lang), data)


def grouped_choices(
    r: Renderer, catalog: Catalog, *, complaint: bool, district: str
) -> tuple[list[Choice], bool]:
    """The choices of one level of the picker, and whether it is a district's dehyaris (see :func:`_grouped`)."""
    return _grouped(
        r,
        catalog,
        [(org, _org_choice(r, org, complaint=complaint)) for org in _pickable(catalog, complaint=complaint)],
        district,
        lambda d: OrgPage(complaint=complaint, district=d),
    )


def _grouped(
    r: Renderer,
    catalog: Catalog,
    flat: Sequence[tuple[Organization, Choice]],
    district: str,
    open_district: Callable[[str], CallbackData],
) -> tuple[list[Choice], bool]:
    """One level of a list of organizations (``flat``, in the catalog's order), and whether it is a district's
    dehyaris: the organization picker's and the one of a service found at the main menu.

    A list that fits on one page stays flat. A longer one shows the towns (and the governorate) first, then one
    button per district (``open_district``) leading to its dehyaris, so a citizen of a town never pages past the
    villages and a villager pages only through their own district's. A district that is not the county's (a
    forged or outdated button) shows the first level.
    """
    if len(flat) <= PAGE_SIZE:
        return [choice for _, choice in flat], False
    villages: dict[str, list[Choice]] = {}
    for org, choice in flat:
        if org.kind is OrganizationKind.DEHYARI:
            villages.setdefault(org.district, []).append(choice)
    if district in villages:
        return villages[district], True
    towns = [choice for org, choice in flat if org.kind is not OrganizationKind.DEHYARI]
    groups = [
        Choice(
            r.plain(
                "bot.browse.district_dehyaris",
                district=d.name.get(r.lang),
                count=r.digits(len(villages[d.id])),
            ),
            open_district(d.id),
        )
        for d in catalog.county.districts
        if d.id in villages
    ]
    return towns + groups, False


def _opens_district(choice: Choice) -> bool:
    """Whether ``choice`` is a district's button of a grouped list (:func:`_grouped`)."""
    return isinstance(choice.data, OrgPage | ServiceOrgs)


def one_screen(r: Renderer, choices: list[Choice]) -> InlineKeyboardMarkup | None:
    """The grouped picker's first level on one screen, or None when it has no villages' groups or is too long.

    A villager must see their district's button without paging past the towns (a newcomer does not guess that
    "next" leads to the villages), so the towns go two to a row and each district's villages get a row of
    their own; that stays within a screen's worth of rows for the county (9 towns and 3 districts: 8 rows).
    """
    groups = [c for c in choices if _opens_district(c)]
    towns = [c for c in choices if not _opens_district(c)]
    if not groups or (len(towns) + 1) // 2 + len(groups) > PAGE_SIZE:
        return None

    def button(choice: Choice) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=choice.label, callback_data=choice.data.pack())

    rows = [[button(c) for c in towns[start : start + 2]] for start in range(0, len(towns), 2)]
    rows += [[button(c)] for c in groups]
    rows.append([InlineKeyboardButton(text=r.plain("bot.nav.back"), callback_data=MenuOpen().pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _org_list(
    r: Renderer, catalog: Catalog, page: int, *, complaint: bool, district: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    """The text and keyboard of one page of organizations, the same for every citizen: built once per catalog."""

    if district not in {d.id for d in catalog.county.districts}:
        district = ""  # a forged district adds no cache entry either
    choices, in_district = catalog.derived(
        ("org_choices", r.lang, complaint, district),
        lambda: grouped_choices(r, catalog, complaint=complaint, district=district),
    )
    shown = district if in_district else ""
    page = min(max(page, 0), max(0, (len(choices) - 1) // PAGE_SIZE))  # a forged page adds no cache entry

    def build() -> tuple[str, InlineKeyboardMarkup]:
        back = OrgPage(complaint=complaint) if in_district else None
        markup = one_screen(r, choices) if not in_district else None
        if markup is None:
            markup = paged(
                r, choices, page, lambda p: OrgPage(page=p, complaint=complaint, district=shown), back
            )
        return r.text("bot.complaint.choose_org" if complaint else "bot.browse.choose_org"), markup

    return catalog.derived(("org_list", r.platform, r.lang, page, complaint, shown), build)


async def _send_card(
    message: Message, r: Renderer, catalog: Catalog, org: Organization, service: ResolvedService
) -> None:
    rows = [
        [
            InlineKeyboardButton(
                text=r.plain("bot.card.start"), callback_data=RequestStart(org=org.id, svc=service.id).pack()
            )
        ],
        [
            InlineKeyboardButton(
                text=r.plain("bot.card.faq"), callback_data=FaqOpen(org=org.id, svc=service.id).pack()
            )
        ],
        *(
            [[InlineKeyboardButton(text=r.plain("bot.card.map"), callback_data=PlaceOpen(org=org.id).pack())]]
            if service.needs_visit and org.contact.location is not None
            else []
        ),
        [
            InlineKeyboardButton(
                text=r.plain("bot.card.back_to_list"),
                callback_data=CategoryPick(org=org.id, cat=service.category).pack(),
            )
        ],
    ]
    card = catalog_service_card(r, catalog, service, org, _today())
    await message.answer(card, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def _show(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    """Replace the pressed message's text and buttons (paging and drilling down stay in one message); a press
    that changes nothing (a second tap, or a forged button for the list already shown) is no error."""
    await callback.answer()
    message = callback.message
    if isinstance(message, Message):
        try:
            await message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as error:
            if "not modified" not in str(error):
                raise
    elif message is not None:
        await callback.bot.send_message(message.chat.id, text, reply_markup=markup)  # type: ignore[union-attr]


async def _enter_organization(state: FSMContext, org_id: str) -> None:
    """Typed text now searches ``org_id``'s services; unless a request form is open: an older list's button
    pressed mid-form only shows the list, and the form, its answers and where it stands are kept (its card's
    start button then asks whether to go on with it)."""
    current = await state.get_state()
    if current is not None and current in Form:
        return
    await state.set_state(Browse.in_organization)
    await state.update_data({ORG_KEY: org_id})


async def _stale(callback: CallbackQuery, r: Renderer, state: FSMContext) -> None:
    """A button whose organization or service no longer exists (catalog edited): start over politely."""
    await state.clear()
    await callback.answer(r.plain("bot.stale"), show_alert=True)
    if callback.message is not None:
        await callback.message.answer(r.text("bot.menu.prompt"), reply_markup=main_menu(r))


async def _answer_with_card(
    callback: CallbackQuery, r: Renderer, catalog: Catalog, state: FSMContext, org_id: str, service_id: str
) -> None:
    """Send the card of ``service_id`` as ``org_id`` offers it, or answer politely when either is gone."""
    org = _find_org(catalog, org_id)
    service = _find_service(catalog, org_id, service_id)
    if org is None or service is None or not isinstance(callback.message, Message):
        await _stale(callback, r, state)
        return
    await callback.answer()
    await _send_card(callback.message, r, catalog, org, service)


def _category_keyboard(r: Renderer, catalog: Catalog, org_id: str, page: int = 0) -> InlineKeyboardMarkup:
    choices = [
        Choice(
            f"{cat.icon} {cat.title.get(r.lang)}" if cat.icon else cat.title.get(r.lang),
            CategoryPick(org=org_id, cat=cat.id),
        )
        for cat in catalog.categories_for(org_id)
    ]
    return paged(r, choices, page, lambda p: CategoryPage(org=org_id, page=p), back=OrgPage(page=0))


def _category_page_of(catalog: Catalog, org_id: str, category_id: str) -> int:
    """The page of the category list showing ``category_id``, so "back" from its services returns there."""
    ids = [cat.id for cat in catalog.categories_for(org_id)]
    return ids.index(category_id) // PAGE_SIZE if category_id in ids else 0


QUERY_SHOWN = 64
"""Characters of a typed search repeated in the answer (a search as long as a message would make it too long)."""


def _shown(query: str) -> str:
    return cut(query, QUERY_SHOWN, "…")


def _query_digest(query: str) -> str:
    """A short fingerprint of a typed search, carried by its paging buttons (the query may not fit in them)."""
    return hashlib.blake2s(query.encode(), digest_size=4).hexdigest()


def _found_list(
    r: Renderer, org: Organization, query: str, found: list[ResolvedService], page: int
) -> tuple[str, InlineKeyboardMarkup]:
    """The text and keyboard of one page of what a typed search found."""
    choices = [Choice(s.title.get(r.lang), ServicePick(org=org.id, svc=s.id)) for s in found]
    digest = _query_digest(query)
    markup = paged(
        r, choices, page, lambda p: SearchPage(org=org.id, q=digest, page=p), back=OrgPick(org=org.id)
    )
    return r.text("bot.browse.found", query=_shown(query), org=org.name.get(r.lang)), markup


async def open_guide(message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext) -> None:
    await state.clear()
    text, markup = _org_list(r, catalogs.catalog, 0, complaint=False)
    await message.answer(text, reply_markup=markup)


async def open_complaint(message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext) -> None:
    await state.clear()
    text, markup = _org_list(r, catalogs.catalog, 0, complaint=True)
    await message.answer(text, reply_markup=markup)


async def org_page(
    callback: CallbackQuery, callback_data: OrgPage, r: Renderer, catalogs: CatalogHolder
) -> None:
    text, markup = _org_list(
        r,
        catalogs.catalog,
        callback_data.page,
        complaint=callback_data.complaint,
        district=callback_data.district,
    )
    await _show(callback, text, markup)


async def complaint_card(
    callback: CallbackQuery,
    callback_data: ComplaintOrg,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
) -> None:
    await _answer_with_card(callback, r, catalogs.catalog, state, callback_data.org, COMPLAINT_SERVICE)


async def pick_org(
    callback: CallbackQuery,
    callback_data: OrgPick | CategoryPage,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
) -> None:
    catalog = catalogs.catalog
    org = _find_org(catalog, callback_data.org)
    if org is None:
        await _stale(callback, r, state)
        return
    await _enter_organization(state, org.id)
    page = callback_data.page if isinstance(callback_data, CategoryPage) else 0
    text = r.text("bot.browse.choose_category", org=org.name.get(r.lang))
    await _show(callback, text, _category_keyboard(r, catalog, org.id, page))


async def pick_category(
    callback: CallbackQuery,
    callback_data: CategoryPick | ServicePage,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
) -> None:
    catalog = catalogs.catalog
    org = _find_org(catalog, callback_data.org)
    category = _find_category(catalog, org.id, callback_data.cat) if org is not None else None
    if org is None or category is None:
        await _stale(callback, r, state)
        return
    services = catalog.services_in(org.id, category.id)
    choices = [Choice(s.title.get(r.lang), ServicePick(org=org.id, svc=s.id)) for s in services]
    page = callback_data.page if isinstance(callback_data, ServicePage) else 0
    markup = paged(
        r,
        choices,
        page,
        lambda p: ServicePage(org=org.id, cat=category.id, page=p),
        back=CategoryPage(org=org.id, page=_category_page_of(catalog, org.id, category.id)),
    )
    text = r.text("bot.browse.choose_service", org=org.name.get(r.lang), category=category.title.get(r.lang))
    await _show(callback, text, markup)


async def show_service(
    callback: CallbackQuery,
    callback_data: ServicePick,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
) -> None:
    await _answer_with_card(callback, r, catalogs.catalog, state, callback_data.org, callback_data.svc)


async def show_faq(
    callback: CallbackQuery,
    callback_data: FaqOpen,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
) -> None:
    service = _find_service(catalogs.catalog, callback_data.org, callback_data.svc)
    if service is None:
        await _stale(callback, r, state)
        return
    await callback.answer()
    if callback.message is not None:
        await callback.message.answer(faq_text(r, service))


async def show_place(
    callback: CallbackQuery,
    callback_data: PlaceOpen,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
) -> None:
    """The office's location message, then its name, address, hours and phone (a location carries no text)."""
    org = _find_org(catalogs.catalog, callback_data.org)
    location = org.contact.location if org is not None else None
    if org is None or location is None:
        await _stale(callback, r, state)
        return
    await callback.answer()
    if callback.message is not None:
        await callback.message.answer_location(latitude=location.latitude, longitude=location.longitude)
        await callback.message.answer(place_text(r, org))


async def search(message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext) -> None:
    catalog = catalogs.catalog
    org = _find_org(catalog, (await state.get_data()).get(ORG_KEY, ""))
    if org is None:
        await state.clear()
        await message.answer(r.text("bot.browse.pick_org_first"), reply_markup=main_menu(r))
        return
    query = message.text or ""
    found = catalog.search(org.id, query)
    if not found:
        await message.answer(
            r.text("bot.browse.not_found", query=_shown(query), org=org.name.get(r.lang)),
            reply_markup=_category_keyboard(r, catalog, org.id),
        )
        return
    await state.update_data({QUERY_KEY: query})
    text, markup = _found_list(r, org, query, found, 0)
    await message.answer(text, reply_markup=markup)


async def search_page(
    callback: CallbackQuery,
    callback_data: SearchPage,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
) -> None:
    catalog = catalogs.catalog
    org = _find_org(catalog, callback_data.org)
    if org is None:
        await _stale(callback, r, state)
        return
    query = (await state.get_data()).get(QUERY_KEY)
    # Typed text now searches the organization on screen, as after picking it.
    await _enter_organization(state, org.id)
    if not isinstance(query, str) or _query_digest(query) != callback_data.q:
        # A newer search replaced this one, or the conversation was reset: ask to type it again.
        text = r.text("bot.browse.search_again", org=org.name.get(r.lang))
        await _show(callback, text, _category_keyboard(r, catalog, org.id))
        return
    found = catalog.search(org.id, query)
    if not found:  # the catalog changed since
        text = r.text("bot.browse.not_found", query=_shown(query), org=org.name.get(r.lang))
        await _show(callback, text, _category_keyboard(r, catalog, org.id))
        return
    text, markup = _found_list(r, org, query, found, callback_data.page)
    await _show(callback, text, markup)


def _found_anywhere(catalog: Catalog, query: str) -> list[ResolvedService]:
    """The services whose title matches ``query`` in any organization, each once (as the first organization
    offering it has it), in the order the organizations' searches found them. Titles only: text typed at the main
    menu may be a greeting ("سلام" is in "اسلامی" of a summary), which must not answer with a list."""
    found: dict[str, ResolvedService] = {}
    for org in catalog.organizations:
        for service in catalog.search(org.id, query, titles_only=True):
            found.setdefault(service.id, service)
    return list(found.values())


def _found_anywhere_list(
    r: Renderer, query: str, found: list[ResolvedService], page: int
) -> tuple[str, InlineKeyboardMarkup]:
    choices = [Choice(s.title.get(r.lang), ServiceOrgs(svc=s.id)) for s in found]
    digest = _query_digest(query)
    markup = paged(r, choices, page, lambda p: FoundPage(q=digest, page=p))
    return r.text("bot.browse.found_anywhere", query=_shown(query)), markup


async def search_everywhere(
    message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext
) -> None:
    """Text typed at the main menu, outside any conversation, searches every organization's services: the
    citizen picks a service, then their city or village (they need not know which one offers it first). Text
    that finds nothing (a greeting, an unknown command) is left to the catch-all, which shows the menu."""
    query = message.text or ""
    found = _found_anywhere(catalogs.catalog, query) if not query.startswith("/") else []
    if not found:
        raise SkipHandler
    await state.update_data({QUERY_KEY: query})
    text, markup = _found_anywhere_list(r, query, found, 0)
    await message.answer(text, reply_markup=markup)


async def found_page(
    callback: CallbackQuery, callback_data: FoundPage, r: Renderer, catalogs: CatalogHolder, state: FSMContext
) -> None:
    query = (await state.get_data()).get(QUERY_KEY)
    found = _found_anywhere(catalogs.catalog, query) if isinstance(query, str) else []
    if not found or _query_digest(str(query)) != callback_data.q:
        await _stale(callback, r, state)  # a newer search replaced it, or the catalog changed
        return
    text, markup = _found_anywhere_list(r, str(query), found, callback_data.page)
    await _show(callback, text, markup)


async def service_orgs(
    callback: CallbackQuery,
    callback_data: ServiceOrgs,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
) -> None:
    """The organizations that offer a service found at the main menu; picking one shows its card."""
    catalog = catalogs.catalog
    offering = [
        (org, service)
        for org in catalog.organizations
        if (service := _find_service(catalog, org.id, callback_data.svc)) is not None
    ]
    if not offering:
        await _stale(callback, r, state)
        return
    svc = callback_data.svc
    choices, in_district = _grouped(
        r,
        catalog,
        [(org, Choice(org.name.get(r.lang), ServicePick(org=org.id, svc=svc))) for org, _ in offering],
        callback_data.district,
        lambda d: ServiceOrgs(svc=svc, district=d),
    )
    shown = callback_data.district if in_district else ""
    markup = one_screen(r, choices) if not in_district else None
    if markup is None:
        back = ServiceOrgs(svc=svc) if in_district else None
        markup = paged(
            r, choices, callback_data.page, lambda p: ServiceOrgs(svc=svc, page=p, district=shown), back
        )
    title = offering[0][1].title.get(r.lang)
    await _show(callback, r.text("bot.browse.choose_org_for", service=title), markup)


async def open_link(
    message: Message,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    org_id: str,
    service_id: str | None,
) -> None:
    """A link to an organization (its categories) or to one of its services (its card); a link to something
    the catalog no longer has says so and shows the main menu."""
    catalog = catalogs.catalog
    org = _find_org(catalog, org_id)
    service = _find_service(catalog, org_id, service_id) if org is not None and service_id else None
    if org is None or (service_id and service is None):
        await message.answer(r.text("bot.link.stale"), reply_markup=main_menu(r))
        return
    if service is not None:
        await _send_card(message, r, catalog, org, service)
        return
    await _enter_organization(state, org.id)
    text = r.text("bot.browse.choose_category", org=org.name.get(r.lang))
    await message.answer(text, reply_markup=_category_keyboard(r, catalog, org.id))


def router() -> Router:
    """Handlers of the services guide."""
    r_ = Router(name="browse")
    r_.message.filter(F.chat.type == "private")
    r_.message.register(open_guide, F.text.in_(menu_labels("bot.menu.services")))
    r_.message.register(open_complaint, F.text.in_(menu_labels("bot.menu.complaint")))
    r_.callback_query.register(org_page, OrgPage.filter())
    r_.callback_query.register(complaint_card, ComplaintOrg.filter())
    r_.callback_query.register(pick_org, CategoryPage.filter())
    r_.callback_query.register(pick_org, OrgPick.filter())
    r_.callback_query.register(pick_category, ServicePage.filter())
    r_.callback_query.register(pick_category, CategoryPick.filter())
    r_.callback_query.register(show_service, ServicePick.filter())
    r_.callback_query.register(show_faq, FaqOpen.filter())
    r_.callback_query.register(show_place, PlaceOpen.filter())
    r_.message.register(search, Browse.in_organization, F.text)
    r_.callback_query.register(search_page, SearchPage.filter())
    r_.callback_query.register(found_page, FoundPage.filter())
    r_.callback_query.register(service_orgs, ServiceOrgs.filter())
    return r_


def search_router() -> Router:
    """Text typed at the main menu searches every organization (include after every other reading of free text,
    such as an answer to the organization, just before the catch-all)."""
    r_ = Router(name="search-everywhere")
    r_.message.filter(F.chat.type == "private")
    r_.message.register(search_everywhere, StateFilter(None), typed_text())
    return r_
