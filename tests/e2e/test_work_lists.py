"""A clerk's lists at an organization's size: every open request counted, read a page at a time (issue #19).

Falavarjan and Imanshahr each have 1,500 open requests (generated in bulk, ``bench.county``), of which the first
clerk of Falavarjan's group holds 300 and 600 are past their deadline.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from bench.county import Shape, generate, tracking_code_of
from bot.platforms import Platform
from desk.persian import TEHRAN

from .test_request import buttons  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

_CODE = re.compile(r"[۰-۹]{4}-[۰-۹]{4}-[۰-۹]{4}")
_LATIN = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")


async def fill_two_organizations(world: Any, platform: Platform) -> None:
    """3,000 open requests, alternately Falavarjan's and Imanshahr's; one in five of each held by our clerk."""
    catalog = world.miz.catalogs.catalog
    clerks = sorted(
        (c for c in catalog.clerks("falavarjan") if c.platform.value == platform.value),
        key=lambda c: c.user_id,
    )
    me, other = ((c.platform.value, c.user_id) for c in clerks[:2])
    shape = Shape(
        requests=3_000,
        citizens=50,
        organizations=("falavarjan", "imanshahr"),
        open_every=1,
        assignees=(me, None, other, None, None),
        frequent_every=0,
        events_per_request=0,
        outbox_per_request=0,
        pending_outbox=0,
    )
    await generate(world.miz.engine, catalog, shape, today=datetime.now(TEHRAN).date())


def codes_in(message: dict[str, Any]) -> set[str]:
    return {code.translate(_LATIN).replace("-", "") for code in _CODE.findall(message["text"])}


async def test_open_mine_and_overdue_count_everything_and_page_through_it(
    world: Any, platform: Platform
) -> None:
    await fill_two_organizations(world, platform)
    clerk = await world.clerk(platform)

    await clerk.send("/open")
    opened = await clerk.expect("درخواست‌های باز (۱٬۵۰۰)")
    assert "صفحهٔ ۱ از ۷۵، ردیف ۱ تا ۲۰" in opened["text"]
    assert len(codes_in(opened)) == 20
    assert buttons(opened) == ["بعدی ‹"]

    await clerk.press("بعدی ‹", message=opened)
    second = await clerk.expect("صفحهٔ ۲ از ۷۵، ردیف ۲۱ تا ۴۰")
    assert buttons(second) == ["› قبلی", "بعدی ‹"]
    assert not codes_in(second) & codes_in(opened)

    await clerk.send("/mine")
    mine = await clerk.expect("درخواست‌های شما (۳۰۰)")
    assert "صفحهٔ ۱ از ۱۵" in mine["text"]

    await clerk.send("/overdue")
    late = await clerk.expect("درخواست‌های گذشته از موعد (۶۰۰)")
    assert "صفحهٔ ۱ از ۳۰" in late["text"]
    assert late["text"].count("⚠️") == 21  # the title's and one per request


async def test_a_forged_page_button_shows_only_the_pressers_own_organization(
    world: Any, platform: Platform
) -> None:
    await fill_two_organizations(world, platform)
    falavarjan = {tracking_code_of(i) for i in range(0, 3_000, 2)}
    imanshahr_clerk = await world.clerk(platform, "imanshahr")

    await imanshahr_clerk.send("/open")
    shown = await imanshahr_clerk.expect("درخواست‌های باز (۱٬۵۰۰)")
    await imanshahr_clerk.press(data="worklist:open:9999", message=shown, forged=True)
    last = await imanshahr_clerk.expect("صفحهٔ ۷۵ از ۷۵، ردیف ۱٬۴۸۱ تا ۱٬۵۰۰")
    assert codes_in(last)
    assert not codes_in(last) & falavarjan, "another organization's requests never appear"

    stranger = await world.stranger_in_group(platform)
    await stranger.send("/open")
    refused = await stranger.expect("فقط کارشناسان")
    await stranger.press(data="worklist:mine:1", message=refused, forged=True, wait_answer=20)
    assert "فقط کارشناسان" in stranger.last_answer["text"]
