"""Webhook delivery: POST each pending update, in order, to the bot's URL until it answers 2xx.

Telegram sends the ``X-Telegram-Bot-Api-Secret-Token`` header when a secret was set; Bale takes only a URL
and sends no such header. The bot option ``webhook_deliveries`` posts each update that many times, as a messenger
does when it did not get an answer in time; ``webhook_connections`` delivers that many updates at once, on as many
connections, as Telegram does up to a webhook's ``max_connections`` (updates may then overtake each other). A failed
delivery is retried with growing pauses and reported by getWebhookInfo.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:
    from emulator.state import BotAccount, EmulatorState, Webhook

__all__ = ["SECRET_HEADER", "deliver"]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_FIRST_RETRY = 0.2
_LAST_RETRY = 5.0


async def deliver(state: EmulatorState, bot: BotAccount, hook: Webhook) -> None:
    """Run until the webhook is deleted or replaced (the task is cancelled): ``webhook_connections`` lanes (one by
    default: one update at a time, in order), each posting the oldest pending update no other lane holds."""
    headers = {SECRET_HEADER: hook.secret_token} if hook.secret_token else {}
    lanes = max(1, int(bot.options.get("webhook_connections") or 1))
    taken: set[int] = set()
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(_lane(bot, hook, session, headers, taken) for _ in range(lanes)))


async def _lane(
    bot: BotAccount, hook: Webhook, session: aiohttp.ClientSession, headers: dict[str, str], taken: set[int]
) -> None:
    pause = _FIRST_RETRY
    while bot.webhook is hook:
        item = next(((uid, update) for uid, update in bot.updates if uid not in taken), None)
        if item is None:
            await bot.updates_signal.wait(30)
            continue
        update_id, update = item
        taken.add(update_id)
        error: str | None = None
        try:
            for _ in range(max(1, int(bot.options.get("webhook_deliveries") or 1))):
                error = await _post(session, hook.url, update, headers)
                if error is not None:
                    break
        finally:
            taken.discard(update_id)
        if error is None:
            with contextlib.suppress(ValueError):
                bot.updates.remove(item)
            pause = _FIRST_RETRY
            continue
        hook.last_error_date = int(time.time())
        hook.last_error_message = error
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LAST_RETRY)


async def _post(session: aiohttp.ClientSession, url: str, update: Any, headers: dict[str, str]) -> str | None:
    """Post one update; None when the webhook answered 2xx, else what went wrong (as getWebhookInfo says it)."""
    try:
        async with session.post(url, json=update, headers=headers) as response:
            await response.read()
            if not 200 <= response.status < 300:
                return f"Wrong response from the webhook: {response.status} {response.reason}"
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return (
            "Connection refused"
            if isinstance(exc, aiohttp.ClientConnectorError)
            else str(exc) or type(exc).__name__
        )
    return None
