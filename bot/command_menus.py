"""The command menus a messenger shows next to the text box: the citizen's commands in private chats, the
clerks' in groups, each in Persian and English.

Where the platform has them (``commands_menu`` in ``desk.platforms``: Telegram), they are set once each bot's
Bot API answers at start, for each scope and language, and the default list (no language) in Miz's default
language. Bale has no ``setMyCommands``: nothing is called there, and the main menu's reply keyboard, shown with
every answer, is its menu. A refused call is logged and changes nothing else: the commands work without a menu.
"""

from __future__ import annotations

import logging
from typing import Final

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats

from bot.platforms import Platform
from desk.i18n import LANGUAGES, translator

__all__ = ["CITIZEN_MENU", "GROUP_MENU", "publish_command_menus"]

logger = logging.getLogger(__name__)

CITIZEN_MENU: Final = ("start", "track", "verify", "sms", "help", "cancel")
"""The citizen's commands (``bot.handlers.commands``), in the menu's order; each described by
``bot.command.<name>``."""
GROUP_MENU: Final = ("mine", "overdue", "open", "inquiries", "find", "report", "clerks", "help", "cancel")
"""The commands of an operator group (``bot.handlers.operator``) a tap can send as they are, described by
``operator.command.<name>`` (``/note`` is a reply to a card, ``/addclerk`` needs whom; ``/report`` is
``bot.handlers.reports``)."""


def _menu(names: tuple[str, ...], prefix: str, lang: str) -> list[BotCommand]:
    t = translator(lang)
    return [BotCommand(command=name, description=t(f"{prefix}.{name}")) for name in names]


async def publish_command_menus(bot: Bot, platform: Platform, default_lang: str) -> bool:
    """Set ``bot``'s command menus where ``platform`` has them; answers whether it did."""
    if not platform.spec.commands_menu:
        return False
    menus = (
        (BotCommandScopeAllPrivateChats(), CITIZEN_MENU, "bot.command"),
        (BotCommandScopeAllGroupChats(), GROUP_MENU, "operator.command"),
    )
    try:
        for scope, names, prefix in menus:
            await bot.set_my_commands(_menu(names, prefix, default_lang), scope=scope)
            for lang in LANGUAGES:
                await bot.set_my_commands(_menu(names, prefix, lang), scope=scope, language_code=lang)
    except TelegramAPIError as error:
        logger.warning(
            "%s: the command menus were not set (%s: %s)", platform.value, type(error).__name__, error
        )
        return False
    return True
