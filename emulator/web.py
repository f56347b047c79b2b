"""The emulator's web chat page: a person chats with the bot in a browser, as a citizen or as a clerk.

The page is one server-rendered Jinja2 template (``emulator/templates/chat.html``) with a little vanilla
JavaScript (``emulator/static/chat.js``) that talks only to the JSON control API under ``/sim/...``
(see ``emulator/CONTROL_API.md``): it picks a bot by dialect, plays a user, sends text, photos, documents,
contacts and locations, presses buttons, and long-polls the chat's ``changes`` so new bot messages appear
without reloading. Nothing is fetched from the internet: no build step, no CDN, a system font stack.

Texts come from ``locales/<lang>/LC_MESSAGES/web.po`` (``web.*`` keys, Persian by default; ``?lang=en``
shows the English page). The same texts are handed to the script as JSON, so it never hard-codes one.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from aiohttp import web
from babel.messages.pofile import read_po
from jinja2 import Environment, FileSystemLoader, select_autoescape

from desk.i18n import LANGUAGES, LOCALES_DIR, translator

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "setup_web"]

_HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = _HERE / "templates"
"""Jinja2 templates of the page."""
STATIC_DIR = _HERE / "static"
"""The page's script and style sheet, served under ``/static/``."""

_DOMAIN = "web"
_DIALECTS = ("bale", "telegram")
_TEXT_DIRECTION = {"fa": "rtl", "en": "ltr"}


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _message_ids() -> tuple[str, ...]:
    """Every message id of the page's domain, read from the Persian catalog (the reference language)."""
    path = LOCALES_DIR / "fa" / "LC_MESSAGES" / f"{_DOMAIN}.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="fa", domain=_DOMAIN)
    return tuple(sorted(m.id for m in catalog if m.id and isinstance(m.id, str)))


def _texts(lang: str) -> dict[str, str]:
    """The page's texts in ``lang``, keyed by message id (Persian where a translation is missing)."""
    translate = translator(lang)
    return {key: translate(key) for key in _message_ids()}


@cache
def _asset_version() -> str:
    """A short hash of the static files, appended to their URLs so a browser never runs a stale script."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _pick(value: str | None, allowed: tuple[str, ...], default: str) -> str:
    return value if value in allowed else default


async def _page(request: web.Request) -> web.Response:
    """``GET /``: the chat page. Query: ``lang`` (``fa``|``en``), ``dialect`` (``bale``|``telegram``)."""
    lang = _pick(request.query.get("lang"), LANGUAGES, "fa")
    dialect = _pick(request.query.get("dialect"), _DIALECTS, "bale")
    texts = _texts(lang)
    html = (
        _environment()
        .get_template("chat.html")
        .render(
            lang=lang,
            direction=_TEXT_DIRECTION.get(lang, "rtl"),
            dialect=dialect,
            t=texts,
            texts=texts,
            asset_version=_asset_version(),
        )
    )
    return web.Response(
        text=html,
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin"},
    )


def setup_web(app: web.Application) -> None:
    """Add the chat page (``GET /``) and its assets (``/static/...``) to the emulator's aiohttp app."""
    app.router.add_get("/", _page, name="web.page")
    app.router.add_static("/static/", STATIC_DIR, name="web.static", append_version=False)
