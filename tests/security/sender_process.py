"""A chat sender alone in its own process, for tests that kill it hard.

``python -m tests.security.sender_process DATABASE_URL API_BASE TOKEN`` imports what it needs, prints ``ready``,
waits for a line on its standard input (so a test can have the next sender ready the moment it kills one:
importing aiogram takes seconds), then delivers the outbox's Bale rows through the Bot API at ``API_BASE``
until it is killed.
"""

from __future__ import annotations

import asyncio
import sys

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.outbox import OutboxSender
from storage.db import create_engine, session_factory


async def main(database_url: str, api_base: str, token: str) -> None:
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
    sender = OutboxSender(session_factory(create_engine(database_url)), {"bale": bot}, poll_interval=0.1)
    await sender.run()


if __name__ == "__main__":
    print("ready", flush=True)
    sys.stdin.readline()
    asyncio.run(main(*sys.argv[1:4]))
