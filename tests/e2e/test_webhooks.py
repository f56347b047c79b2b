"""``miz serve`` (issue #18): the same Miz receiving both bots' updates by webhook through the emulator.

The emulator posts each update to the address Miz set with ``setWebhook`` (its secret path, and on Telegram the
secret header), as the messengers do. A delivery that is not the messenger's is refused before the Dispatcher; an
update delivered twice is answered once; stopping the last worker removes the webhooks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import BotSpec
from bot.platforms import Platform
from bot.serve import SECRET_HEADER, webhook_address, webhook_secrets

from .conftest import TOKENS, World, running_world, start_miz  # type: ignore[import-not-found]
from .test_desk import file_request  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow


@pytest.fixture
async def served(tmp_path: Path, catalog_dir: Path) -> AsyncIterator[World]:
    """The end-to-end world with Miz as ``miz serve`` instead of polling."""
    async with running_world(tmp_path, catalog_dir, webhooks=True) as world:
        yield world


def _spec(world: World, platform: Platform) -> BotSpec:
    return next(spec for spec in world.miz.specs if spec.platform is platform)


async def _webhook(world: World, platform: Platform) -> dict[str, Any]:
    """What the emulator knows of the bot's webhook (its address, last delivery error)."""
    result = await world.client.request("GET", f"/sim/bots/{TOKENS[platform]}/updates")
    hook: dict[str, Any] | None = result["webhook"]
    assert hook is not None, "no webhook set"
    return hook


async def _post(url: str, body: Any, headers: dict[str, str] | None = None) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=headers or {}) as response,
    ):
        return response.status


async def test_a_citizen_files_a_request_and_a_clerk_takes_it_by_webhook(
    served: World, platform: Platform
) -> None:
    clerk = await served.clerk(platform)
    zahra, _code = await file_request(served, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.press("🙋 برمی‌دارم", message=card)  # a callback query (Bale's has no chat_instance)
    await zahra.expect("بررسی درخواست شما را آغاز کرد")
    async with aiohttp.ClientSession() as http:  # the same port answers the monitors
        base = f"http://127.0.0.1:{served.webhook_port}"
        async with http.get(f"{base}/readyz") as ready:
            assert ready.status == 200, await ready.text()
        async with http.get(f"{base}/metrics") as response:
            metrics = await response.text()
    assert 'miz_requests_open{organization="falavarjan"} 1.0' in metrics
    assert f'miz_updates_total{{kind="callback_query",platform="{platform.value}"}}' in metrics
    assert 'miz_requests_filed_total{organization="falavarjan"}' in metrics
    assert f'miz_update_seconds_bucket{{le="10.0",platform="{platform.value}"}}' in metrics
    hook = await _webhook(served, platform)
    assert hook["url"] == webhook_address(f"http://127.0.0.1:{served.webhook_port}", _spec(served, platform))
    assert TOKENS[platform] not in hook["url"], "the token is never in the address"
    assert hook["last_error_message"] is None


async def test_deliveries_that_are_not_the_messengers_never_reach_the_bot(
    served: World, platform: Platform
) -> None:
    zahra = await served.citizen(platform)
    await zahra.send("/start")
    await zahra.expect()
    spec = _spec(served, platform)
    right = webhook_address(f"http://127.0.0.1:{served.webhook_port}", spec)
    secrets = webhook_secrets(spec)
    forged = {
        "update_id": 987_654,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": zahra.user_id, "type": "private", "first_name": "x"},
            "from": {"id": zahra.user_id, "is_bot": False, "first_name": "x"},
            "text": "/help",
        },
    }
    header = {SECRET_HEADER: secrets.header} if secrets.header else {}
    wrong_path = right.rsplit("/", 1)[0] + "/" + "0" * len(secrets.path)
    assert await _post(wrong_path, forged, header) == 404
    other = Platform.BALE if platform is Platform.TELEGRAM else Platform.TELEGRAM
    assert await _post(right.replace(f"/{platform.value}/", f"/{other.value}/"), forged, header) == 404
    if secrets.header is not None:  # Telegram sends its secret header; Bale has none
        assert await _post(right, forged) == 401
        assert await _post(right, forged, {SECRET_HEADER: "0" * len(secrets.header)}) == 401
    assert await _post(right, ["not", "an", "update"], header) == 400

    await zahra.send("/help")  # the bot still answers the real messenger, and nothing forged was answered
    await zahra.expect()
    answers = [m for m in await zahra.transcript() if m.get("outgoing")]
    assert len(answers) == 2, [m.get("text") for m in answers]


async def test_an_update_delivered_three_times_is_answered_once(served: World, platform: Platform) -> None:
    await served.client.configure_bot(TOKENS[platform], webhook_deliveries=3)
    zahra = await served.citizen(platform)
    await zahra.send("/help")
    await zahra.expect()
    await zahra.send("/start")  # delivered after the three copies of /help: by now those are all handled
    await zahra.expect()
    answers = [m for m in await zahra.transcript() if m.get("outgoing")]
    assert len(answers) == 2, [m.get("text") for m in answers]


async def test_stopping_the_last_worker_removes_the_webhook_and_a_new_one_serves(
    served: World, platform: Platform
) -> None:
    await served.stop()
    result = await served.client.request("GET", f"/sim/bots/{TOKENS[platform]}/updates")
    assert result["webhook"] is None
    zahra = await served.citizen(platform)
    await zahra.send("/start")  # kept by the messenger while no worker listens
    served.miz, served.task = await start_miz(served.settings, served.emu, served.webhook_port)
    await zahra.expect(timeout=15)
