"""``miz site build OUT/``: the catalog as a static, right-to-left Persian website (and its English twin), with a
printable A4 poster per organization and per service.

The site needs no server of its own: every page is a plain HTML file with relative links, one style sheet, and its
QR codes inlined as SVG, so any web host of a municipality (or a folder opened from a USB stick) serves it. The
layout of ``OUT/``::

    index.html                    the organizations, by kind (municipalities, dehyaris, the governorate)
    <org>/index.html              an organization: its address, hours and map point, and its services by category
    <org>/<service>.html          a service: everything its card in the bot says, and links and QR codes to the bots
    <org>/poster.html             the A4 poster for the organization's service desk
    <org>/<service>-poster.html   the A4 poster of one service
    en/...                        the same pages in English
    site.css                      the one style sheet (screen and print)
    fonts/                        Vazirmatn and its licence

Each service page links to the bots with the deep link ``/start s-ORG-SERVICE`` (``desk.deeplinks``), which opens
the service's card as that organization offers it; an organization's poster links with ``o-ORG``. A bot without a
configured username (``MIZ_BALE_USERNAME``, ``MIZ_TELEGRAM_USERNAME``, or the command's options) gets no link.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from catalog.index import Catalog
from catalog.schema import ComputedFee, FixedFee, Organization, OrganizationKind, ResolvedService
from desk.deeplinks import deep_link, organization_payload, service_payload
from desk.i18n import LANGUAGES, Translator, translator
from desk.persian import format_number, ltr, to_persian_digits
from desk.platforms import Platform
from public.qr import qr_data_uri

__all__ = ["MESSENGERS", "POSTER_SERVICES", "STATIC_DIR", "TEMPLATES_DIR", "build_site", "environment"]

_HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = _HERE / "templates"
STATIC_DIR = _HERE / "static"
FONTS_DIR = _HERE.parent / "desk" / "fonts"
"""Vazirmatn (SIL Open Font License), shipped with the site so Persian reads the same on every device."""
MESSENGERS = (Platform.BALE, Platform.TELEGRAM)
"""The messengers a page links to, in the order shown: Bale first, the domestic one every citizen can reach."""
POSTER_SERVICES = 8
"""Most services an organization's poster lists (an A4 page at a readable size)."""
_KINDS = (OrganizationKind.MUNICIPALITY, OrganizationKind.DEHYARI, OrganizationKind.GOVERNORATE)
_DIRECTION = {"fa": "rtl", "en": "ltr"}


@cache
def environment() -> Environment:
    """The Jinja2 environment of the public pages (HTML autoescaped; ``t`` and ``digits`` come per page)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _digits(value: object, lang: str) -> str:
    return str(value) if lang == "en" else to_persian_digits(str(value))


@dataclass(frozen=True)
class _Page:
    """Where a page is (its path under the language's root) and how it reaches the others."""

    lang: str
    path: str

    @property
    def root(self) -> str:
        """The relative way back to ``OUT/`` from this page."""
        depth = self.path.count("/") + (1 if self.lang == "en" else 0)
        return "../" * depth

    def to(self, path: str, lang: str | None = None) -> str:
        """The relative link from this page to ``path`` in ``lang`` (this page's language by default)."""
        lang = lang or self.lang
        return self.root + ("en/" if lang == "en" else "") + path

    @property
    def other(self) -> str:
        """This page in the other language."""
        return self.to(self.path, "fa" if self.lang == "en" else "en")


@dataclass
class _Site:
    catalog: Catalog
    out: Path
    bots: Mapping[Platform, str]
    track_url: str | None = None
    usage: Mapping[tuple[str, str], int] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)

    def most_used(self, org: Organization) -> list[ResolvedService]:
        """The organization's services, most requested first (``usage``); ties, and a build without figures,
        keep the catalog's order (by category)."""
        services = self.catalog.services_for(org.id)
        order = {service.id: index for index, service in enumerate(services)}
        return sorted(services, key=lambda s: (-self.usage.get((org.id, s.id), 0), order[s.id]))

    def write(self, page: _Page, template: str, **context: Any) -> None:
        t = translator(page.lang)
        html = (
            environment()
            .get_template(template)
            .render(
                lang=page.lang,
                dir=_DIRECTION[page.lang],
                t=t,
                digits=lambda value: _digits(value, page.lang),
                ltr=ltr,
                page=page,
                track_url=self.track_url,
                **context,
            )
        )
        target = self.out / ("en" if page.lang == "en" else "") / page.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        self.written.append(target)

    def links(self, t: Translator, payload: str, alt_key: str, **names: str) -> list[dict[str, str]]:
        """Open-in-messenger links and their QR codes for ``payload``, one per messenger with a username."""
        found = []
        for platform in MESSENGERS:
            username = self.bots.get(platform)
            if not username:
                continue
            url = deep_link(platform, username, payload)
            messenger = t(f"site.messenger.{platform.value}")
            found.append(
                {
                    "platform": platform.value,
                    "url": url,
                    "label": t("site.open.button", messenger=messenger),
                    "qr": qr_data_uri(url),
                    "alt": t(alt_key, messenger=messenger, **names),
                }
            )
        return found


