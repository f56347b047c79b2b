"""The aiogram application of Miz: one Dispatcher serving the Bale bot and the Telegram bot."""
