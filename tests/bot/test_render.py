"""Texts reach each messenger in the form it reads, and nothing a citizen types can change that form."""

from __future__ import annotations

import pytest

from bot.platforms import Platform
from bot.render import Renderer, bale_safe, cut, fit, html_to_bale, sent_length
from emulator.dialects import parse_bale_markdown, parse_html

HOSTILE_NAMES = [
    "<b>Ali</b>",
    "Reza & Sons <script>",
    "*star* _under_ `tick`",
    "[click](http://evil.example)",
    "back\\slash\\",
    "علی_رضا*",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_typed_text_never_breaks_a_telegram_message(name: str) -> None:
    text = Renderer(Platform.TELEGRAM).text("bot.browse.found", query=name, org="فلاورجان")
    plain, entities = parse_html(text)
    assert name in plain
    assert [e["type"] for e in entities] == ["bold"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_typed_text_never_breaks_a_bale_message(name: str) -> None:
    text = Renderer(Platform.BALE).text("bot.browse.found", query=name, org="فلاورجان")
    plain, entities = parse_bale_markdown(text)
    assert [e["type"] for e in entities] == ["bold"]
    assert bale_safe(name) in plain  # shown as typed, markers replaced by look-alikes
    assert "evil.example" not in {e.get("url") for e in entities}


def test_bale_gets_markdown_for_our_own_markup() -> None:
    assert html_to_bale('<b>سلام</b> &lt;تست&gt; <a href="https://a.ir/?x=1&amp;y=2">پیوند</a>') == (
        "*سلام* <تست> [پیوند](https://a.ir/?x=1&y=2)"
    )


def test_english_renderer_uses_english_texts_and_latin_digits() -> None:
    r = Renderer(Platform.TELEGRAM, "en")
    assert r.plain("bot.menu.help") == "❓ Help"
    assert r.digits(12) == "12"
    assert Renderer(Platform.TELEGRAM, "fa").digits(12) == "۱۲"


@pytest.mark.parametrize("platform", [Platform.TELEGRAM, Platform.BALE])
def test_nested_template_values_are_escaped_too(platform: Platform) -> None:
    """Regression: a masked national ID (049****899) nested in a card's answers broke Bale's Markdown."""
    r = Renderer(platform)
    text = r.template(
        "review.j2",
        title="*عنوان*",
        org="<i>سازمان</i>",
        answers=[{"label": "کد_ملی", "value": "049****899"}],
        documents=[{"title": "`سند`", "state": "✅"}],
    )
    parse = parse_html if platform is Platform.TELEGRAM else parse_bale_markdown
    plain, entities = parse(text)
    assert "سازمان" in plain
    assert {e["type"] for e in entities} <= {"bold"}


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_cut_part_ends_with_the_marker_and_a_short_one_stays_whole() -> None:
    assert cut("کوتاه", 10, "…✂️") == "کوتاه"
    assert cut("کوتاه", None, "…✂️") == "کوتاه"
    assert cut("یک متن بسیار بلند", 9, "…✂️") == "یک متن…✂️"  # nine characters, the marker's three included


def test_fit_cuts_the_longest_parts_first_until_the_text_fits() -> None:
    short, long = "نام کوتاه", "واژه " * 2000

    def draw(cap: int | None) -> str:
        return f"<b>{cut(short, cap, '…')}</b>\n{cut(long, cap, '…')}\n{cut(long, cap, '…')}"

    text = fit(draw, len(long), 4096)
    assert sent_length(text) <= 4096
    assert sent_length(text) > 4000, "no more is cut than needed"
    assert f"<b>{short}</b>" in text, "the short part is whole"
    assert text.count("…") == 2
    assert fit(lambda cap: "کوتاه", 10) == "کوتاه"


def test_length_is_counted_in_utf16_as_sent() -> None:
    assert sent_length("😀") == 2
    assert sent_length("&amp;") == 5  # an entity counts as sent: Telegram counts less, never more


@pytest.mark.parametrize("platform", [Platform.TELEGRAM, Platform.BALE])
def test_pages_spread_typed_text_over_messages_that_each_fit_and_lose_nothing(platform: Platform) -> None:
    r = Renderer(platform)
    typed = " ".join(f"واژه<{i}>&😀*_" for i in range(1500))  # escapes grow it, emoji count twice
    items = [(r.text("op.history.answers"), ""), (r.text("op.history.answer", label="توضیح"), typed)]
    pages = r.pages(
        items, lambda n, total: r.text("op.history.part", code="۱۲۳۴", n=n, total=total), limit=1000
    )
    assert len(pages) > 10
    parse = parse_html if platform is Platform.TELEGRAM else parse_bale_markdown
    plains = [parse(page)[0] for page in pages]  # each page is valid markup on its platform
    assert all(utf16(page) <= 1000 for page in pages)
    headings = [p.split("\n")[0] for p in plains]
    assert all(h.endswith(f"بخش {n} از {len(pages)}") for n, h in enumerate(headings, start=1))
    body = " ".join(" ".join(p.split("\n")[1:]) for p in plains)
    shown = typed if platform is Platform.TELEGRAM else bale_safe(typed)
    assert shown in " ".join(body.split())


@pytest.mark.parametrize("platform", [Platform.TELEGRAM, Platform.BALE])
def test_a_code_to_copy_is_isolated_from_outside_so_a_copy_holds_the_code_alone(platform: Platform) -> None:
    """The isolates that keep a code's groups in order wrap its tap-to-copy entity; they are not copied with it."""
    from desk.tracking import format_tracking_code

    r = Renderer(platform)
    sent = r.text("notify.from_org", code=format_tracking_code("123456789018"), title="t", org="o", text="x")
    if platform.has_html:
        plain, entities = parse_html(sent)
    else:
        plain, entities = parse_bale_markdown(sent)
    [code] = [e for e in entities if e["type"] == "code"]
    assert plain[code["offset"] : code["offset"] + code["length"]] == "۱۲۳۴-۵۶۷۸-۹۰۱۸"
    assert "(کد \u2066۱۲۳۴-۵۶۷۸-۹۰۱۸\u2069)" in plain
    assert "<code>" not in plain
