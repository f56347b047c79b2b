"""Texts shown to people live in ``locales/<lang>/LC_MESSAGES/<domain>.po``; this module reads them.

Message ids are symbolic (``catalog.unknown_key``), so long Persian texts never serve as keys and the
English catalog is a translation like any other. The ``.po`` files are parsed at start-up with Babel,
so there is no compile step to forget. Each package keeps its own domain (``desk``, ``catalog``,
``bot``, ``emulator``) so that files stay small and reviewable.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from config.settings import PROJECT_ROOT

__all__ = ["LANGUAGES", "LOCALES_DIR", "Translator", "translator"]

LOCALES_DIR = PROJECT_ROOT / "locales"
LANGUAGES = ("fa", "en")


def _load_domain(lang: str, domain: str, root: Path) -> dict[str, str]:
    path = root / lang / "LC_MESSAGES" / f"{domain}.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=domain)
    texts: dict[str, str] = {}
    for message in catalog:
        if message.id and isinstance(message.id, str) and isinstance(message.string, str) and message.string:
            texts[message.id] = message.string
    return texts


class Translator:
    """Looks up a message id in one language, falling back to Persian, then to the id itself."""

    def __init__(self, lang: str, texts: Mapping[str, str], fallback: Mapping[str, str]) -> None:
        self.lang = lang
        self._texts = texts
        self._fallback = fallback

    def __call__(self, key: str, /, **params: Any) -> str:
        template = self._texts.get(key) or self._fallback.get(key)
        if template is None:
            return key
        return template.format(**params) if params else template

    def has(self, key: str) -> bool:
        return key in self._texts or key in self._fallback


@cache
def _texts(lang: str, root: Path) -> dict[str, str]:
    merged: dict[str, str] = {}
    lang_dir = root / lang / "LC_MESSAGES"
    if lang_dir.is_dir():
        for po in sorted(lang_dir.glob("*.po")):
            merged.update(_load_domain(lang, po.stem, root))
    return merged


def translator(lang: str = "fa", root: Path = LOCALES_DIR) -> Translator:
    """The translator for ``lang`` (``fa`` or ``en``); unknown languages read as Persian."""
    if lang not in LANGUAGES:
        lang = "fa"
    return Translator(lang, _texts(lang, root), _texts("fa", root))
