"""Turn locale texts and templates into what each messenger reads, so typed text can never break a message.

Locale texts and templates are written once, in a tiny HTML subset (``<b>``, ``<i>``, ``<code>``, ``<a href>``).
Parameters (names, addresses, anything a citizen typed) are escaped as they go in:

* Telegram receives HTML with ``parse_mode=HTML``; parameters are HTML-escaped.
* Bale has no parse_mode and reads its own Markdown, where a stray ``*``, ``_`` or backtick can make the send
  fail. Parameters have those markers replaced by look-alike characters, the template is rendered with HTML
  escaping as usual, and then the few tags become Bale markers and the entities plain characters again.
"""

from __future__ import annotations

import html
import re
from functools import cache, cached_property
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from bot.platforms import Platform
from desk.i18n import LOCALES_DIR, Translator, translator
from desk.persian import to_persian_digits

__all__ = ["Renderer", "bale_safe", "html_to_bale"]

# Bale Markdown markers and link brackets, replaced in typed text by characters that look alike.
_BALE_LOOKALIKES = str.maketrans({"*": "٭", "_": "‗", "`": "ˋ", "[": "⟦", "]": "⟧", "\\": "⧵"})
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
        env.globals["t"] = self._html
        return env

    def template(self, name: str, /, **context: Any) -> str:
        """Render the Jinja2 template ``locales/<lang>/templates/<name>`` for this platform.

        Every value printed by the template passes :meth:`_param` (Jinja's ``finalize``), so typed text nested in
        lists and dicts of the context is escaped for the platform just like top-level parameters.
        """
        return self._finish(self._env.get_template(name).render(**context)).strip()
