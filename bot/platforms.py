"""The two messengers Miz serves: the bot's name for :class:`desk.platforms.Platform` and its table."""

from __future__ import annotations

from desk.platforms import GROUP_CHAT_TYPES, Platform

__all__ = ["GROUP_CHAT_TYPES", "Platform"]
