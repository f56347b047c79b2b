"""Long lists page: categories, services and search results of a county-sized catalog, on Telegram and Bale.

Today's catalog fits every list on one page, so each test grows a private copy of it: six more categories in
Falavarjan (eleven in all, the ninth on page two), ten services in one of them and a search word matching
fifteen.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.platforms import Platform
from tests.e2e.test_browse import open_falavarjan

NEXT = "بعدی ‹"
PREV = "› قبلی"
BACK = "↩️ بازگشت"
EXTRA_CATEGORIES = 6
LONG_CATEGORY = 4
"""The ninth category of Falavarjan (five real ones first): the one with ten services."""
SERVICES_IN_LONG_CATEGORY = 10
SEARCH_WORD = "غرفه"
"""In the title of every added service and of no real one."""


def fa(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


def category_title(n: int) -> str:
    return f"گروه افزوده {fa(n)}"


def service_title(n: int) -> str:
    return f"مجوز غرفه بازارچه شماره {fa(n)}"


@pytest.fixture
def catalog_dir(catalog_dir: Path) -> Path:
    """The e2e catalog copy, grown past one page: categories and services cloned from the real ones."""
    with (catalog_dir / "county.yaml").open("a", encoding="utf-8") as county:  # categories come last
        for n in range(1, EXTRA_CATEGORIES + 1):
            county.write(f"  - id: extra_{n}\n    title: {{fa: {category_title(n)}, en: Extra group {n}}}\n")
    model = (catalog_dir / "services" / "tree_cutting.yaml").read_text(encoding="utf-8")
    homes = [LONG_CATEGORY] * SERVICES_IN_LONG_CATEGORY + [
        n for n in range(1, EXTRA_CATEGORIES + 1) if n != LONG_CATEGORY
    ]
    for number, category in enumerate(homes, start=1):
        service_id = f"booth_{number:02d}"
        text = re.sub(r"(?m)^id: .*$", f"id: {service_id}", model, count=1)
        text = re.sub(r"(?m)^category: .*$", f"category: extra_{category}", text, count=1)
        text = re.sub(
            r"(?m)^title: .*$",
            f"title: {{fa: {service_title(number)}, en: Booth permit {number}}}",
            text,
            count=1,
        )
        text = re.sub(r"(?m)^offered_by: .*$", "offered_by: [falavarjan]", text, count=1)
        (catalog_dir / "services" / f"{service_id}.yaml").write_text(text, encoding="utf-8")
    return catalog_dir


def labels(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message["buttons"] for b in row]


async def test_next_page_of_categories_reaches_the_ninth_instead_of_redrawing_the_first(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await open_falavarjan(zahra)
    first = zahra.last_message
    assert "🏗 شهرسازی و ساختمان" in labels(first)
    assert category_title(3) in labels(first)
    assert category_title(4) not in labels(first), "eight categories a page"
    assert NEXT in labels(first)
    assert PREV not in labels(first)

    await zahra.press(NEXT)
    second = await zahra.expect("گروه خدمت")
    assert second["message_id"] == first["message_id"], "paging edits the same message"
    assert [category_title(n) for n in (4, 5, 6)] == [t for t in labels(second) if t.startswith("گروه")]
    assert "🏗 شهرسازی و ساختمان" not in labels(second)
    assert PREV in labels(second)
    assert NEXT not in labels(second)

    await zahra.press(PREV)
    again = await zahra.expect("گروه خدمت")
    assert "🏗 شهرسازی و ساختمان" in labels(again)
    assert category_title(4) not in labels(again)

    # Typing still searches Falavarjan after paging.
    await zahra.send("عدم خلاف")
    found = await zahra.expect("پیدا شد")
    assert "فلاورجان" in found["text"]


async def test_a_long_category_pages_its_services_and_back_returns_to_its_page(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await open_falavarjan(zahra)
    await zahra.press(NEXT)
    await zahra.expect("گروه خدمت")
    await zahra.press(category_title(LONG_CATEGORY))
    first = await zahra.expect("خدمت مورد نظر")
    assert category_title(LONG_CATEGORY) in first["text"]
    assert [service_title(n) for n in range(1, 9)] == [t for t in labels(first) if "غرفه" in t]
    assert PREV not in labels(first)

    await zahra.press(NEXT)
    second = await zahra.expect("خدمت مورد نظر")
    assert [service_title(9), service_title(10)] == [t for t in labels(second) if "غرفه" in t]
    assert NEXT not in labels(second)

    await zahra.press(PREV)
    again = await zahra.expect("خدمت مورد نظر")
    assert service_title(1) in labels(again)
    assert service_title(9) not in labels(again)

    await zahra.press(NEXT)
    await zahra.expect("خدمت مورد نظر")
    await zahra.press(service_title(10))
    card = await zahra.expect("مدارک لازم")
    assert service_title(10) in card["text"]

    await zahra.press(BACK, message=second)
    categories = await zahra.expect("گروه خدمت")
    assert category_title(LONG_CATEGORY) in labels(categories), "back to the page showing the category"


async def test_search_with_more_than_eight_matches_pages_through_all(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    await open_falavarjan(zahra)
    await zahra.send(SEARCH_WORD)
    first = await zahra.expect("پیدا شد")
    assert SEARCH_WORD in first["text"]
    assert len([t for t in labels(first) if SEARCH_WORD in t]) == 8
    assert NEXT in labels(first)

    await zahra.press(NEXT)
    second = await zahra.expect("پیدا شد")
    assert second["message_id"] == first["message_id"], "paging edits the results"
    assert len([t for t in labels(second) if SEARCH_WORD in t]) == 7
    seen = {t for t in labels(first) + labels(second) if SEARCH_WORD in t}
    assert seen == {service_title(n) for n in range(1, 16)}, "every match reachable, none twice"
    assert NEXT not in labels(second)

    await zahra.press(PREV)
    again = await zahra.expect("پیدا شد")
    assert labels(again) == labels(first)

    await zahra.press(NEXT)
    await zahra.expect("پیدا شد")
    await zahra.press(next(t for t in labels(second) if SEARCH_WORD in t))
    await zahra.expect("مدارک لازم")


async def test_search_pages_survive_a_restart(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    await open_falavarjan(zahra)
    await zahra.send(SEARCH_WORD)
    await zahra.expect("پیدا شد")
    await world.restart()
    await zahra.press(NEXT)
    second = await zahra.expect("پیدا شد")
    assert len([t for t in labels(second) if SEARCH_WORD in t]) == 7


async def test_a_page_button_of_a_forgotten_search_asks_to_search_again(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await open_falavarjan(zahra)
    await zahra.send(SEARCH_WORD)
    old_results = await zahra.expect("پیدا شد")
    await zahra.press("🗂 خدمات و ثبت درخواست")  # starting over forgets the search
    await zahra.expect("شهر یا روستای خود")
    await zahra.press(NEXT, message=old_results)
    asked = await zahra.expect("دوباره بنویسید")
    assert "فلاورجان" in asked["text"]
    assert "🏗 شهرسازی و ساختمان" in labels(asked)
    await zahra.send("عدم خلاف")  # typing searches Falavarjan again at once
    await zahra.expect("پیدا شد")


async def test_a_page_button_of_an_older_search_does_not_page_the_newer_one(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await open_falavarjan(zahra)
    await zahra.send(SEARCH_WORD)
    old_results = await zahra.expect("پیدا شد")
    await zahra.send("پروانه")
    await zahra.expect("پیدا شد")
    await zahra.press(NEXT, message=old_results)
    await zahra.expect("دوباره بنویسید")
