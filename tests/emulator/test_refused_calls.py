"""The emulator keeps the bot's calls it refused, so a test can assert that no send was lost to a broken markup."""

from __future__ import annotations

import aiohttp

from emulator import EmulatorClient, RunningEmulator
from tests.emulator.conftest import BALE_TOKEN, TG_TOKEN


async def _send(emu: RunningEmulator, token: str, **body: object) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emu.base_url}/bot{token}/sendMessage", json=body) as response,
    ):
        return response.status


async def test_refused_sends_are_recorded_per_bot_and_faults_are_not(
    emu: RunningEmulator, client: EmulatorClient
) -> None:
    telegram = await client.citizen(TG_TOKEN)
    await telegram.send("hi")
    bale = await client.citizen(BALE_TOKEN)
    await bale.send("hi")
    assert await _send(emu, TG_TOKEN, chat_id=telegram.user_id, text="<b>ok</b>", parse_mode="HTML") == 200
    assert await _send(emu, TG_TOKEN, chat_id=telegram.user_id, text="<b>broken", parse_mode="HTML") == 400
    assert await _send(emu, BALE_TOKEN, chat_id=bale.user_id, text="*broken") == 400
    await client.inject_fault(TG_TOKEN, "500", method="sendMessage")
    assert await _send(emu, TG_TOKEN, chat_id=telegram.user_id, text="x") == 500

    refused = await client.refused(TG_TOKEN)
    assert len(refused) == 1, "the scheduled fault is not a refusal"
    assert refused[0]["method"] == "sendmessage"
    assert refused[0]["error_code"] == 400
    assert "can't parse entities" in refused[0]["description"]
    [bale_refused] = await client.refused(BALE_TOKEN)
    assert "can't parse entities" in bale_refused["description"]

    await client.reset()
    assert await client.refused(TG_TOKEN) == []
