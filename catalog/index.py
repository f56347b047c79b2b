"""The loaded catalog and its look-ups: what handlers and use cases ask of the county's services.

A ``Catalog`` is immutable once built; reloading builds a new one (see ``CatalogHolder`` in the loader),
so a request in flight always sees one consistent catalog.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from catalog.problems import NotInCatalogError
from catalog.schema import (
    DESK_KINDS,
    Category,
    Clerk,
    County,
    CountyFile,
    Organization,
    Platform,
    ResolvedService,
    Service,
    Text,
)
from catalog.tariffs import Tariffs
from desk.calendar import WorkCalendar
from desk.persian import search_key

_T = TypeVar("_T")

__all__ = ["Catalog", "CatalogSummary", "NotInCatalogError"]


@dataclass(frozen=True)
class CatalogSummary:
    """Counts for the report of ``miz catalog check`` and for admins (the tariff ones: of the county defaults)."""

    organizations: int
    services: int
    documents: int
    agencies: int = 0
    tariff_years: tuple[int, ...] = ()
    fees: int = 0
    tariff_files: int = 0


@dataclass(frozen=True)
class _Searchable:
    service: ResolvedService
    title: str
    body: str


def _text_keys(texts: Iterable[Text | None]) -> str:
    parts: list[str] = []
    for text in texts:
        if text is not None:
            parts.append(search_key(text.fa))
            if text.en:
                parts.append(search_key(text.en))
    return "\n".join(parts)


class Catalog:
    """The county's catalog: organizations, categories, and each organization's services with overrides applied."""

    def __init__(
        self,
        county_file: CountyFile,
        organizations: Sequence[Organization],
        services: Sequence[Service],
        resolved: dict[str, list[ResolvedService]],
        tariffs: Tariffs | None = None,
    ) -> None:
        self._county_file = county_file
        self._tariffs = tariffs if tariffs is not None else Tariffs.empty(org.id for org in organizations)
        category_order = {category.id: index for index, category in enumerate(county_file.categories)}
        ordered = sorted(organizations, key=lambda org: (-org.popularity, org.id))
        self._organizations = [org for org in ordered if org.kind in DESK_KINDS]
        self._agencies = [org for org in ordered if org.kind not in DESK_KINDS]
        self._by_id = {org.id: org for org in ordered}
        self._services = list(services)
        self._resolved: dict[str, list[ResolvedService]] = {
            org_id: sorted(
                items, key=lambda item: (category_order.get(item.category, len(category_order)), item.id)
            )
            for org_id, items in resolved.items()
        }
        self._resolved_by_id = {
            org_id: {item.id: item for item in items} for org_id, items in self._resolved.items()
        }
        self._searchable = {
            org_id: [
                _Searchable(item, _text_keys([item.title]), _text_keys([item.summary])) for item in items
            ]
            for org_id, items in self._resolved.items()
        }
        self._groups: dict[tuple[Platform, int], Organization] = {}
        for org in ordered:
            for platform in Platform:
                chat_id = org.operator_groups.get(platform)
                if chat_id is not None:
                    self._groups.setdefault((platform, chat_id), org)
        self._derived: dict[Hashable, Any] = {}

    def derived(self, key: Hashable, build: Callable[[], _T]) -> _T:
        """A value computed from this catalog alone (a calendar, a menu page), built once and kept with it.

        A catalog never changes once loaded (a reload builds a new one), so what is derived from it stays
        right for as long as it is in service and goes with it. ``key`` must name everything ``build`` reads
        besides the catalog (a language, a page).
        """
        try:
            return self._derived[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._derived[key] = build()
            return value

    @property
    def county(self) -> County:
        """The county the catalog serves."""
        return self._county_file.county

    @property
    def categories(self) -> list[Category]:
        """Every category, in the order of county.yaml."""
        return list(self._county_file.categories)

    @property
    def tariffs(self) -> Tariffs:
        """The local fee tariffs: every organization's booklet per Jalali year (empty without ``tariffs/``)."""
        return self._tariffs

    @property
    def organizations(self) -> list[Organization]:
        """Every organization citizens file requests with, most popular first (ties by id), the order of the
        menus; the agencies are not among them (see :attr:`agencies`)."""
        return list(self._organizations)

    @property
    def agencies(self) -> list[Organization]:
        """The agencies that answer inquiries (kind ``agency``), most popular first; citizens never pick them."""
        return list(self._agencies)

    def inquiry_targets(self, org_id: str, service_id: str | None = None) -> list[Organization]:
        """Whom a clerk of ``org_id`` may send an inquiry to: the service's usual agencies first (in its order),
        then every other agency, then the other organizations (a dehyari asks the municipality next to it, a
        municipality the governorate); never ``org_id`` itself."""
        usual: list[str] = []
        if service_id is not None:
            service = self._resolved_by_id.get(org_id, {}).get(service_id)
            usual = list(service.inquiries) if service is not None else []
        first = [self._by_id[item] for item in usual if item in self._by_id and item != org_id]
        rest = [
            org for org in [*self._agencies, *self._organizations] if org.id != org_id and org.id not in usual
        ]
        return [*first, *rest]

    @property
    def services(self) -> list[Service]:
        """Every service as written, before any organization's overrides, by id."""
        return list(self._services)

    def organization(self, org_id: str) -> Organization:
        """The organization with that id; raises ``NotInCatalogError`` when there is none."""
        try:
            return self._by_id[org_id]
        except KeyError:
            raise NotInCatalogError(org_id) from None

    def has_organization(self, org_id: str) -> bool:
        """Whether an organization with that id exists (e.g. one remembered from before a reload)."""
        return org_id in self._by_id

    def services_for(self, org_id: str) -> list[ResolvedService]:
        """The services ``org_id`` offers, by category (county.yaml's order) and then id."""
        self.organization(org_id)
        return list(self._resolved.get(org_id, []))

    def categories_for(self, org_id: str) -> list[Category]:
        """The categories in which ``org_id`` offers at least one service, in county.yaml's order."""
        used = {item.category for item in self.services_for(org_id)}
        return [category for category in self._county_file.categories if category.id in used]

    def services_in(self, org_id: str, category_id: str) -> list[ResolvedService]:
        """The services ``org_id`` offers in one category."""
        return [item for item in self.services_for(org_id) if item.category == category_id]

    def service(self, org_id: str, service_id: str) -> ResolvedService:
        """The service as ``org_id`` offers it; raises ``NotInCatalogError`` when it does not offer it."""
        self.organization(org_id)
        try:
            return self._resolved_by_id.get(org_id, {})[service_id]
        except KeyError:
            raise NotInCatalogError(service_id) from None

    def search(self, org_id: str, text: str, *, titles_only: bool = False) -> list[ResolvedService]:
        """Services of ``org_id`` whose title or summary contains every word of ``text``, title matches first
        (``titles_only``: title matches alone, for text that may be no search at all, such as a greeting).

        Matching uses ``desk.persian.search_key``: Arabic yeh/kaf, ZWNJ or spaces, digits and letter forms
        typed any way find the same service.
        """
        self.organization(org_id)
        words = [key for key in (search_key(word) for word in text.split()) if key]
        if not words:
            return []
        in_title: list[ResolvedService] = []
        in_body: list[ResolvedService] = []
        for entry in self._searchable.get(org_id, []):
            if all(word in entry.title for word in words):
                in_title.append(entry.service)
            elif all(word in entry.title or word in entry.body for word in words):
                in_body.append(entry.service)
        return in_title if titles_only else in_title + in_body

    def calendar_for(self, org_id: str) -> WorkCalendar:
        """The working calendar of ``org_id``: the county's holidays plus its own, its own weekend if it has one."""
        org = self.organization(org_id)
        return self.derived(("calendar", org_id), lambda: self._build_calendar(org))

    def _build_calendar(self, org: Organization) -> WorkCalendar:
        county_calendar = self._county_file.calendar
        weekend = county_calendar.weekend
        holidays = [holiday.gregorian for holiday in county_calendar.holidays]
        if org.calendar is not None:
            if org.calendar.weekend is not None:
                weekend = org.calendar.weekend
            holidays.extend(holiday.gregorian for holiday in org.calendar.holidays)
        return WorkCalendar.from_names([day.value for day in weekend], holidays)

    def operator_group(self, org_id: str, platform: Platform | str) -> int | None:
        """The chat id of ``org_id``'s clerks' group on ``platform``, or None when it has none there."""
        return self.organization(org_id).operator_groups.get(Platform(platform))

    def operator_groups(self, org_id: str) -> dict[str, int]:
        """Every clerks' group of ``org_id``: platform name -> chat id (empty when it has none)."""
        groups = self.organization(org_id).operator_groups
        return {
            platform.value: chat_id for platform in Platform if (chat_id := groups.get(platform)) is not None
        }

    def organization_by_group(self, platform: Platform | str, chat_id: int) -> Organization | None:
        """The organization whose clerks' group is ``chat_id`` on ``platform``, or None for any other chat."""
        return self._groups.get((Platform(platform), chat_id))

    def clerks(self, org_id: str) -> list[Clerk]:
        """The clerks registered for ``org_id`` in the catalog."""
        return list(self.organization(org_id).clerks)

    def summary(self) -> CatalogSummary:
        """How many organizations, services and documents (of the base definitions) the catalog holds."""
        return CatalogSummary(
            organizations=len(self._organizations),
            agencies=len(self._agencies),
            services=len(self._services),
            documents=sum(len(service.documents) for service in self._services),
            tariff_years=tuple(self._tariffs.years()),
            fees=sum(len(self._tariffs.default(year).fees) for year in self._tariffs.years()),
            tariff_files=sum(len(self._tariffs.own_files(year)) for year in self._tariffs.years()),
        )
