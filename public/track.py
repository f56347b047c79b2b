"""The web tracking page: ``/track`` asks for a tracking code and the last four digits of the national ID, and shows
the request's public history, as the bot's tracking does and behind the same guessing limits.

The look-up is ``desk.guessing.track_by_code`` with the very limiters the bot's tracking uses (``miz serve`` hands
over its Dispatcher's; ``miz web`` makes them as ``miz run`` does, in Redis when ``MIZ_REDIS_URL`` is set), so a
guesser gets no more tries on the web than in a chat, and the tracking code's own limit (10 wrong national IDs a
day) counts the web's guesses and the bots' together. The guesser is the client's address (``web:<address>``):
behind a trusted reverse proxy (``MIZ_TRUSTED_PROXIES``), the last address of its ``X-Forwarded-For``.

What the page shows is what the bot shows someone who gives a request's code and national ID: the service, the
organization, the status, the dates and the public steps; never a name, a national ID, a phone or an answer. The
national ID's digits travel only in a POST body (never in a URL, so never in an access log), and the answer is
not cached. A wrong code, a wrong national ID and a code no request has get the same answer.
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from catalog.loader import CatalogHolder
from catalog.problems import NotInCatalogError
from desk.errors import NotFound, Throttled, ValidationError
from desk.guessing import track_by_code
from desk.i18n import LANGUAGES, translator
from desk.lifecycle import Status
from desk.notices import notice_text
from desk.persian import format_jalali_date, normalize_identifier
from desk.requests import HistoryEntry, TrackView
from desk.throttle import Limiter
from desk.tracking import format_tracking_code
from public.site import FONTS_DIR, STATIC_DIR, environment

__all__ = ["TRACK_PATH", "Tracking", "serve_tracking", "setup_tracking", "trusted_proxies"]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

TRACK_PATH = "/track"
WEB_PLATFORM = "web"
"""The platform name the page tracks under: no citizen has it, so nobody is a request's owner here."""
_MAX_FIELD = 64
"""Longest code or digits read from the form (a tracking code with spaces and dashes is well under it)."""
_DIRECTION = {"fa": "rtl", "en": "ltr"}
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
_FONTS = ("Vazirmatn-Regular.ttf", "Vazirmatn-Bold.ttf")


@dataclass(frozen=True)
class Tracking:
    """What the page needs: the database, the catalog (for names), and the bot's two tracking limiters."""

    factory: async_sessionmaker[AsyncSession]
    catalogs: CatalogHolder
    guesser: Limiter
    """The bot's ``throttle``: wrong codes or national IDs per guesser (5 per 10 minutes)."""
    per_code: Limiter
    """The bot's ``track_code_throttle``: wrong national IDs per tracking code, whoever guesses (10 a day)."""
    trusted_proxies: tuple[IPNetwork, ...] = ()
    """The reverse proxies in front of Miz (``MIZ_TRUSTED_PROXIES``): their ``X-Forwarded-For`` names the client."""

    def _trusted(self, remote: str) -> bool:
        try:
            address = ipaddress.ip_address(remote)
        except ValueError:
            return False
        return any(address in network for network in self.trusted_proxies)

    def client(self, request: web.BaseRequest) -> str:
        """The guesser's key: the client's address, as the trusted proxy in front of Miz saw it (the last hop of
        ``X-Forwarded-For``, which the proxy appends and a client cannot forge); otherwise the connection's."""
        remote = request.remote or "unknown"
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded and self._trusted(remote):
            last = forwarded.split(",")[-1].strip()
            with contextlib.suppress(ValueError):  # not an address: keep the proxy's own
                remote = str(ipaddress.ip_address(last))
        return f"{WEB_PLATFORM}:{remote}"

    def name(self, org_id: str, lang: str) -> str:
        try:
            return self.catalogs.catalog.organization(org_id).name.get(lang)
        except NotInCatalogError:
            return org_id


def trusted_proxies(setting: str) -> tuple[IPNetwork, ...]:
    """``MIZ_TRUSTED_PROXIES`` (``"127.0.0.1,::1,172.16.0.0/12"``) as networks; a single address is a network of
    one. Raises ``ValueError`` on anything else, so a typo stops the start instead of trusting nobody silently."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in setting.split(",") if part.strip()
    )


_TRACKING: web.AppKey[Tracking] = web.AppKey("miz_tracking", Tracking)


def _lang(value: object) -> str:
    return value if isinstance(value, str) and value in LANGUAGES else "fa"


def _field(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value[:_MAX_FIELD] if isinstance(value, str) else ""


def _view(tracking: Tracking, view: TrackView, lang: str) -> dict[str, Any]:
    """What the page shows of a request: the bot's tracking answer, nothing more."""
    t = translator(lang)

    def step(event: HistoryEntry) -> str:
        if event.transferred_to is not None and event.transfer_key is not None:
            return t(
                event.transfer_key,
                org=tracking.name(event.transferred_to, lang),
                service=event.service.text(lang) if event.service else "",
            )
        return t(Status(event.to_status).label_key) if event.to_status else ""

    return {
        "code": format_tracking_code(view.tracking_code, lang),
        "title": view.title.text(lang),
        "org": tracking.name(view.organization_id, lang),
        "status": t(Status(view.status).label_key),
        "filed": format_jalali_date(view.submitted_at, lang) if view.submitted_at else "—",
        "deadline": format_jalali_date(view.deadline, lang) if view.deadline else "—",
        "waiting": [
            t(
                "bot.track.waiting",
                agency=tracking.name(item.agency_id, lang),
                since=format_jalali_date(item.since, lang),
                due=format_jalali_date(item.due, lang),
            )
            for item in view.waiting
        ],
        "history": [
            {
                "date": format_jalali_date(event.at, lang),
                "step": step(event),
                "text": notice_text(event.notice, lang) if event.notice else event.text or "",
            }
            for event in view.history
        ],
    }


