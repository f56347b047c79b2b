"""The fee calculators' texts: both languages have them, and the answer reads right on both messengers."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.calculator import RLM, question, result_text
from bot.platforms import Platform
from bot.render import Renderer
from catalog import load_catalog
from catalog.index import Catalog
from config.settings import PROJECT_ROOT
from desk.i18n import LOCALES_DIR
from emulator.dialects import parse_bale_markdown, parse_html

CODE = [
    PROJECT_ROOT / "bot" / "calculator.py",
    PROJECT_ROOT / "bot" / "dialogs" / "fees.py",
    LOCALES_DIR / "fa" / "templates" / "fee_result.j2",
]


def po_texts(lang: str) -> dict[str, str]:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "fees.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain="fees")
    return {str(m.id): str(m.string) for m in catalog if m.id}


def keys_in_code() -> set[str]:
    keys: set[str] = set()
    for path in CODE:
        keys |= set(re.findall(r'"(bot\.(?:fees|menu)\.[a-z_.]+)"', Path(path).read_text(encoding="utf-8")))
    return keys - {"bot.menu.prompt"}  # bot.po's


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(PROJECT_ROOT / "catalog" / "data")


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    fa, en = po_texts("fa"), po_texts("en")
    assert set(fa) == set(en)
    fields = string.Formatter()
    for key in fa:
        fa_names = {name for _, name, _, _ in fields.parse(fa[key]) if name}
        en_names = {name for _, name, _, _ in fields.parse(en[key]) if name}
        assert fa_names == en_names, key


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_every_key_used_in_code_has_a_text(lang: str) -> None:
    assert keys_in_code() - set(po_texts(lang)) == set()


def test_persian_texts_use_persian_digits() -> None:
    for key, text in po_texts("fa").items():
        assert not re.search(r"[0-9]", text), key


@pytest.mark.parametrize("platform", [Platform.TELEGRAM, Platform.BALE])
def test_a_rounded_total_says_so_and_parses_on_each_messenger(catalog: Catalog, platform: Platform) -> None:
    # Baharan: P = 12,000,000 (central) × 0.9 = 10,800,000; K (grocery) = 0.01;
    # 0.01 × 10,800,000 × 85.57 = 9,241,560 rials, rounded down to a multiple of 1,000: 9,241,000.
    book = catalog.tariffs.book("baharan", 1405)
    calculation = book.calculate("business_fee", {"guild": "grocery", "area": "۸۵٫۵۷", "zone": "central"})
    assert calculation.total_rials == 9_241_000
    r = Renderer(platform, "fa")
    text = result_text(r, calculation, book.fee("business_fee"), book, catalog.organization("baharan"))
    plain, entities = parse_html(text) if platform.has_html else parse_bale_markdown(text)
    assert "۹٬۲۴۱٬۰۰۰ ریال (برابر ۹۲۴٬۱۰۰ تومان)" in plain
    assert "رقم دقیق ۹٬۲۴۱٬۵۶۰ ریال" in plain
    assert "مضرب ۱٬۰۰۰ ریال" in plain
    assert f"{RLM}۳. K × P × مساحت: ۹٬۲۴۱٬۵۶۰ ریال" in plain, "a line starting in Latin stays right to left"
    assert {e["type"] for e in entities} == {"bold"}


def test_a_number_question_shows_its_range_and_a_choice_its_buttons(catalog: Catalog) -> None:
    fee = catalog.tariffs.book("falavarjan", 1405).fee("vehicle_fee")
    r = Renderer(Platform.TELEGRAM, "fa")
    text, buttons = question(r, fee, 0, "run1")
    assert buttons is not None
    assert buttons.inline_keyboard[0][0].text == "موتورسیکلت"
    assert buttons.inline_keyboard[0][0].callback_data == "feeans:run1:0:motorcycle"
    text, buttons = question(r, fee, 1, "run1")
    assert buttons is None
    assert "عددی صحیح از ۱۳۵۰ تا ۱۴۰۶ (شمسی)" in text