def _place(t: Translator, org: Organization, lang: str) -> dict[str, Any]:
    contact = org.contact
    location = contact.location
    return {
        "address": contact.address.get(lang),
        "hours": contact.hours.get(lang) if contact.hours else None,
        "phone": contact.phone,
        "phone_shown": _digits(contact.phone, lang) if contact.phone else None,
        "map": (
            f"https://www.openstreetmap.org/?mlat={location.latitude}&mlon={location.longitude}"
            f"#map=17/{location.latitude}/{location.longitude}"
            if location is not None
            else None
        ),
        "website": contact.website,
    }


def _fee(t: Translator, service: ResolvedService, lang: str) -> str:
    fee = service.fee
    if isinstance(fee, FixedFee):
        return t("site.fee.fixed", amount=format_number(fee.amount, lang))
    if isinstance(fee, ComputedFee):
        return t("site.fee.computed")
    return t("site.fee.none")


def _service(
    site: _Site, t: Translator, org: Organization, service: ResolvedService, lang: str
) -> dict[str, Any]:
    """Everything the bot's service card says, as the service page and its poster show it."""
    asked = [
        site.catalog.organization(item) for item in service.inquiries if site.catalog.has_organization(item)
    ]
    responsible = service.responsible
    return {
        "id": service.id,
        "title": service.title.get(lang),
        "summary": service.summary.get(lang),
        "steps": [step.get(lang) for step in service.steps],
        "documents": [
            {
                "title": doc.title.get(lang),
                "description": doc.description.get(lang) if doc.description else None,
                "need": t("site.doc.required" if doc.required else "site.doc.optional"),
                "kinds": t("site.list.sep").join(t(f"site.doc.kind.{kind.value}") for kind in doc.kinds),
            }
            for doc in service.documents
        ],
        "duration": (
            t("site.duration.same_day")
            if service.duration_days == 0
            else t("site.duration.days", days=_digits(service.duration_days, lang))
        ),
        "inquiries": (
            t(
                "site.inquiries",
                agencies=t("site.list.sep").join(agency.name.get(lang) for agency in asked),
                days=_digits(max(agency.inquiry_days for agency in asked), lang),
            )
            if asked
            else None
        ),
        "fee": _fee(t, service, lang),
        "fee_note": service.fee.note.get(lang) if service.fee.note else None,
        "online": t("site.online.yes" if service.online else "site.online.no"),
        "visit": (
            {"where": service.visit.where.get(lang), "bring": service.visit.what_to_bring.get(lang)}
            if service.visit is not None and service.needs_visit
            else None
        ),
        "needs_visit": service.needs_visit,
        "laws": [
            {"title": law.title.get(lang), "reference": law.reference.get(lang) if law.reference else None}
            for law in service.laws
        ],
        "faq": [{"q": item.question.get(lang), "a": item.answer.get(lang)} for item in service.faq],
        "responsible": {
            "title": responsible.title.get(lang),
            "name": responsible.name.get(lang) if responsible.name else None,
            "phone": responsible.phone,
            "phone_shown": _digits(responsible.phone, lang) if responsible.phone else None,
        },
        "complaint": service.complaint.get(lang),
        "links": site.links(
            t, service_payload(org.id, service.id), "site.qr.alt", title=service.title.get(lang)
        ),
    }


