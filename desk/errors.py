"""Miz's domain exceptions: each carries a locale message id, so the error router can answer in Persian.

A ``MizError`` never holds a user-facing sentence, only ``key`` (a ``msgid`` in ``locales/``) and the
``params`` its text needs. The bot's error router catches ``MizError`` and shows ``error.render(lang)``;
anything else is a bug and gets the generic apology. Params never hold what a citizen typed, so an
error that reaches a log cannot leak a national ID or a phone number.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol, runtime_checkable

__all__ = ["Labelled", "MizError", "NotFound", "Shown", "Throttled", "TransitionError", "ValidationError"]


@runtime_checkable
class Labelled(Protocol):
    """A value shown to people through its own message id (a request status, an actor), never raw."""

    @property
    def label_key(self) -> str: ...


@runtime_checkable
class Shown(Protocol):
    """A value with its own form in each language (a date as typed: ۱۴۰۵/۰۹/۱۴), shown through ``shown``."""

    def shown(self, lang: str) -> str: ...


class MizError(Exception):
    """Base of the domain's errors: ``key`` is the locale msgid of the message, ``params`` fill it in."""

    def __init__(self, key: str, /, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params: dict[str, Any] = params

    def render(self, lang: str = "fa") -> str:
        """The message in ``lang``: labelled params translated, shown ones in their form, integers in its digits,
        dates as Jalali dates."""
        from desk.i18n import translator
        from desk.persian import format_jalali_date, format_number

        translate = translator(lang)
        shown: dict[str, Any] = {}
        for name, value in self.params.items():
            if isinstance(value, Labelled):
                shown[name] = translate(value.label_key)
            elif isinstance(value, Shown):
                shown[name] = value.shown(lang)
            elif isinstance(value, int) and not isinstance(value, bool):
                shown[name] = format_number(value, lang)
            elif isinstance(value, date):
                shown[name] = format_jalali_date(value, lang)
            else:
                shown[name] = value
        return translate(self.key, **shown)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r}, **{self.params!r})"


class ValidationError(MizError):
    """What a person typed is not acceptable; the message says what is wrong and shows the expected form."""


class TransitionError(MizError):
    """A request cannot move to the asked status, by this actor, or without a reason."""


class NotFound(MizError):  # noqa: N818  # the name reads as the situation, like Throttled
    """The asked thing (a request, a service, an organization) does not exist or is not visible to the asker."""


class Throttled(MizError):  # noqa: N818
    """The asker has done this too often; ``params`` may say when to try again."""
