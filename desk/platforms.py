"""The messengers Miz serves and what each one can do: one row of :data:`SPECS` per platform.

Code that behaves differently on one messenger reads the platform's row (``platform.spec``) instead of
comparing names, so a third messenger means a member of :class:`Platform` with its row here, its session quirks
(``bot/session.py``), its emulator dialect, and its ``MIZ_<ID>_TOKEN`` and ``MIZ_<ID>_API_BASE`` settings.
It needs neither aiogram nor the database, so the catalog, the domain, the store and the bot can all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "GROUP_CHAT_TYPES",
    "PLATFORM_IDS",
    "SPECS",
    "Limits",
    "Markup",
    "Platform",
    "PlatformSpec",
]


class Platform(StrEnum):
    """Where an update came from; every stored chat or user id is kept together with it."""

    TELEGRAM = "telegram"
    BALE = "bale"

    @property
    def spec(self) -> PlatformSpec:
        """What this platform can do (its row of :data:`SPECS`)."""
        return SPECS[self]

    @property
    def has_html(self) -> bool:
        """Whether texts go as HTML with ``parse_mode``; otherwise as Bale Markdown with none."""
        return self.spec.markup is Markup.HTML


class Markup(StrEnum):
    """How a platform reads the formatting of a text."""

    HTML = "html"
    """``parse_mode=HTML`` (Telegram)."""
    BALE_MARKDOWN = "bale_markdown"
    """No ``parse_mode``: every text is read as Bale's Markdown, so typed text must be made inert."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The send limits of one platform; a rate of None means "no limit of this kind" (see ``bot.ratelimit``)."""

    bot_rate: float | None
    """Messages per second for the whole bot."""
    bot_burst: int
    chat_rate: float | None
    """Messages per second in one private chat."""
    chat_burst: int
    group_rate: float | None
    """Messages per second in one group (negative chat id)."""
    group_burst: int
    pause_bot_on_429: bool
    """After a 429 pause the whole bot (True) or only the chat that got it (False)."""


@dataclass(frozen=True, slots=True)
class PlatformSpec:
    """One platform's row: every way Miz's behaviour depends on the messenger."""

    platform: Platform
    markup: Markup
    group_chat_types: frozenset[str]
    """The ``chat.type`` values of its groups (an operator group is one of these)."""
    limits: Limits
    """The outbox's send limits (``bot.ratelimit``)."""
    invoices: bool
    """In-chat invoices paid in the messenger's wallet (``sendInvoice`` with the wallet's provider token, and
    ``inquireTransaction`` to reconcile): citizens there are offered them when the bot has a provider token."""
    polls: bool
    """``sendPoll`` and ``stopPoll``."""
    commands_menu: bool
    """``setMyCommands``, ``getMyCommands`` and ``deleteMyCommands``."""
    edit_media: bool
    """``editMessageMedia``."""
    forum_topics: bool
    """``createForumTopic`` and the other topic methods."""
    inline_queries: bool
    """``answerInlineQuery``."""
    webhook_secret_token: bool
    """``setWebhook`` takes a ``secret_token`` that comes back in every delivery's
    ``X-Telegram-Bot-Api-Secret-Token`` header; without it only the webhook's secret path tells a delivery from a
    forgery (``bot.serve``)."""
    start_link: str
    """The link that opens a bot with a ``start`` payload (``desk.deeplinks``), with ``{bot}`` and ``{payload}``."""


SPECS: Final[dict[Platform, PlatformSpec]] = {
    Platform.TELEGRAM: PlatformSpec(
        platform=Platform.TELEGRAM,
        markup=Markup.HTML,
        group_chat_types=frozenset({"group", "supergroup"}),
        # Its flood limits, with a margin (see bot.ratelimit).
        limits=Limits(
            bot_rate=28.0,  # documented: about 30/s
            bot_burst=1,  # 1 + 28 = 29 in any second
            chat_rate=1.0,  # documented: about 1/s, short bursts pass
            chat_burst=2,
            group_rate=16 / 60,  # documented: 20/min; 3 + 16 = 19 in any minute
            group_burst=3,
            pause_bot_on_429=False,
        ),
        invoices=False,
        polls=True,
        commands_menu=True,
        edit_media=True,
        forum_topics=True,
        inline_queries=True,
        webhook_secret_token=True,
        start_link="https://t.me/{bot}?start={payload}",
    ),
    Platform.BALE: PlatformSpec(
        platform=Platform.BALE,
        markup=Markup.BALE_MARKDOWN,
        group_chat_types=frozenset({"group"}),
        # Bale documents no limit: send freely, and pause the whole bot for ``retry_after`` after a 429.
        limits=Limits(
            bot_rate=None,
            bot_burst=1,
            chat_rate=None,
            chat_burst=1,
            group_rate=None,
            group_burst=1,
            pause_bot_on_429=True,
        ),
        invoices=True,
        polls=False,
        commands_menu=False,
        edit_media=False,
        forum_topics=False,
        inline_queries=False,
        webhook_secret_token=False,  # Bale's setWebhook documents only ``url``
        start_link="https://ble.ir/{bot}?start={payload}",
    ),
}
"""Every platform's row, in the order of :class:`Platform`."""

PLATFORM_IDS: Final = frozenset(platform.value for platform in Platform)
"""The platform names stored with every chat and user id (``"telegram"``, ``"bale"``)."""

GROUP_CHAT_TYPES: Final = frozenset(kind for spec in SPECS.values() for kind in spec.group_chat_types)
"""Every ``chat.type`` that is a group on some platform."""
