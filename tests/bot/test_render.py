"""Texts reach each messenger in the form it reads, and nothing a citizen types can change that form."""

from __future__ import annotations

import pytest

from bot.platforms import Platform
from bot.render import Renderer, bale_safe, html_to_bale
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
