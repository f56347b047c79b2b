"""Webhook delivery: POST each pending update, in order, to the bot's URL until it answers 2xx.

Telegram sends the ``X-Telegram-Bot-Api-Secret-Token`` header when a secret was set; Bale takes only a URL
and sends no such header. The bot option ``webhook_deliveries`` posts each update that many times, as a messenger
does when it did not get an answer in time. A failed delivery is retried with growing pauses and reported by getWebhookInfo.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import aiohttp

if TYPE_CHECKING:
    from emulator.state import BotAccount, EmulatorState, Webhook

__all__ = ["SECRET_HEADER", "deliver"]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_FIRST_RETRY = 0.2
_LAST_RETRY = 5.0


async def deliver(state: EmulatorState, bot: BotAccount, hook: Webhook) -> None:
    """Run until the webhook is deleted or replaced (the task is cancelled)."""
    headers = {SECRET_HEADER: hook.secret_token} if hook.secret_token else {}
    pause = _FIRST_RETRY
    delivered = 0  # deliveries of the first pending update so far (``webhook_deliveries`` repeats it)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while bot.webhook is hook:
            if not bot.updates:
                await bot.updates_signal.wait(30)
                continue
            update_id, update = bot.updates[0]
            error: str | None = None
            try:
                async with session.post(hook.url, json=update, headers=headers) as response:
                    await response.read()
                    if not 200 <= response.status < 300:
                        error = f"Wrong response from the webhook: {response.status} {response.reason}"
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = (
                    "Connection refused"
                    if isinstance(exc, aiohttp.ClientConnectorError)
                    else str(exc) or type(exc).__name__
                )
            if error is None:
                delivered += 1
                if delivered >= int(bot.options.get("webhook_deliveries") or 1):
                    if bot.updates and bot.updates[0][0] == update_id:
                        bot.updates.popleft()
                    delivered = 0
                pause = _FIRST_RETRY
                continue
            hook.last_error_date = int(time.time())
            hook.last_error_message = error
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LAST_RETRY)
