"""The two text parsers: Telegram HTML and Bale Markdown."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.dialects import parse_bale_markdown, parse_html, utf16_len
from emulator.errors import ApiError


@given(st.text())
def test_escaped_html_always_parses_back_to_the_text(text: str) -> None:
    plain, entities = parse_html(html.escape(text, quote=False))
    assert plain == text
    assert entities == []


@given(st.text().filter(lambda t: not set(t) & set("*_`[")))
def test_bale_text_without_markers_parses_back_to_itself_backslashes_included(text: str) -> None:
    plain, entities = parse_bale_markdown(text)
    assert plain == text
    assert entities == []


def test_a_backslash_does_not_escape_a_bale_marker() -> None:
    # No source says Bale honours backslash escapes, so a bot must not rely on them: "\*" is a stray "*".
    assert parse_bale_markdown("C:\\files\\name")[0] == "C:\\files\\name"
    with pytest.raises(ApiError):
        parse_bale_markdown("2 \\* 3")


@given(st.text(alphabet="ab*_ "))
def test_bale_markdown_either_parses_or_refuses_with_a_400(text: str) -> None:
    failure: ApiError | None = None
    plain = ""
    try:
        plain, _ = parse_bale_markdown(text)
    except ApiError as error:
        failure = error
    if failure is None:
        assert set(plain) <= set("ab ")  # every marker was consumed as formatting
    else:
        assert failure.code == 400
        assert failure.description.startswith("Bad Request: can't parse entities: Can't find end of ")


def test_entity_offsets_count_utf16_units() -> None:
    plain, entities = parse_html("😀 <b>کد</b>")
    assert plain == "😀 کد"
    assert entities == [{"type": "bold", "offset": 3, "length": 2}]
    assert utf16_len("😀") == 2


def test_nested_html_and_code_block() -> None:
    plain, entities = parse_html('<b>a <i>b</i></b><pre><code class="language-py">x</code></pre>')
    assert plain == "a bx"
    assert [e["type"] for e in entities] == ["bold", "italic", "pre"]
    assert entities[-1]["language"] == "py"


def test_markers_inside_bale_code_are_literal() -> None:
    plain, entities = parse_bale_markdown("`a*b_c`")
    assert plain == "a*b_c"
    assert entities == [{"type": "code", "offset": 0, "length": 5}]


@pytest.mark.parametrize("text", ["</b>", "<b", "x</b>"])
def test_broken_html_is_refused(text: str) -> None:
    with pytest.raises(ApiError):
        parse_html(text)
