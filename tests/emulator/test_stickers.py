"""A citizen sends a sticker: the Sticker object each platform delivers, its file, and bad stickers refused."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import ClientDecodeError

from emulator import EmulatorClient, RunningEmulator
from emulator.client import EmulatorError
from emulator.files import image_size, plain_webp
from tests.emulator.conftest import BALE_TOKEN, TG_TOKEN, TOKENS
from tests.emulator.test_methods_aiogram import png


async def pending_message(client: EmulatorClient, token: str) -> dict[str, Any]:
    """The Message of the newest update the bot has not fetched yet, exactly as getUpdates returns it."""
    pending = (await client.request("GET", f"/sim/bots/{token}/updates"))["pending"]
    message: dict[str, Any] = pending[-1]["message"]
    return message


async def test_a_telegram_sticker_carries_the_full_sticker_object(client: EmulatorClient, tg: Bot) -> None:
    zahra = await client.citizen(TG_TOKEN)
    sent = await zahra.send_sticker("😀")
    sticker = (await pending_message(client, TG_TOKEN))["sticker"]
    assert sticker.keys() == {
        "file_id",
        "file_unique_id",
        "type",
        "width",
        "height",
        "is_animated",
        "is_video",
        "emoji",
        "file_size",
    }
    assert sticker["file_id"].startswith("CAAC")
    assert (sticker["type"], sticker["width"], sticker["height"]) == ("regular", 512, 512)
    assert (sticker["is_animated"], sticker["is_video"], sticker["emoji"]) == (False, False, "😀")
    assert sent["sticker"] == sticker, "the control API's view shows the sticker too"

    message = (await tg.get_updates())[-1].message
    assert message is not None
    assert message.sticker is not None
    assert message.sticker.emoji == "😀"
    assert message.text is None
    assert message.document is None


async def test_a_bale_sticker_has_only_the_fields_bale_documents(client: EmulatorClient) -> None:
    zahra = await client.citizen(BALE_TOKEN)
    await zahra.send_sticker("😀")
    sticker = (await pending_message(client, BALE_TOKEN))["sticker"]
    assert sticker.keys() == {"file_id", "file_unique_id", "type", "width", "height", "file_size"}
    assert (sticker["type"], sticker["width"], sticker["height"]) == ("regular", 512, 512)


async def test_stock_aiogram_cannot_parse_a_bale_sticker(client: EmulatorClient, bale: Bot) -> None:
    """Why Miz's Bale session repairs stickers: aiogram requires is_animated and is_video, Bale omits them."""
    zahra = await client.citizen(BALE_TOKEN)
    await zahra.send_sticker()
    with pytest.raises(ClientDecodeError):
        await bale.get_updates()


async def test_the_sticker_file_downloads_as_a_webp_image(
    client: EmulatorClient, bot: Bot, dialect: str
) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    await zahra.send_sticker()
    sticker = (await pending_message(client, TOKENS[dialect]))["sticker"]
    file = await bot.get_file(sticker["file_id"])
    assert file.file_path is not None
    assert file.file_path.endswith(".webp")
    data = await bot.download_file(file.file_path)
    assert data is not None
    content = data.read()
    assert content[:4] == b"RIFF"
    assert content[8:12] == b"WEBP"
    assert image_size(content) == (512, 512)
    assert file.file_size == sticker["file_size"] == len(content)


async def test_a_sticker_of_given_webp_bytes_keeps_their_size(client: EmulatorClient, dialect: str) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    sent = await zahra.send_sticker("🌷", file=plain_webp(512, 320))
    assert (sent["sticker"]["width"], sent["sticker"]["height"]) == (512, 320)


async def test_a_sticker_that_is_no_webp_image_is_refused(client: EmulatorClient, dialect: str) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    with pytest.raises(EmulatorError, match="WebP") as caught:
        await zahra.send_sticker(file=png())
    assert caught.value.status == 400
    path = f"/sim/bots/{TOKENS[dialect]}/chats/{zahra.user_id}/messages"
    with pytest.raises(EmulatorError, match="sticker must be"):
        await client.request("POST", path, json={"user_id": zahra.user_id, "sticker": "smile"})
    assert await zahra.transcript() == [], "nothing was sent"


async def test_the_web_page_gets_what_it_needs_to_draw_a_sticker(
    emu: RunningEmulator, client: EmulatorClient, dialect: str
) -> None:
    """Regression: the chat page showed a sticker as an empty bubble. It draws the image from the chat's changes."""
    token = TOKENS[dialect]
    zahra = await client.citizen(token)
    await zahra.send_sticker("🌷", file=plain_webp(512, 320))
    changes = await client.request(
        "GET", f"/sim/bots/{token}/chats/{zahra.user_id}/changes", params={"since": 0}
    )
    (message,) = changes["messages"]
    sticker = message["sticker"]
    assert (sticker["width"], sticker["height"]) == (512, 320)
    assert sticker.get("emoji") == ("🌷" if dialect == "telegram" else None), "Bale's Sticker has no emoji"
    assert "text" not in message

    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{emu.base_url}/sim/bots/{token}/files/{sticker['file_id']}") as response,
    ):
        assert response.status == 200
        assert response.content_type == "image/webp", "the <img> the page makes can show it"
        assert image_size(await response.read()) == (512, 320)
