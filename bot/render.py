"""Turn locale texts and templates into what each messenger reads, so typed text can never break a message.

Locale texts and templates are written once, in a tiny HTML subset (``<b>``, ``<i>``, ``<code>``, ``<a href>``).
Parameters (names, addresses, anything a citizen typed) are escaped as they go in:

* Telegram receives HTML with ``parse_mode=HTML``; parameters are HTML-escaped.
* Bale has no parse_mode and reads its own Markdown, where a stray ``*``, ``_`` or backtick can make the send
  fail. Parameters have those markers replaced by look-alike characters, the template is rendered with HTML
  escaping as usual, and then the few tags become Bale markers and the entities plain characters again.

Codes, IDs and amounts arrive isolated left-to-right (``desk.persian.ltr``); where one fills a ``<code>`` (tap to
copy), the isolates are moved outside it, so a copy holds the code alone.

Messages have limits (``TEXT_LIMIT``, ``CAPTION_LIMIT``), so typed text can never make one too long either: ``fit``
cuts the longest parts of a text with a marker until it fits, and ``Renderer.pages`` spreads a long one over as
many messages as it takes. Lengths are measured by ``sent_length`` on what is sent, after escaping and markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from functools import cache, cached_property
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from bot.platforms import Platform
from desk.i18n import LOCALES_DIR, Translator, translator
from desk.persian import LRI, PDI, label_for, to_persian_digits

__all__ = [
    "CAPTION_LIMIT",
    "TEXT_LIMIT",
    "Renderer",
    "bale_safe",
    "cut",
    "fit",
    "html_to_bale",
    "sent_length",
]

TEXT_LIMIT: Final = 4096
"""Longest message text Telegram and Bale take."""
CAPTION_LIMIT: Final = 1024
"""Longest caption of a photo or document."""

# Bale Markdown markers and link brackets, replaced in typed text by characters that look alike. Each is neutral
# under the Unicode bidi rules, as the marker was: the star is U+2217, not the Arabic star U+066D, a right-to-left
# letter that would reverse the digits of a masked ID ('۰۴۹∗∗∗∗۸۹۹') or a USSD code ('∗780#') around it.
_BALE_LOOKALIKES = str.maketrans({"*": "∗", "_": "‗", "`": "ˋ", "[": "⟦", "]": "⟧", "\\": "⧵"})
_ISOLATED_CODE = re.compile(f"<code>{LRI}([^<{PDI}]*){PDI}</code>")
_TAG = re.compile(r"<(/?)(b|strong|i|em|code|pre|a)(?:\s+href=\"([^\"]*)\")?\s*>", re.IGNORECASE)


def bale_safe(text: str) -> str:
    """Typed text made inert for Bale Markdown."""
    return text.translate(_BALE_LOOKALIKES)


def html_to_bale(text: str) -> str:
    """Convert the tiny HTML subset of our texts into Bale Markdown, unescaping entities."""
    links: list[str] = []

    def tag(match: re.Match[str]) -> str:
        closing, name, href = match.group(1), match.group(2).lower(), match.group(3)
        if name in {"b", "strong"}:
            return "*"
        if name in {"i", "em"}:
            return "_"
        if name in {"code", "pre"}:
            return "`"
        if closing:
            return f"]({links.pop()})" if links else ""
        links.append(html.unescape(href or ""))
        return "["

    return html.unescape(_TAG.sub(tag, text))


def sent_length(text: str) -> int:
    """The length of ``text`` against a messenger's limit, never too low: its UTF-16 code units as sent.

    Telegram counts UTF-16 code units of the text after parsing the HTML (tags and entities count for less
    than they take here), and Bale is counted here the same way (an emoji may be two units).
    """
    return len(text.encode("utf-16-le")) // 2


def cut(text: str, cap: int | None, marker: str) -> str:
    """``text`` when it has at most ``cap`` characters (or ``cap`` is None); else its start and ``marker``."""
    if cap is None or len(text) <= cap:
        return text
    return text[: max(cap - len(marker), 0)].rstrip() + marker


def fit(draw: Callable[[int | None], str], longest: int, limit: int = TEXT_LIMIT) -> str:
    """``draw(None)`` when it fits in ``limit``, else ``draw(cap)`` for the largest ``cap`` that fits.

    ``draw(cap)`` renders a text with each of its variable parts cut to at most ``cap`` characters (``cut``), so
    the longest parts are cut first and short ones stay whole; ``longest`` is the longest part's length.
    Only a text whose fixed parts alone overflow (cap 0) can still be too long.
    """
    text = draw(None)
    if sent_length(text) <= limit:
        return text
    low, high = 0, longest
    while low < high:
        middle = (low + high + 1) // 2
        if sent_length(draw(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return draw(low)


class Renderer:
    """Renders texts and templates for one platform and one language.

    Renderers hold no per-update state; :meth:`get` shares one per platform and language, so its Jinja
    environment (and the templates compiled in it) is built once per process, not once per update.
    """

    @staticmethod
    @cache
    def get(platform: Platform, lang: str = "fa") -> Renderer:
        """The shared renderer of ``platform`` and ``lang``."""
        return Renderer(platform, lang)

    def __init__(self, platform: Platform, lang: str = "fa") -> None:
        self.platform = platform
        self.lang = lang
        self.t: Translator = translator(lang)

    def _param(self, value: Any) -> Any:
        if isinstance(value, Markup):
            return value
        if isinstance(value, str):
            return escape(value if self.platform.has_html else bale_safe(value))
        return value

    def digits(self, value: int | str) -> str:
        """Numbers as citizens read them: Persian digits in Persian, Latin digits otherwise."""
        return to_persian_digits(value) if self.lang == "fa" else str(value)

    def _finish(self, rendered: str) -> str:
        rendered = _ISOLATED_CODE.sub(
            rf"{LRI}<code>\1</code>{PDI}", str(rendered)
        )  # str: Markup would escape
        return rendered if self.platform.has_html else html_to_bale(rendered)

    def _html(self, key: str, /, **params: Any) -> Markup:
        """The locale text in the intermediate HTML form, parameters escaped."""
        template = self.t(key)
        safe = {name: self._param(value) for name, value in params.items()}
        return Markup(template.format(**safe) if safe else template)

    def text(self, key: str, /, **params: Any) -> str:
        """The locale text ``key`` with ``params`` escaped, ready to send on this platform."""
        return self._finish(self._html(key, **params))

    def plain(self, key: str, /, **params: Any) -> str:
        """A locale text for places that take no markup at all (buttons, alerts)."""
        return html.unescape(_TAG.sub("", self.t(key, **params)))

    @cached_property
    def _env(self) -> Environment:
        env = Environment(
            loader=FileSystemLoader(
                [LOCALES_DIR / self.lang / "templates", LOCALES_DIR / "fa" / "templates"]
            ),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=self._param,  # every {{ value }}, however deeply nested in the context, made inert
        )
        env.filters["digits"] = self.digits
        env.filters["labelled"] = label_for
        env.globals["t"] = self._html
        return env

    def template(self, name: str, /, **context: Any) -> str:
        """Render the Jinja2 template ``locales/<lang>/templates/<name>`` for this platform.

        Every value printed by the template passes :meth:`_param` (Jinja's ``finalize``), so typed text nested in
        lists and dicts of the context is escaped for the platform just like top-level parameters.
        """
        return self._finish(self._env.get_template(name).render(**context)).strip()

    def typed(self, text: str) -> str:
        """Typed text alone, escaped and ready to send on this platform."""
        return self._finish(str(self._param(text)))

    def pages(
        self,
        items: Iterable[tuple[str, str]],
        heading: Callable[[int, int], str],
        limit: int = TEXT_LIMIT,
    ) -> list[str]:
        """Lines spread over as many messages as it takes, each within ``limit``, in order.

        Each item is a line ready to send (from :meth:`text`) and typed text to follow it on the same line
        (may be empty), escaped here and split between messages where it must, at a space when there is one.
        ``heading(n, total)`` (ready to send) starts message ``n`` of ``total``.
        """
        room = limit - sent_length(heading(99_999, 99_999)) - 1
        pieces: list[str] = []
        for line, typed in items:
            beside = room - sent_length(line) - 1
            if beside < room // 4:  # little room left beside the line: the text starts below it
                pieces += [line, *self._chunks(typed, room, room)]
                continue
            first, *rest = self._chunks(typed, beside, room) or [""]
            pieces += [f"{line} {first}".rstrip(), *rest]
        pages: list[str] = []
        for piece in pieces:
            if pages and sent_length(pages[-1]) + 1 + sent_length(piece) <= room:
                pages[-1] = f"{pages[-1]}\n{piece}"
            else:
                pages.append(piece)
        return [f"{heading(n, len(pages))}\n{page}" for n, page in enumerate(pages, start=1)]

    def _chunks(self, text: str, first: int, room: int) -> list[str]:
        """``text`` escaped, in pieces within ``first`` (the first piece) and ``room`` (the others) units."""
        chunks: list[str] = []
        text = text.strip()
        while text:
            space = room if chunks else first
            if sent_length(self.typed(text)) <= space:
                chunks.append(self.typed(text))
                break
            low, high = 1, len(text)  # the longest start of text that fits
            while low < high:
                middle = (low + high + 1) // 2
                if sent_length(self.typed(text[:middle])) <= space:
                    low = middle
                else:
                    high = middle - 1
            end = max(text.rfind(" ", 0, low + 1), text.rfind("\n", 0, low + 1))
            end = end if end > low // 2 else low
            chunks.append(self.typed(text[:end].rstrip()))
            text = text[end:].strip()
        return chunks
