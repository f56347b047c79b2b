"""Every shipped service's titles, prompts and review lines read well in Persian and English: no word is said
twice where a text meets a title, an organization or a question's label ("ثبت درخواست درخواست …"), a prompt
does not say the same thing twice, a question is never followed by a colon, a city's card does not speak of
villages, and a verified certificate says each line's label once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from functools import cache

import pytest
from babel.messages.pofile import read_po

from bot.cards import service_card
from bot.dialogs.verify import render_certificate
from bot.forms import question
from bot.platforms import Platform
from bot.render import Renderer
from catalog import load_catalog
from catalog.index import Catalog
from catalog.schema import OrganizationKind, ResolvedService
from config.settings import PROJECT_ROOT
from desk.certificates import CertificateView, VerifyStatus, property_of
from desk.i18n import LOCALES_DIR
from storage.models import ServiceRequest, ServiceVersion

LANGS = ["fa", "en"]
WORD = re.compile(r"[^\W_]+(?:\u200c[^\W_]+)*")
"""A word: letters and digits, with the Persian half-space inside it."""
TAG = re.compile(r"<[^>]+>")
QUOTED = re.compile(r"«([^»]+)»|“([^”]+)”")


@cache
def shipped() -> Catalog:
    return load_catalog(PROJECT_ROOT / "catalog" / "data")


def offered() -> Iterator[ResolvedService]:
    catalog = shipped()
    for org in catalog.organizations:
        yield from catalog.services_for(org.id)


def texts(lang: str) -> dict[str, str]:
    """Every locale text of ``lang``, by message id."""
    found: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as fh:
            found |= {str(m.id): str(m.string) for m in read_po(fh, locale=lang) if m.id and m.string}
    for path in sorted((LOCALES_DIR / lang / "templates").glob("*.j2")):
        found[path.name] = path.read_text(encoding="utf-8").replace("{{ ", "{").replace(" }}", "}")
    return found


def words(text: str) -> list[str]:
    return [w.casefold() for w in WORD.findall(TAG.sub(" ", text))]


def stutters(template: str, name: str, value: str) -> list[str]:
    """The words said twice where placeholder ``{name}`` of ``template`` meets ``value``."""
    said = words(value)
    found = []
    for match in re.finditer(re.escape("{" + name + "}"), template):
        before, after = words(template[: match.start()]), words(template[match.end() :])
        if said and before and before[-1] == said[0]:
            found.append(f"…{before[-1]} {value}")
        if said and after and after[0] == said[-1]:
            found.append(f"{value} {after[0]}…")
    return found


def values(lang: str) -> dict[str, set[str]]:
    """What each placeholder is filled with, from the shipped catalog."""
    catalog = shipped()
    services = list(offered())
    return {
        "title": {s.title.get(lang) for s in services},
        "label": {f.label.get(lang) for s in services for f in s.form},
        "org": {o.name.get(lang) for o in catalog.organizations},
    }


@pytest.mark.parametrize("lang", LANGS)
def test_no_word_is_said_twice_where_a_text_meets_a_title_an_organization_or_a_label(lang: str) -> None:
    filled = values(lang)
    found = sorted(
        f"{key}: {stutter}"
        for key, template in texts(lang).items()
        for name, options in filled.items()
        for value in options
        for stutter in stutters(template, name, value)
    )
    assert not found, "\n".join(found)


def test_the_check_finds_the_stutters_people_saw() -> None:
    assert stutters("📝 ثبت درخواست <b>{title}</b>", "title", "درخواست جمع‌آوری نخاله ساختمانی")
    assert stutters("🔔 درخواست «{title}»", "title", "درخواست مجوز قطع یا هرس درخت")
    assert stutters("📝 ثبت درخواست {title}", "title", "ثبت شکایت از خدمت یا کارکنان") == []  # not a repeat
    assert not stutters("📝 ثبت درخواست <b>{title}</b>", "title", "جمع‌آوری نخاله ساختمانی")


@pytest.mark.parametrize("lang", LANGS)
def test_no_question_prompt_says_the_same_thing_twice(lang: str) -> None:
    r = Renderer(Platform.TELEGRAM, lang)
    found = []
    for service in offered():
        for step in range(len(service.form)):
            text, _, _ = question(r, service, step)
            quoted = [" ".join(words(a or b)) for a, b in QUOTED.findall(text)]
            lines = [" ".join(words(line)) for line in text.splitlines() if words(line)]
            if len(set(quoted)) < len(quoted) or len(set(lines)) < len(lines):
                found.append(f"{service.organization_id}/{service.id}#{step}: {text}")
    assert not found, "\n\n".join(found)


@pytest.mark.parametrize("lang", LANGS)
def test_no_review_line_puts_a_colon_after_a_question(lang: str) -> None:
    r = Renderer(Platform.TELEGRAM, lang)
    for service in offered():
        review = r.template(
            "review.j2",
            title=service.title.get(lang),
            org="-",
            answers=[{"label": f.label.get(lang), "value": "بله"} for f in service.form],
            documents=[],
        )
        assert "؟:" not in review, review
        assert "?:" not in review, review


@pytest.mark.parametrize("lang", LANGS)
def test_a_citys_cards_do_not_speak_of_villages_nor_a_villages_of_the_municipality(lang: str) -> None:
    catalog = shipped()
    r = Renderer(Platform.TELEGRAM, lang)
    foreign = {  # a note for the other kind of organization, in brackets
        OrganizationKind.MUNICIPALITY: ("(در روستا", "(in a village"),
        OrganizationKind.DEHYARI: ("(در روستا", "(in a village", "(در شهر", "(in a city"),
    }
    for org in catalog.organizations:
        for service in catalog.services_for(org.id):
            card = service_card(r, service, org, catalog.calendar_for(org.id), date(2026, 12, 5))
            for phrase in foreign.get(org.kind, ()):
                assert phrase not in card, f"{org.id}/{service.id}: {phrase}"


class _Catalogs:
    """The shipped catalog where the bot's renderers want a ``CatalogHolder``."""

    catalog = shipped()


@pytest.mark.parametrize("lang", LANGS)
def test_a_certificate_names_its_property_once(lang: str) -> None:
    """The verification of every certificate a shipped service issues, filled in from a request's answers: no
    line's value says its label again (it read "🏠 ملک: نشانی ملک: …", the property question's label after the
    line's)."""
    r = Renderer(Platform.TELEGRAM, lang)
    found = []
    for service in offered():
        if service.certificate is None or service.certificate.property_field is None:
            continue
        request = ServiceRequest(
            tracking_code="123456789018",
            answers={service.certificate.property_field: "فلاورجان، خیابان امام، پلاک ۵"},
        )
        request.definition = ServiceVersion(definition=service.model_dump(mode="json"))
        view = CertificateView(
            VerifyStatus.VALID,
            "K7QM2XPD9HRK",
            type=service.certificate.type,
            holder="ز*** ا****",
            property=property_of(request, service.certificate.property_field),
            organization_id=service.organization_id,
            issued_on=date(2026, 12, 5),
        )
        for line in render_certificate(r, view, _Catalogs()).splitlines():  # type: ignore[arg-type]
            label, colon, value = line.partition(":")
            if colon and set(words(label)) & set(words(value)):
                found.append(f"{service.organization_id}/{service.id}: {line}")
    assert not found, "\n".join(found)
