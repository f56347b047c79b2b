"""``miz site build OUT/``: the public pages from the command line."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from desk.i18n import translator
from desk.persian import to_persian_digits

__all__ = ["site_build"]


def site_build(
    out: Path,
    *,
    catalog_dir: Path | None = None,
    telegram: str | None = None,
    bale: str | None = None,
    track_url: str | None = None,
    usage_url: str | None = None,
) -> int:
    """Write the site of the catalog (``catalog_dir``, default the configured one) into ``out``; the bots'
    usernames default to the settings, the tracking page's address to ``MIZ_WEBHOOK_URL`` + ``/track`` (where
    ``miz serve`` answers it). With ``usage_url`` (a database URL), the posters list each organization's most
    requested services of the last year. A catalog with problems writes nothing (run ``miz catalog check``)."""
    from catalog.loader import check_catalog
    from config.settings import Settings
    from public.site import build_site

    settings = Settings()
    en, fa = translator("en"), translator("fa")
    catalog, problems = check_catalog(catalog_dir or settings.catalog_dir)
    if catalog is None:
        for problem in problems:
            print(problem.render(), file=sys.stderr)
        return 1
    bots = {"telegram": telegram or settings.telegram_username, "bale": bale or settings.bale_username}
    for platform, username in bots.items():
        if not username:
            hint = {
                "platform": platform,
                "option": f"--{platform}-bot",
                "env": f"MIZ_{platform.upper()}_USERNAME",
            }
            print(en("site.build.no_bot", **hint), file=sys.stderr)
            print(fa("site.build.no_bot", **hint), file=sys.stderr)
    if track_url is None and settings.webhook_url:
        track_url = settings.webhook_url.rstrip("/") + "/track"
    usage = asyncio.run(_usage(usage_url)) if usage_url else None
    pages = build_site(catalog, out, bots, track_url=track_url or None, usage=usage)
    print(en("site.build.done", pages=len(pages), out=out))
    print(fa("site.build.done", pages=to_persian_digits(len(pages)), out=out))
    return 0


USAGE_DAYS = 365
"""The posters' most used services are counted over the last year: a whole year's seasons, not last week's."""


async def _usage(url: str) -> dict[tuple[str, str], int]:
    """Requests per organization and service filed in the last :data:`USAGE_DAYS` days, read from ``url``."""
    from storage.db import create_engine, session_factory
    from storage.repositories import Requests

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            since = datetime.now(UTC) - timedelta(days=USAGE_DAYS)
            return await Requests(session).filed_per_service(since)
    finally:
        await engine.dispose()