def _page(lang: str, *, status: int = 200, **context: Any) -> web.Response:
    context = {"code": "", "error": None, "view": None, **context}
    html = (
        environment()
        .get_template("track.html.j2")
        .render(
            lang=lang,
            dir=_DIRECTION[lang],
            t=translator(lang),
            other="en" if lang == "fa" else "fa",
            **context,
        )
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8", headers=_HEADERS)


async def _look_up(
    tracking: Tracking, request: web.Request, code: str, tail: str, lang: str
) -> dict[str, Any]:
    """The page's answer to a code and national ID digits: the request's view, or an error to show."""
    if not code.strip() or not tail.strip():
        return {"error": translator(lang)("site.track.missing")}
    if len(normalize_identifier(tail)) != 4:
        return {"error": translator(lang)("site.track.tail_invalid")}
    try:
        async with tracking.factory() as session:
            view = await track_by_code(
                session,
                code,
                platform=WEB_PLATFORM,
                user_id=0,
                national_id=tail,
                guesser=tracking.guesser,
                per_code=tracking.per_code,
                guesser_id=tracking.client(request),
            )
    except (Throttled, ValidationError) as error:
        return {"error": error.render(lang)}
    except NotFound:
        return {"error": translator(lang)("site.track.not_found")}
    except (SQLAlchemyError, OSError, ConnectionError):
        return {"error": translator(lang)("site.track.busy"), "status": 503}
    return {"view": _view(tracking, view, lang)}


async def _ask(request: web.Request) -> web.Response:
    """``GET /track``: the form (``?lang=en`` in English)."""
    return _page(_lang(request.query.get("lang")), code="")


async def _answer(request: web.Request) -> web.Response:
    """``POST /track``: the look-up, with the form again above its answer."""
    tracking = request.app[_TRACKING]
    form = await request.post()
    lang = _lang(form.get("lang"))
    code, tail = _field(form, "code"), _field(form, "tail")
    found = await _look_up(tracking, request, code, tail, lang)
    status = int(found.pop("status", 200))
    return _page(lang, status=status, code=code, **found)


async def _style(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "site.css", headers={"Cache-Control": "max-age=3600"})


async def _font(request: web.Request) -> web.FileResponse:
    name = request.match_info["name"]
    if name not in _FONTS:
        raise web.HTTPNotFound
    return web.FileResponse(FONTS_DIR / name, headers={"Cache-Control": "max-age=86400"})


def setup_tracking(app: web.Application, tracking: Tracking) -> None:
    """Add ``/track`` (and its style sheet and fonts under ``/track/``) to ``app``."""
    app[_TRACKING] = tracking
    app.router.add_get(TRACK_PATH, _ask)
    app.router.add_post(TRACK_PATH, _answer)
    app.router.add_get(f"{TRACK_PATH}/site.css", _style)
    app.router.add_get(f"{TRACK_PATH}/fonts/{{name}}", _font)


def serve_tracking(*, host: str, port: int) -> int:
    """``miz web``: the tracking page alone, with the limiters ``miz run`` would make (shared through Redis when
    ``MIZ_REDIS_URL`` is set, so the bots' processes and this one count the same guesses)."""
    import asyncio

    from config.settings import Settings
    from desk.throttle import tracking_code_throttle, tracking_throttle
    from storage.db import create_engine, session_factory
    from storage.migrate import upgrade_async

    settings = Settings()

    async def main() -> None:
        if settings.database_url.startswith("sqlite"):
            await upgrade_async(settings.database_url)
        engine = create_engine(settings.database_url)
        guesser: Limiter = tracking_throttle()
        per_code: Limiter = tracking_code_throttle()
        redis = None
        if settings.redis_url:
            from redis.asyncio import Redis

            from storage.throttle import RedisThrottle

            redis = Redis.from_url(settings.redis_url)
            guesser = RedisThrottle.like(tracking_throttle(), redis, "track")
            per_code = RedisThrottle.like(tracking_code_throttle(), redis, "track-code")
        app = web.Application()
        catalogs = CatalogHolder(settings.catalog_dir, cache_dir=settings.cache_dir)
        proxies = trusted_proxies(settings.trusted_proxies)
        setup_tracking(app, Tracking(session_factory(engine), catalogs, guesser, per_code, proxies))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        print(f"miz web: http://{host}:{port}{TRACK_PATH}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
            if redis is not None:
                await redis.aclose()
            await engine.dispose()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        return 0
    return 0
