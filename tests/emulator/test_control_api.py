"""The control API and the session-like client: what tests, the demo and the web page rely on."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiogram import Bot

from emulator import EmulatorClient, RunningEmulator
from emulator.client import EmulatorError
from tests.emulator.conftest import BALE_TOKEN, TG_TOKEN, TOKENS
from tests.emulator.test_methods_aiogram import keyboard, png


async def test_a_citizen_session_reads_like_a_conversation(
    client: EmulatorClient, bot: Bot, dialect: str
) -> None:
    zahra = await client.citizen(TOKENS[dialect], name="Zahra")
    await zahra.send("/start")
    start = (await bot.get_updates())[-1].message
    assert start.entities is not None
    assert start.entities[0].type == "bot_command"
    await bot.send_message(zahra.user_id, "شهر خود را انتخاب کنید", reply_markup=keyboard("فلاورجان"))
    await zahra.expect("شهر خود")
    result = await zahra.press("فلاورجان")
    assert result["kind"] == "callback"

    async def bot_answers() -> None:
        await asyncio.sleep(0.1)
        await bot.send_message(zahra.user_id, "درخواست ثبت شد. کد رهگیری: ۱۲۳۴۵")

    answering = asyncio.create_task(bot_answers())
    message = await zahra.expect("کد رهگیری")
    await answering
    assert "۱۲۳۴۵" in message["text"]
    assert zahra.last_message == message


async def test_expect_times_out_with_the_recent_transcript(
    client: EmulatorClient, bot: Bot, dialect: str
) -> None:
    zahra = await client.citizen(TOKENS[dialect], name="Zahra")
    await zahra.send("/start")
    await bot.send_message(zahra.user_id, "منوی اصلی", reply_markup=keyboard("خدمات"))
    await zahra.send("سلام")
    with pytest.raises(AssertionError, match="no bot message containing 'کد رهگیری'") as caught:
        await zahra.expect("کد رهگیری", timeout=0.3)
    assert "منوی اصلی" in str(caught.value)
    assert "['خدمات']" in str(caught.value)


async def test_expect_sees_an_edit_made_after_the_action(client: EmulatorClient, tg: Bot) -> None:
    zahra = await client.citizen(TG_TOKEN)
    await zahra.send("/start")
    sent = await tg.send_message(zahra.user_id, "منتظر بمانید", reply_markup=keyboard("تایید"))
    await zahra.press("تایید")
    await tg.edit_message_text("تایید شد", chat_id=zahra.user_id, message_id=sent.message_id)
    assert (await zahra.expect("تایید شد"))["message_id"] == sent.message_id


async def test_press_waits_for_the_callback_answer(client: EmulatorClient, tg: Bot) -> None:
    zahra = await client.citizen(TG_TOKEN)
    await zahra.send("/start")
    await tg.send_message(zahra.user_id, "x", reply_markup=keyboard("بله"))

    async def answer() -> None:
        for _ in range(50):
            updates = await tg.get_updates()
            queries = [u.callback_query for u in updates if u.callback_query]
            if queries:
                await tg.answer_callback_query(queries[0].id, text="انجام شد")
                return
            await asyncio.sleep(0.02)

    task = asyncio.create_task(answer())
    await zahra.press(data="cb:0", wait_answer=3)
    await task
    assert zahra.last_answer == {"text": "انجام شد", "show_alert": False, "url": None}


async def test_press_unknown_button_is_404(client: EmulatorClient) -> None:
    zahra = await client.citizen(TG_TOKEN)
    await zahra.send("/start")
    with pytest.raises(EmulatorError) as caught:
        await zahra.press("ناموجود")
    assert caught.value.status == 404


async def test_press_finds_the_newest_message_with_the_button(client: EmulatorClient, tg: Bot) -> None:
    zahra = await client.citizen(TG_TOKEN)
    await zahra.send("/start")
    await tg.send_message(zahra.user_id, "old", reply_markup=keyboard("بازگشت"))
    newer = await tg.send_message(zahra.user_id, "new", reply_markup=keyboard("بازگشت"))
    await tg.send_message(zahra.user_id, "no buttons")
    assert (await zahra.press("بازگشت"))["message_id"] == newer.message_id


async def test_files_location_and_contact_from_a_citizen(
    client: EmulatorClient, bot: Bot, dialect: str, emu: RunningEmulator
) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    photo = await zahra.send_photo(png(), caption="مدرک")
    document = await zahra.send_document(b"%PDF-1.7 form", filename="form.pdf")
    await zahra.send_location(32.55, 51.51)
    contact = await zahra.share_contact()
    assert contact["contact"]["user_id"] == zahra.user_id
    updates = await bot.get_updates()
    kinds = [
        (
            "photo"
            if u.message.photo
            else "document"
            if u.message.document
            else "location"
            if u.message.location
            else "contact"
        )
        for u in updates
    ]
    assert kinds == ["photo", "document", "location", "contact"]
    async with aiohttp.ClientSession() as session:
        url = f"{emu.base_url}/sim/bots/{TOKENS[dialect]}/files/{photo['photo']['file_id']}"
        async with session.get(url) as response:
            assert await response.read() == png()
    assert document["document"]["mime_type"] == "application/pdf"
    with pytest.raises(EmulatorError, match="IMAGE_PROCESS_FAILED"):
        await zahra.send_photo(b"not a picture")


async def test_multipart_upload_through_the_control_api(
    emu: RunningEmulator, client: EmulatorClient, tg: Bot
) -> None:
    zahra = await client.citizen(TG_TOKEN)
    form = aiohttp.FormData()
    form.add_field("user_id", str(zahra.user_id))
    form.add_field("caption", "پلاک")
    form.add_field("photo", png(), filename="plate.png", content_type="image/png")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{emu.base_url}/sim/bots/{TG_TOKEN}/chats/{zahra.user_id}/messages", data=form
        ) as response,
    ):
        body = await response.json()
    assert body["message"]["caption"] == "پلاک"
    assert (await tg.get_updates())[0].message.photo


async def test_wait_and_changes_long_polls(client: EmulatorClient, tg: Bot) -> None:
    zahra = await client.citizen(TG_TOKEN)
    sent = await zahra.send("/start")
    path = f"/sim/bots/{TG_TOKEN}/chats/{zahra.user_id}"
    waiting = asyncio.create_task(
        client.request("GET", path + "/wait", params={"after": sent["message_id"], "timeout": 5})
    )
    changes = asyncio.create_task(
        client.request("GET", path + "/changes", params={"since": 1000, "timeout": 0.2})
    )
    await asyncio.sleep(0.1)
    await tg.send_message(zahra.user_id, "پاسخ")
    assert (await waiting)["message"]["text"] == "پاسخ"
    assert (await changes)["messages"] == []
    everything = await client.request("GET", path + "/changes", params={"since": 0, "timeout": 1})
    assert [m["text"] for m in everything["messages"]] == ["/start", "پاسخ"]
    nothing = await client.request("GET", path + "/wait", params={"timeout": 0.1})
    assert nothing == {"message": None}


async def test_server_sent_events_announce_changes(
    emu: RunningEmulator, client: EmulatorClient, tg: Bot
) -> None:
    zahra = await client.citizen(TG_TOKEN)
    await zahra.send("/start")
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{emu.base_url}/sim/bots/{TG_TOKEN}/chats/{zahra.user_id}/events", params={"since": 1}
        ) as response,
    ):
        assert response.headers["Content-Type"].startswith("text/event-stream")
        await tg.send_message(zahra.user_id, "رویداد")
        buffer = b""
        while b"\n\n" not in buffer:
            buffer += await asyncio.wait_for(response.content.readany(), 3)
    assert buffer.startswith(b"event: change\ndata: ")
    assert "رویداد" in buffer.decode()


async def test_list_chats_of_a_user_and_reset(client: EmulatorClient, tg: Bot) -> None:
    zahra = await client.citizen(TG_TOKEN)
    await zahra.send("/start")
    await client.request(
        "POST", f"/sim/bots/{BALE_TOKEN}/chats/{zahra.user_id}/messages", json={"text": "سلام"}
    )
    group = await client.create_group(TG_TOKEN, "گروه", members=[zahra.user_id])
    chats = (await client.request("GET", "/sim/chats", params={"user_id": zahra.user_id}))["chats"]
    assert sorted((c["dialect"], c["chat"]["type"]) for c in chats) == [
        ("bale", "private"),
        ("telegram", "private"),
        ("telegram", "supergroup"),
    ]
    assert any(c["chat"]["id"] == group["id"] for c in chats)
    await client.reset()
    with pytest.raises(EmulatorError):
        await client.request("GET", f"/sim/users/{zahra.user_id}")
    assert (await client.request("GET", "/sim/bots"))["bots"]  # bots survive a reset


async def test_clerk_in_group_replies_to_a_card(client: EmulatorClient, tg: Bot) -> None:
    admin = await client.create_user("Supervisor")
    group = await client.create_group(TG_TOKEN, "شهرداری فلاورجان", admins=[admin["id"]])
    clerk = await client.clerk(TG_TOKEN, group["id"], name="Maryam")
    card = await tg.send_message(group["id"], "درخواست ۱۲۳", reply_markup=keyboard("برداشتن"))
    await clerk.press("برداشتن")
    await clerk.reply_to(card.message_id, "مدارک کامل است")
    updates = await tg.get_updates()
    assert updates[0].callback_query is not None
    assert updates[0].callback_query.from_user.id == clerk.user_id
    reply = updates[1].message
    assert reply is not None
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == card.message_id
    outsider = await client.create_user("Outsider")
    with pytest.raises(EmulatorError) as caught:
        await client.request(
            "POST",
            f"/sim/bots/{TG_TOKEN}/chats/{group['id']}/messages",
            json={"user_id": outsider["id"], "text": "x"},
        )
    assert caught.value.status == 403


async def test_user_edits_their_message(client: EmulatorClient, tg: Bot) -> None:
    zahra = await client.citizen(TG_TOKEN)
    sent = await zahra.send("کد ملی ۱۲۳")
    await client.request(
        "POST",
        f"/sim/bots/{TG_TOKEN}/chats/{zahra.user_id}/edit",
        json={"message_id": sent["message_id"], "text": "کد ملی ۱۲۴"},
    )
    updates = await tg.get_updates()
    assert updates[-1].edited_message is not None
    assert updates[-1].edited_message.text == "کد ملی ۱۲۴"


async def test_bot_options_and_bad_requests(client: EmulatorClient) -> None:
    bot = await client.create_bot("777:new", "bale", username="new_bot", chat_instance=True)
    assert bot["options"]["chat_instance"] is True
    assert bot["options"]["edit_result"] == "stub"
    with pytest.raises(EmulatorError, match="unknown options"):
        await client.configure_bot("777:new", colour="blue")
    with pytest.raises(EmulatorError, match="unknown dialect"):
        await client.create_bot("778:x", "whatsapp")
    with pytest.raises(EmulatorError) as caught:
        await client.request("POST", "/sim/bots/777:new/chats/1/messages", json={"text": "x"})
    assert caught.value.status == 404
    user = await client.create_user("A")
    with pytest.raises(EmulatorError, match="nothing to send"):
        await client.request("POST", f"/sim/bots/777:new/chats/{user['id']}/messages", json={})
    with pytest.raises(EmulatorError, match="base64"):
        await client.request(
            "POST", f"/sim/bots/777:new/chats/{user['id']}/messages", json={"photo": {"base64": "%%%"}}
        )


async def test_fifty_concurrent_citizens(client: EmulatorClient, tg: Bot) -> None:
    citizens = await asyncio.gather(*(client.citizen(TG_TOKEN, name=f"c{i}") for i in range(50)))
    await asyncio.gather(*(c.send("/start") for c in citizens))
    updates = await tg.get_updates()
    assert len(updates) == 50

    async def answer_all() -> None:
        await asyncio.gather(
            *(tg.send_message(u.message.chat.id, f"خوش آمدید {u.message.chat.id}") for u in updates)
        )

    answering = asyncio.create_task(answer_all())
    replies = await asyncio.gather(*(c.expect(f"خوش آمدید {c.user_id}") for c in citizens))
    await answering
    assert len(replies) == 50


async def test_sms_inbox_records_and_filters_by_phone(client: EmulatorClient) -> None:
    waiting = asyncio.create_task(
        client.request("GET", "/sim/sms", params={"to": "+989120000002", "timeout": 3})
    )
    await client.request(
        "POST", "/sim/sms", json={"to": "+989120000001", "text": "کد ۱", "provider": "kavenegar"}
    )
    await client.request("POST", "/sim/sms", json={"to": "+989120000002", "text": "کد ۲"})
    assert [m["text"] for m in (await waiting)["messages"]] == ["کد ۲"]
    everything = await client.request("GET", "/sim/sms")
    assert [m["to"] for m in everything["messages"]] == ["+989120000001", "+989120000002"]
    assert everything["messages"][0]["provider"] == "kavenegar"
    with pytest.raises(EmulatorError):
        await client.request("POST", "/sim/sms", json={"to": "+98912"})


async def test_a_forged_press_sends_any_callback_data_on_a_message_the_user_can_see(
    client: EmulatorClient, bot: Bot, dialect: str
) -> None:
    alice = await client.citizen(TOKENS[dialect], name="Alice")
    await alice.send("/start")
    await bot.send_message(alice.user_id, "no buttons here")
    await alice.expect("no buttons")
    with pytest.raises(EmulatorError, match="no button"):
        await alice.press(data="card:1:claim:submitted")
    pressed = await alice.press(data="card:1:claim:submitted", forged=True)
    assert pressed["kind"] == "callback"
    updates = await client.request("POST", f"/bot{TOKENS[dialect]}/getUpdates", json={})
    assert updates["result"][-1]["callback_query"]["data"] == "card:1:claim:submitted"


async def test_an_album_comes_as_one_update_per_file_sharing_a_media_group_id(
    client: EmulatorClient, bot: Bot, dialect: str
) -> None:
    zahra = await client.citizen(TOKENS[dialect], name="Zahra")
    sent = await zahra.send_album([png(), png(), png()], caption="سه صفحه")
    assert len(sent) == 3
    updates = [u.message for u in await bot.get_updates() if u.message is not None]
    album = [m for m in updates if m.media_group_id is not None]
    assert [m.message_id for m in album] == [m["message_id"] for m in sent], "in the order sent"
    assert len({m.media_group_id for m in album}) == 1
    assert [m.caption for m in album] == ["سه صفحه", None, None], (
        "the caption on the first, as the apps send it"
    )
    assert all(m.photo for m in album)
    with pytest.raises(EmulatorError):
        await zahra.send_album([png()])  # an album has 2-10 files