def _organization_pages(site: _Site, org: Organization, lang: str) -> None:
    t = translator(lang)
    catalog = site.catalog
    place = _place(t, org, lang)
    services = catalog.services_for(org.id)
    groups = [
        {
            "title": category.title.get(lang),
            "icon": category.icon,
            "services": [
                {"title": s.title.get(lang), "summary": s.summary.get(lang), "href": f"{s.id}.html"}
                for s in catalog.services_in(org.id, category.id)
            ],
        }
        for category in catalog.categories_for(org.id)
    ]
    name = org.name.get(lang)
    org_links = site.links(t, organization_payload(org.id), "site.qr.alt_org", org=name)
    common = {"org": {"id": org.id, "name": name, "place": place}}
    site.write(_Page(lang, f"{org.id}/index.html"), "organization.html.j2", groups=groups, **common)
    site.write(
        _Page(lang, f"{org.id}/poster.html"),
        "poster_organization.html.j2",
        services=[s.title.get(lang) for s in site.most_used(org)[:POSTER_SERVICES]],
        links=org_links,
        **common,
    )
    for service in services:
        data = _service(site, t, org, service, lang)
        site.write(_Page(lang, f"{org.id}/{service.id}.html"), "service.html.j2", service=data, **common)
        site.write(
            _Page(lang, f"{org.id}/{service.id}-poster.html"),
            "poster_service.html.j2",
            service=data,
            **common,
        )


def _index(site: _Site, lang: str) -> None:
    organizations = [org for org in site.catalog.organizations if site.catalog.services_for(org.id)]
    kinds = [
        {
            "title": translator(lang)(f"site.kind.{kind.value}"),
            "organizations": [
                {
                    "name": org.name.get(lang),
                    "place": org.place.get(lang),
                    "href": f"{org.id}/index.html",
                    "count": _digits(len(site.catalog.services_for(org.id)), lang),
                }
                for org in organizations
                if org.kind is kind
            ],
        }
        for kind in _KINDS
    ]
    site.write(_Page(lang, "index.html"), "index.html.j2", kinds=[k for k in kinds if k["organizations"]])


def build_site(
    catalog: Catalog,
    out: Path,
    bots: Mapping[Platform | str, str | None],
    langs: Iterable[str] = LANGUAGES,
    *,
    track_url: str | None = None,
    usage: Mapping[tuple[str, str], int] | None = None,
) -> list[Path]:
    """Write the site of ``catalog`` into ``out`` (created; files of an earlier build are overwritten) and return
    the pages written. ``bots`` are the bots' usernames per platform; a missing one gets no link. ``track_url`` is
    the web tracking page's address (``https://miz.example.ir/track``), linked from every page and printed on the
    posters; without it they speak of the bots' tracking only. ``usage`` (requests per ``(organization id, service
    id)``, from ``Requests.filed_per_service``) puts an organization's most used services on its poster."""
    site = _Site(catalog, out, {Platform(k): v for k, v in bots.items() if v}, track_url, dict(usage or {}))
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(STATIC_DIR / "site.css", out / "site.css")
    fonts = out / "fonts"
    fonts.mkdir(exist_ok=True)
    for name in ("Vazirmatn-Regular.ttf", "Vazirmatn-Bold.ttf", "OFL.txt"):
        shutil.copyfile(FONTS_DIR / name, fonts / name)
    for lang in langs:
        _index(site, lang)
        for org in catalog.organizations:
            if catalog.services_for(org.id):
                _organization_pages(site, org, lang)
    return site.written
