"""Every message id the domain uses exists in both desk.po files, and the two files hold the same ids."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from desk.i18n import LOCALES_DIR
from desk.lifecycle import Actor, Status

DESK_DIR = Path(__file__).resolve().parents[2] / "desk"


def po_texts(lang: str) -> dict[str, str]:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "desk.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain="desk")
    return {str(m.id): str(m.string) for m in catalog if m.id}


def keys_in_code() -> set[str]:
    keys: set[str] = set()
    for path in DESK_DIR.glob("*.py"):
        keys |= set(re.findall(r'"(desk\.[a-z_]+\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    keys |= {s.label_key for s in Status} | {a.label_key for a in Actor}
    keys |= {f"desk.month.{m}" for m in range(1, 13)}
    return keys


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_every_key_used_in_code_has_a_text(lang: str) -> None:
    texts = po_texts(lang)
    missing = {key for key in keys_in_code() if not texts.get(key)}
    assert not missing


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    fa, en = po_texts("fa"), po_texts("en")
    assert set(fa) == set(en)
    fields = string.Formatter()
    for key in fa:
        fa_names = {name for _, name, _, _ in fields.parse(fa[key]) if name}
        en_names = {name for _, name, _, _ in fields.parse(en[key]) if name}
        assert fa_names == en_names, key


def test_persian_texts_use_persian_digits() -> None:
    for key, text in po_texts("fa").items():
        # The Sheba example keeps its Latin 'IR' prefix and digits, as printed on bank cards.
        if key != "desk.sheba.format":
            assert not re.search(r"[0-9]", text), key
