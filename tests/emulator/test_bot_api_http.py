"""The Bot API over raw HTTP: addressing, body encodings, error shapes and the dialects' differences."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from emulator import EmulatorClient, RunningEmulator
from tests.emulator.conftest import BALE_TOKEN, TG_TOKEN, TOKENS


async def call(
    emu: RunningEmulator, token: str, method: str, http: str = "POST", **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(http, f"{emu.base_url}/bot{token}/{method}", **kwargs) as response,
    ):
        return response.status, await response.json()


async def test_unknown_token_is_401_exactly_as_the_real_api(emu: RunningEmulator) -> None:
    status, body = await call(emu, "999:nope", "getMe")
    assert status == 401
    assert body == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_unknown_method_is_404_not_found(emu: RunningEmulator) -> None:
    status, body = await call(emu, TG_TOKEN, "sendTelepathy")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})


async def test_unknown_path_is_404_json(emu: RunningEmulator) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{emu.base_url}/nothing/here") as response:
        assert response.status == 404
        assert (await response.json())["description"] == "Not Found"


@pytest.mark.parametrize("name", ["getMe", "getme", "GETME"])
async def test_method_names_are_case_insensitive(emu: RunningEmulator, name: str) -> None:
    status, body = await call(emu, TG_TOKEN, name, http="GET")
    assert status == 200
    assert body["result"]["username"] == "miz_test_bot"


async def test_get_me_shapes_per_dialect(emu: RunningEmulator) -> None:
    _, telegram = await call(emu, TG_TOKEN, "getMe")
    _, bale = await call(emu, BALE_TOKEN, "getMe")
    assert telegram["result"]["is_bot"] is True
    assert telegram["result"]["can_read_all_group_messages"] is False
    assert telegram["result"]["id"] == 123456  # the token's prefix is the bot's id
    assert "can_join_groups" not in bale["result"]
    assert bale["result"]["username"] == "miz_test_bale_bot"


@pytest.mark.parametrize("encoding", ["query", "form", "json", "multipart"])
async def test_every_body_encoding_is_read(
    emu: RunningEmulator, client: EmulatorClient, encoding: str
) -> None:
    citizen = await client.citizen(TG_TOKEN)
    await citizen.send("سلام")
    markup = {"inline_keyboard": [[{"text": "بله", "callback_data": "yes"}]]}
    params = {"chat_id": str(citizen.user_id), "text": "درود", "reply_markup": json.dumps(markup)}
    kwargs: dict[str, Any]
    if encoding == "query":
        kwargs = {"params": params}
    elif encoding == "form":
        kwargs = {"data": params}
    elif encoding == "json":
        kwargs = {"json": {"chat_id": citizen.user_id, "text": "درود", "reply_markup": markup}}
    else:
        form = aiohttp.FormData()
        for key, value in params.items():
            form.add_field(key, value)
        form.add_field("unused", b"x", filename="x.bin")
        kwargs = {"data": form}
    status, body = await call(emu, TG_TOKEN, "sendMessage", **kwargs)
    assert status == 200, body
    assert body["result"]["text"] == "درود"
    assert body["result"]["reply_markup"] == markup
    seen = await citizen.expect("درود")
    assert seen["buttons"][0][0]["callback_data"] == "yes"


async def test_send_to_unknown_chat_is_chat_not_found(emu: RunningEmulator) -> None:
    status, body = await call(emu, TG_TOKEN, "sendMessage", json={"chat_id": 42, "text": "x"})
    assert (status, body["description"]) == (400, "Bad Request: chat not found")
    status, body = await call(emu, TG_TOKEN, "sendMessage", json={"text": "x"})
    assert (status, body["description"]) == (400, "Bad Request: chat_id is empty")


async def test_bot_cannot_write_first_to_a_user(emu: RunningEmulator, client: EmulatorClient) -> None:
    user = await client.create_user("Ali")
    status, body = await call(emu, TG_TOKEN, "sendMessage", json={"chat_id": user["id"], "text": "x"})
    assert (status, body["description"]) == (403, "Forbidden: bot can't initiate conversation with a user")


async def test_empty_text_is_refused(emu: RunningEmulator, client: EmulatorClient, dialect: str) -> None:
    citizen = await client.citizen(TOKENS[dialect])
    await citizen.send("hi")
    status, body = await call(
        emu, TOKENS[dialect], "sendMessage", json={"chat_id": citizen.user_id, "text": "  "}
    )
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")
    status, body = await call(
        emu, TOKENS[dialect], "sendMessage", json={"chat_id": citizen.user_id, "text": "x" * 4097}
    )
    assert (status, body["description"]) == (400, "Bad Request: message is too long")


@pytest.mark.parametrize(
    ("method", "dialect_name"),
    [
        ("sendPoll", "bale"),
        ("setMyCommands", "bale"),
        ("editMessageMedia", "bale"),
        ("createForumTopic", "bale"),
        ("askReview", "telegram"),
        ("inquireTransaction", "telegram"),
    ],
)
async def test_a_method_the_platform_lacks_is_not_found(
    emu: RunningEmulator, method: str, dialect_name: str
) -> None:
    status, body = await call(emu, TOKENS[dialect_name], method, json={})
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})


async def test_bale_rejects_parse_mode(emu: RunningEmulator, client: EmulatorClient) -> None:
    citizen = await client.citizen(BALE_TOKEN)
    await citizen.send("hi")
    status, body = await call(
        emu,
        BALE_TOKEN,
        "sendMessage",
        json={"chat_id": citizen.user_id, "text": "<b>x</b>", "parse_mode": "HTML"},
    )
    assert (status, body["description"]) == (400, "Bad Request: parse_mode is not supported")
    assert [m["text"] for m in await citizen.transcript()] == ["hi"]


@pytest.mark.parametrize("text", ["قیمت *ویژه", "file_name", "a `code", "```pre"])
async def test_bale_refuses_a_stray_markdown_marker(
    emu: RunningEmulator, client: EmulatorClient, text: str
) -> None:
    citizen = await client.citizen(BALE_TOKEN)
    await citizen.send("hi")
    status, body = await call(emu, BALE_TOKEN, "sendMessage", json={"chat_id": citizen.user_id, "text": text})
    assert status == 400
    assert body["description"].startswith("Bad Request: can't parse entities: Can't find end of")


async def test_bale_markdown_is_rendered_into_entities(emu: RunningEmulator, client: EmulatorClient) -> None:
    citizen = await client.citizen(BALE_TOKEN)
    await citizen.send("hi")
    status, body = await call(
        emu,
        BALE_TOKEN,
        "sendMessage",
        json={"chat_id": citizen.user_id, "text": "*کد* file‗name [سایت](https://x.ir)"},
    )
    assert status == 200
    result = body["result"]
    assert result["text"] == "کد file‗name سایت"
    assert [e["type"] for e in result["entities"]] == ["bold", "text_link"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("a & b", "Character '&' is reserved and must be escaped as &amp; at byte offset 2"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
async def test_telegram_refuses_invalid_html(
    emu: RunningEmulator, client: EmulatorClient, text: str, reason: str
) -> None:
    citizen = await client.citizen(TG_TOKEN)
    await citizen.send("hi")
    status, body = await call(
        emu, TG_TOKEN, "sendMessage", json={"chat_id": citizen.user_id, "text": text, "parse_mode": "HTML"}
    )
    assert (status, body["description"]) == (400, f"Bad Request: can't parse entities: {reason}")


async def test_telegram_html_becomes_text_and_entities(emu: RunningEmulator, client: EmulatorClient) -> None:
    citizen = await client.citizen(TG_TOKEN)
    await citizen.send("hi")
    text = '<b>کد</b> &lt;1&gt; <a href="https://x.ir">سایت</a> <tg-spoiler>s</tg-spoiler> <blockquote>q</blockquote>'
    status, body = await call(
        emu, TG_TOKEN, "sendMessage", json={"chat_id": citizen.user_id, "text": text, "parse_mode": "HTML"}
    )
    assert status == 200, body
    assert body["result"]["text"] == "کد <1> سایت s q"
    types = [e["type"] for e in body["result"]["entities"]]
    assert types == ["bold", "text_link", "spoiler", "blockquote"]
    assert body["result"]["entities"][1]["url"] == "https://x.ir"


async def test_unknown_file_path_is_404_and_unknown_token_401(emu: RunningEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{emu.base_url}/file/bot{TG_TOKEN}/photos/none.jpg") as response:
            assert response.status == 404
        async with session.get(f"{emu.base_url}/file/bot1:x/photos/none.jpg") as response:
            assert response.status == 401
