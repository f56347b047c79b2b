"""Texts of dues and certificates: both languages have every one, and the answers parse on both messengers."""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime
from typing import Any

import pytest
from babel.messages.pofile import read_po

from bot.dialogs.dues import render_dues
from bot.dialogs.verify import render_certificate
from bot.platforms import Platform
from bot.render import Renderer
from catalog.loader import CatalogHolder
from config.settings import PROJECT_ROOT
from desk.billing import bill_id, payment_id
from desk.certificates import CertificateType, CertificateView, VerifyStatus
from desk.dues import DueKind, DuesView, DueView, Period
from desk.i18n import LOCALES_DIR
from emulator.dialects import parse_bale_markdown, parse_html

DOMAINS = ("dues", "certificates")
CODE = [
    PROJECT_ROOT / "desk" / "dues.py",
    PROJECT_ROOT / "desk" / "plates.py",
    PROJECT_ROOT / "desk" / "certificates.py",
    PROJECT_ROOT / "bot" / "admin_cli.py",
    PROJECT_ROOT / "bot" / "dialogs" / "dues.py",
    PROJECT_ROOT / "bot" / "dialogs" / "verify.py",
    LOCALES_DIR / "fa" / "templates" / "dues.j2",
    LOCALES_DIR / "fa" / "templates" / "certificate.j2",
]
# Latin on purpose: the format a file must have, and an example code printed on certificates.
LATIN_DIGITS_ALLOWED = {"dues.file.not_utf8", "certificate.code.format", "bot.verify.ask"}


def po_texts(lang: str, domain: str) -> dict[str, str]:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / f"{domain}.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=domain)
    return {str(m.id): str(m.string) for m in catalog if m.id}


def all_texts(lang: str) -> dict[str, str]:
    return {key: text for domain in DOMAINS for key, text in po_texts(lang, domain).items()}


def keys_in_code() -> set[str]:
    pattern = r'"((?:dues|certificate|bot\.dues|bot\.verify|bot\.menu\.(?:dues|verify))\.[a-z_.]+)"'
    keys: set[str] = set()
    for path in CODE:
        keys |= set(re.findall(pattern, path.read_text(encoding="utf-8")))
    keys |= {kind.label_key for kind in DueKind} | {kind.label_key for kind in CertificateType}
    return keys


@pytest.mark.parametrize("domain", DOMAINS)
def test_both_languages_have_the_same_keys_and_placeholders(domain: str) -> None:
    fa, en = po_texts("fa", domain), po_texts("en", domain)
    assert set(fa) == set(en)
    fields = string.Formatter()
    for key in fa:
        assert {n for _, n, _, _ in fields.parse(fa[key]) if n} == {
            n for _, n, _, _ in fields.parse(en[key]) if n
        }, key


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_every_key_used_in_code_has_a_text(lang: str) -> None:
    assert keys_in_code() - set(all_texts(lang)) == set()


def test_persian_texts_use_persian_digits() -> None:
    for key, text in all_texts("fa").items():
        if key not in LATIN_DIGITS_ALLOWED:
            assert not re.search(r"[0-9]", text), key


def _parse(platform: Platform, text: str) -> str:
    return _parsed(platform, text)[0]


def _parsed(platform: Platform, text: str) -> tuple[str, list[dict[str, Any]]]:
    """The text a messenger shows and its entities."""
    return parse_html(text) if platform.has_html else parse_bale_markdown(text)


def _spans(plain: str, entities: list[dict[str, Any]], kind: str) -> list[str]:
    """The texts of the ``kind`` entities (offsets in UTF-16 code units)."""
    units = plain.encode("utf-16-le")
    return [
        units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in entities
        if e["type"] == kind
    ]


@pytest.fixture(scope="module")
def catalogs() -> CatalogHolder:
    return CatalogHolder(PROJECT_ROOT / "catalog" / "data")


@pytest.mark.parametrize("platform", [Platform.TELEGRAM, Platform.BALE])
@pytest.mark.parametrize("lang", ["fa", "en"])
def test_dues_parse_on_each_messenger(catalogs: CatalogHolder, platform: Platform, lang: str) -> None:
    bill = bill_id(11_234_567, 311)
    dues = (
        DueView(
            DueKind.RENOVATION,
            "12-34-567",
            Period(1404),
            300_000,
            bill,
            payment_id(300_000, 1404, 0, bill),
            False,
        ),
        DueView(
            DueKind.BUSINESS,
            "12-34-567",
            Period(1405, 2),
            1_250_000,
            bill,
            payment_id(1_250_000, 1405, 2, bill),
            False,
        ),
    )
    r = Renderer(platform, lang)
    org = catalogs.catalog.organization("falavarjan")
    plain, entities = _parsed(platform, render_dues(r, DuesView("falavarjan", dues, 0), org, "12-34-567"))
    assert bill in plain
    assert dues[1].payment_id in plain
    assert dues[1].barcode in plain
    assert ("۱٬۵۵۰٬۰۰۰" if lang == "fa" else "1,550,000") in plain
    # Isolated, so it is not drawn '#780*'; in a code span with the ASCII star on Bale too, so a tap copies a code
    # that dials (the look-alike star Bale's typed text gets does not).
    assert re.search("\u2066\\*780#\u2069", plain)
    assert "*780#" in _spans(plain, entities, "code")


@pytest.mark.parametrize("platform", [Platform.TELEGRAM, Platform.BALE])
@pytest.mark.parametrize("status", [s for s in VerifyStatus if s is not VerifyStatus.UNKNOWN])
def test_certificates_parse_on_each_messenger(
    catalogs: CatalogHolder, platform: Platform, status: VerifyStatus
) -> None:
    view = CertificateView(
        status=status,
        code="K7QM2XPD9HRK",
        type=CertificateType.NO_VIOLATION,
        holder="ز*** ا_*** [x]",  # typed text with every Bale marker must not break the message
        property="پلاک 12 *ویژه*",
        organization_id="falavarjan",
        issued_on=date(2026, 11, 27),
        valid_until=date(2026, 11, 30),
        revoked_reason="صدور اشتباه_" if status is VerifyStatus.REVOKED else None,
        revoked_at=datetime(2026, 12, 1, tzinfo=UTC) if status is VerifyStatus.REVOKED else None,
    )
    plain = _parse(platform, render_certificate(Renderer(platform, "fa"), view, catalogs))
    assert "K7QM-2XPD-9HRK" in plain
    assert "گواهی عدم خلاف" in plain
    assert "پلاک ۱۲" in plain
    assert "۶ آذر ۱۴۰۵" in plain
    expected = {
        VerifyStatus.VALID: "معتبر است",
        VerifyStatus.EXPIRED: "۹ آذر ۱۴۰۵",
        VerifyStatus.REVOKED: "باطل شده",
    }[status]
    assert expected in plain
