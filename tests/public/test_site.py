"""`miz site build`: every page of the catalog, in Persian and English, linked together and to the bots."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from bot.cli import main
from catalog.index import Catalog
from public.site import build_site
from tests.public.conftest import BALE_BOT, TELEGRAM_BOT, TRACK_URL

ASCII_DIGIT = re.compile(r"[0-9]")


class _Page(HTMLParser):
    """What a test reads of a page: links, images, ids, headings, the root's attributes and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[dict[str, str | None]] = []
        self.ids: set[str] = set()
        self.headings: list[int] = []
        self.root: dict[str, str | None] = {}
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.root = found
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag in {"a", "link"} and found.get("href"):
            self.links.append(str(found["href"]))
        if tag == "img":
            self.images.append(found)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag in {"style", "script", "title"}:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "script", "title"}:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def read(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_every_organization_and_service_has_its_page_in_both_languages(site: Path, shipped: Catalog) -> None:
    for prefix in (site, site / "en"):
        assert (prefix / "index.html").is_file()
        for org in shipped.organizations:
            assert (prefix / org.id / "index.html").is_file()
            assert (prefix / org.id / "poster.html").is_file()
            for service in shipped.services_for(org.id):
                assert (prefix / org.id / f"{service.id}.html").is_file()
                assert (prefix / org.id / f"{service.id}-poster.html").is_file()
    assert not any(site.rglob("registry*")), "agencies offer no service and have no page"


def test_every_internal_link_and_anchor_resolves(site: Path) -> None:
    broken: list[str] = []
    for path in pages(site):
        for href in read(path).links:
            parts = urlsplit(href)
            if parts.scheme in {"https", "tel"}:
                continue
            assert not parts.scheme, f"{path}: unexpected link {href}"
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if not target.is_file():
                broken.append(f"{path.relative_to(site)} -> {href}")
            elif parts.fragment and parts.fragment not in read(target).ids:
                broken.append(f"{path.relative_to(site)} -> {href} (no such anchor)")
    assert broken == []


def test_pages_declare_language_and_direction_with_one_h1_and_no_skipped_levels(site: Path) -> None:
    for path in pages(site):
        page = read(path)
        english = path.is_relative_to(site / "en")
        assert page.root == {"lang": "en" if english else "fa", "dir": "ltr" if english else "rtl"}, path
        assert page.headings.count(1) == 1, path
        for before, after in zip(page.headings, page.headings[1:], strict=False):
            assert after <= before + 1, f"{path}: h{before} then h{after}"
        assert all(image.get("alt") for image in page.images), path


def test_a_service_page_has_the_whole_card_and_opens_the_service_in_both_bots(site: Path) -> None:
    page = read(site / "falavarjan" / "building_permit.html")
    text = " ".join(page.text)
    for heading in (
        "مراحل انجام کار",
        "مدارک لازم",
        "مدت انجام",
        "هزینه",
        "قوانین و مقررات",
        "پرسش‌های متداول",
        "مسئول پاسخگو",
        "رسیدگی به شکایت",
        "محل مراجعه",
    ):
        assert heading in text, heading
    assert "سند مالکیت" in text
    assert "خیابان امام خمینی" in text, "where to go"
    assert "۰۳۱۳۷۴۲۲۰۲۰" in text, "the office's phone in Persian digits"
    assert "۳۰ روز کاری" in text
    assert f"https://ble.ir/{BALE_BOT}?start=s-falavarjan-building_permit" in page.links
    assert f"https://t.me/{TELEGRAM_BOT}?start=s-falavarjan-building_permit" in page.links
    qr = [image for image in page.images if "qr" in str(image.get("class"))]
    assert len(qr) == 2
    assert all(str(image["src"]).startswith("data:image/svg+xml") for image in qr)
    assert any("بله" in str(image["alt"]) for image in qr)


def test_persian_pages_write_numbers_in_persian_digits(site: Path) -> None:
    for path in [site / "index.html", *sorted((site / "falavarjan").glob("*.html"))]:
        text = " ".join(read(path).text)
        assert not ASCII_DIGIT.search(text), f"{path}: {ASCII_DIGIT.findall(text)[:5]}"


def test_an_online_service_says_nothing_of_a_visit(site: Path) -> None:
    text = " ".join(read(site / "falavarjan" / "floor_area.html").text)
    assert "محل مراجعه" not in text
    assert "کاملاً غیرحضوری" in text


def test_english_pages_read_in_english_with_latin_digits(site: Path) -> None:
    page = read(site / "en" / "falavarjan" / "building_permit.html")
    text = " ".join(page.text)
    assert "Building permit" in text
    assert "30 working days" in text
    assert "Open in Bale" in text


def test_every_page_links_to_the_web_tracking_page_and_the_posters_print_its_address(site: Path) -> None:
    assert TRACK_URL in read(site / "index.html").links
    assert f"{TRACK_URL}?lang=en" in read(site / "en" / "falavarjan" / "building_permit.html").links
    for poster in ("poster.html", "building_permit-poster.html"):
        text = " ".join(read(site / "falavarjan" / poster).text)
        assert "در وب هم:" in text
        assert TRACK_URL in text


@pytest.mark.parametrize(("lang", "prefix"), [("fa", ""), ("en", "en/")])
def test_a_poster_names_the_track_button_as_the_bots_keyboard_shows_it(
    site: Path, lang: str, prefix: str
) -> None:
    from bot.keyboards import main_menu
    from bot.platforms import Platform
    from bot.render import Renderer

    labels = {
        button.text
        for platform in Platform
        for row in main_menu(Renderer(platform, lang)).keyboard
        for button in row
    }
    track = next(label for label in labels if "🔎" in label)
    for poster in ("poster.html", "building_permit-poster.html"):
        text = " ".join(read(site / f"{prefix}falavarjan" / poster).text)
        assert f"«{track}»" in text or f"“{track}”" in text, text
    # One source: no site text spells a button of the bot's menu itself, to go stale when the bot's changes.
    copied = {key: text for key, text in _site_texts(lang).items() for label in labels if label in text}
    assert copied == {}


def test_a_poster_lists_the_most_requested_services_first(shipped: Catalog, tmp_path: Path) -> None:
    usage = {
        ("falavarjan", "tree_cutting"): 40,
        ("falavarjan", "debris_collection"): 12,
        ("abrisham", "complaint"): 99,
    }
    build_site(shipped, tmp_path, {}, langs=["fa"], usage=usage)
    items = re.findall(
        r"<li>([^<]+)</li>", (tmp_path / "falavarjan" / "poster.html").read_text(encoding="utf-8")
    )
    assert items[:2] == ["مجوز قطع یا هرس درخت", "جمع‌آوری نخاله ساختمانی"]
    first = shipped.services_for("falavarjan")[0].title.fa
    assert items[2] == first, "then the catalog's order"


def test_an_organizations_website_is_linked(shipped: Catalog) -> None:
    from desk.i18n import translator
    from public.site import _place, environment

    org = shipped.organization("falavarjan")
    org = org.model_copy(
        update={"contact": org.contact.model_copy(update={"website": "https://falavarjan.ir"})}
    )
    t = translator("fa")
    html = environment().get_template("_place.html.j2").render(t=t, org={"place": _place(t, org, "fa")})
    assert 'href="https://falavarjan.ir"' in html


def test_a_bot_without_a_username_gets_no_link(shipped: Catalog, tmp_path: Path) -> None:
    build_site(shipped, tmp_path, {"bale": BALE_BOT, "telegram": None}, langs=["fa"])
    page = read(tmp_path / "falavarjan" / "building_permit.html")
    assert not [link for link in page.links if "t.me" in link]
    assert [link for link in page.links if "ble.ir" in link]


def test_miz_site_build_writes_the_site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MIZ_TELEGRAM_USERNAME", raising=False)
    monkeypatch.setenv("MIZ_WEBHOOK_URL", "https://miz.falavarjan.ir/")
    code = main(["site", "build", str(tmp_path / "out"), "--bale-bot", BALE_BOT])
    out, err = capsys.readouterr()
    assert code == 0
    assert "pages written to" in out
    assert "no username for the telegram bot" in err
    assert (tmp_path / "out" / "falavarjan" / "building_permit.html").is_file()
    assert (tmp_path / "out" / "fonts" / "Vazirmatn-Regular.ttf").is_file()
    assert "https://miz.falavarjan.ir/track" in read(tmp_path / "out" / "index.html").links, (
        "where miz serve is"
    )


def _site_texts(lang: str) -> dict[str, str]:
    from babel.messages.pofile import read_po

    from desk.i18n import LOCALES_DIR

    with (LOCALES_DIR / lang / "LC_MESSAGES" / "site.po").open("rb") as fh:
        return {str(m.id): str(m.string) for m in read_po(fh, locale=lang, domain="site") if m.id}


def test_every_site_text_exists_in_both_languages_with_the_same_placeholders() -> None:
    import string

    from config.settings import PROJECT_ROOT

    fa, en = _site_texts("fa"), _site_texts("en")
    assert set(fa) == set(en)
    fields = string.Formatter()
    for key in fa:
        assert {n for _, n, _, _ in fields.parse(fa[key]) if n} == {
            n for _, n, _, _ in fields.parse(en[key]) if n
        }
        assert not ASCII_DIGIT.search(fa[key]), key
    used: set[str] = set()
    for path in [*(PROJECT_ROOT / "public").rglob("*.py"), *(PROJECT_ROOT / "public").rglob("*.j2")]:
        used |= set(re.findall(r"""["'](site\.[a-z_.]+[a-z])["']""", path.read_text(encoding="utf-8")))
    dynamic = {key for key in used if key.endswith((".kind", ".doc.kind", ".messenger"))} | {"site.css"}
    assert used - dynamic - set(fa) == set()


async def _database_with_requests(url: str, filed: dict[str, int]) -> None:
    from datetime import UTC, date, datetime

    from sqlmodel import SQLModel

    from storage.db import create_engine, session_factory
    from storage.models import Citizen, ServiceRequest
    from storage.uow import unit_of_work

    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
    async with unit_of_work(session_factory(engine), write=True) as session:
        citizen = Citizen(platform="bale", user_id=7_000_000_001, chat_id=7_000_000_001, first_name="x")
        session.add(citizen)
        await session.flush()
        number = 200_000_000
        for service, count in filed.items():
            for _ in range(count):
                number += 1
                session.add(
                    ServiceRequest(
                        tracking_code=str(number),
                        citizen_id=citizen.id,
                        organization_id="falavarjan",
                        service_id=service,
                        service_version="x",
                        status="submitted",
                        deadline=date(2026, 12, 30),
                        submitted_at=datetime.now(UTC),
                    )
                )
    await engine.dispose()


def test_miz_site_build_reads_the_most_used_services_from_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    url = f"sqlite+aiosqlite:///{tmp_path / 'miz.sqlite3'}"
    asyncio.run(_database_with_requests(url, {"excavation_permit": 3, "tree_cutting": 1}))
    code = main(["site", "build", str(tmp_path / "out"), "--usage-url", url, "--track-url", ""])
    capsys.readouterr()
    assert code == 0
    poster = (tmp_path / "out" / "falavarjan" / "poster.html").read_text(encoding="utf-8")
    assert re.findall(r"<li>([^<]+)</li>", poster)[:2] == ["صدور مجوز حفاری معابر", "مجوز قطع یا هرس درخت"]
