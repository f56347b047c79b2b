"""The two messengers Miz serves, and what differs between them."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Platform"]


class Platform(StrEnum):
    """Where an update came from; every stored chat or user id is kept together with it."""

    TELEGRAM = "telegram"
    BALE = "bale"

    @property
    def has_html(self) -> bool:
        """Telegram reads HTML with parse_mode; Bale has no parse_mode and reads its own Markdown."""
        return self is Platform.TELEGRAM

    @property
    def group_chat_type(self) -> str:
        """Groups are ``supergroup`` on Telegram and plain ``group`` on Bale."""
        return "supergroup" if self is Platform.TELEGRAM else "group"
