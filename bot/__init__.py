"""The aiogram application of Miz: one Dispatcher serving the Bale bot and the Telegram bot."""

from bot.aiogram_import import import_aiogram

import_aiogram()
