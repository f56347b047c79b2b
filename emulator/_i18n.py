"""Human-readable texts of the emulator (console messages), read from ``locales/<lang>/LC_MESSAGES/emulator.po``.

The .po files are parsed with Babel at start-up, so no compiled .mo files need to be built or shipped.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

__all__ = ["LOCALES_DIR", "gettext"]

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DEFAULT_LANGUAGE = "fa"


@cache
def _catalog(language: str) -> dict[str, str]:
    path = LOCALES_DIR / language / "LC_MESSAGES" / "emulator.po"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return {str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.string, str) and m.string}


def gettext(message: str, language: str | None = None) -> str:
    """``message`` translated to ``language`` (default: ``MIZ_LOCALE``, else Persian), or itself."""
    lang = language or os.environ.get("MIZ_LOCALE", DEFAULT_LANGUAGE)
    return _catalog(lang).get(message, message)
