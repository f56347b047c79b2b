"""Miz's own words in a request's history, shown in each reader's language.

A clerk's note is stored as they wrote it (``RequestEvent.text``); what Miz itself records (documents removed after
the retention period) is stored as a ``notice``: a message id of ``locales/*/desk.po`` and its parameters, so a
Persian citizen, an English one and the clerks each read it in their own language, numbers in their digits.
"""

from __future__ import annotations

from typing import Any

from desk.i18n import translator
from desk.persian import format_number

__all__ = ["make_notice", "notice_text"]


def make_notice(key: str, /, **params: int | str) -> dict[str, Any]:
    """The JSON a ``RequestEvent.notice`` holds: the message id and its parameters."""
    return {"key": key, **params}


def notice_text(notice: dict[str, Any], lang: str) -> str:
    """The notice in ``lang``; integers grouped and in the language's digits."""
    params = {
        name: format_number(value, lang) if isinstance(value, int) and not isinstance(value, bool) else value
        for name, value in notice.items()
        if name != "key"
    }
    return translator(lang)(str(notice.get("key", "")), **params)
