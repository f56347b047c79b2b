"""The methods a bot uses, called through aiogram's real client, on both dialects."""

from __future__ import annotations

import struct
import zlib

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    LabeledPrice,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)

from emulator import EmulatorClient, RunningEmulator
from tests.emulator.conftest import BALE_TOKEN, TG_TOKEN, TOKENS


def png(width: int = 4, height: int = 3) -> bytes:
    """A valid PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=f"cb:{i}")] for i, label in enumerate(labels)
        ]
    )


async def test_send_message_with_inline_keyboard_reaches_the_citizen(
    client: EmulatorClient, bot: Bot, dialect: str
) -> None:
    zahra = await client.citizen(TOKENS[dialect], name="Zahra")
    await zahra.send("/start")
    sent = await bot.send_message(
        zahra.user_id, "شهر خود را انتخاب کنید", reply_markup=keyboard("فلاورجان", "ابریشم")
    )
    assert sent.chat.id == zahra.user_id
    assert sent.chat.type == "private"
    seen = await zahra.expect("شهر خود")
    assert [row[0]["text"] for row in seen["buttons"]] == ["فلاورجان", "ابریشم"]


async def test_reply_keyboard_contact_button_shares_the_users_own_number(
    client: EmulatorClient, bot: Bot, dialect: str
) -> None:
    zahra = await client.citizen(TOKENS[dialect], name="Zahra")
    await zahra.send("/start")
    markup = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="ارسال شماره", request_contact=True)]], resize_keyboard=True
    )
    await bot.send_message(zahra.user_id, "شماره همراه خود را بفرستید", reply_markup=markup)
    seen = await zahra.expect("شماره همراه")
    assert seen["reply_keyboard"]["keyboard"][0][0]["request_contact"] is True
    result = await zahra.press("ارسال شماره")
    assert result["kind"] == "reply"
    updates = await bot.get_updates(offset=-1)
    contact = updates[-1].message.contact
    assert contact is not None
    assert contact.user_id == updates[-1].message.from_user.id == zahra.user_id
    assert contact.phone_number == zahra.user["phone_number"]


async def test_location_button_and_remove_keyboard(client: EmulatorClient, bot: Bot, dialect: str) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    await zahra.send("/start")
    markup = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="موقعیت", request_location=True)]])
    await bot.send_message(zahra.user_id, "کجا هستید؟", reply_markup=markup)
    await zahra.press("موقعیت")
    updates = await bot.get_updates(offset=-1)
    assert updates[-1].message.location is not None
    await bot.send_message(zahra.user_id, "ممنون", reply_markup=ReplyKeyboardRemove())
    seen = await zahra.expect("ممنون")
    assert seen.get("remove_keyboard") is True
    with pytest.raises(Exception, match="no button"):
        await zahra.press("موقعیت")


async def test_reply_parameters_and_missing_reply_target(
    client: EmulatorClient, bot: Bot, dialect: str
) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    asked = await zahra.send("سوال دارم")
    answer = await bot.send_message(
        zahra.user_id, "بفرمایید", reply_parameters=ReplyParameters(message_id=asked["message_id"])
    )
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "سوال دارم"
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(zahra.user_id, "x", reply_to_message_id=999)
    tolerant = await bot.send_message(
        zahra.user_id, "x", reply_parameters=ReplyParameters(message_id=999, allow_sending_without_reply=True)
    )
    assert tolerant.reply_to_message is None


async def test_edit_message_text_on_telegram_returns_the_edited_message(
    client: EmulatorClient, tg: Bot
) -> None:
    zahra = await client.citizen(TG_TOKEN)
    await zahra.send("/start")
    sent = await tg.send_message(zahra.user_id, "در حال بررسی", reply_markup=keyboard("لغو"))
    edited = await tg.edit_message_text("ثبت شد", chat_id=zahra.user_id, message_id=sent.message_id)
    assert not isinstance(edited, bool)
    assert edited.text == "ثبت شد"
    assert edited.reply_markup is None  # an edit without reply_markup removes the keyboard
    seen = await zahra.expect("ثبت شد")
    assert seen["edits"][0]["text"] == "در حال بررسی"
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await tg.edit_message_text("ثبت شد", chat_id=zahra.user_id, message_id=sent.message_id)


async def test_edit_on_bale_returns_a_stub_that_aiogram_cannot_parse(
    client: EmulatorClient, bale: Bot, emu: RunningEmulator
) -> None:
    zahra = await client.citizen(BALE_TOKEN)
    await zahra.send("/start")
    sent = await bale.send_message(zahra.user_id, "در حال بررسی", reply_markup=keyboard("لغو"))
    with pytest.raises(ClientDecodeError):
        await bale.edit_message_text("ثبت شد", chat_id=zahra.user_id, message_id=sent.message_id)
    seen = await zahra.expect("ثبت شد")  # the edit itself happened
    assert "buttons" not in seen
    with pytest.raises(ClientDecodeError):
        await bale.edit_message_reply_markup(
            chat_id=zahra.user_id, message_id=sent.message_id, reply_markup=keyboard("x")
        )
    emu.state.configure_bot(emu.state.bots[BALE_TOKEN], {"edit_result": "message"})
    edited = await bale.edit_message_text("نهایی", chat_id=zahra.user_id, message_id=sent.message_id)
    assert not isinstance(edited, bool)
    assert edited.text == "نهایی"


async def test_edit_refusals(client: EmulatorClient, tg: Bot) -> None:
    zahra = await client.citizen(TG_TOKEN)
    own = await zahra.send("متن من")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await tg.edit_message_text("x", chat_id=zahra.user_id, message_id=own["message_id"])
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await tg.edit_message_text("x", chat_id=zahra.user_id, message_id=999)
    sent = await tg.send_message(zahra.user_id, "a", reply_markup=keyboard("b"))
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await tg.edit_message_reply_markup(
            chat_id=zahra.user_id, message_id=sent.message_id, reply_markup=keyboard("b")
        )
    removed = await tg.edit_message_reply_markup(chat_id=zahra.user_id, message_id=sent.message_id)
    assert not isinstance(removed, bool)
    assert removed.reply_markup is None


async def test_delete_message(client: EmulatorClient, bot: Bot, dialect: str) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    await zahra.send("/start")
    sent = await bot.send_message(zahra.user_id, "موقت")
    assert await bot.delete_message(zahra.user_id, sent.message_id) is True
    transcript = await zahra.transcript()
    assert transcript[-1]["deleted"] is True
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(zahra.user_id, sent.message_id)


async def test_callback_answer_is_shown_as_a_toast(client: EmulatorClient, bot: Bot, dialect: str) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    await zahra.send("/start")
    await bot.send_message(zahra.user_id, "انتخاب کنید", reply_markup=keyboard("فلاورجان"))
    result = await zahra.press("فلاورجان")
    assert result["kind"] == "callback"
    updates = await bot.get_updates(offset=-1) if dialect == "telegram" else None
    query_id = result["callback_query_id"]
    if updates is not None:
        assert updates[-1].callback_query is not None
        assert updates[-1].callback_query.data == "cb:0"
    assert await bot.answer_callback_query(query_id, text="ثبت شد", show_alert=True) is True
    answer = await client.request(
        "GET", f"/sim/bots/{TOKENS[dialect]}/chats/{zahra.user_id}/callbacks/{query_id}"
    )
    assert (answer["answered"], answer["text"], answer["show_alert"]) == (True, "ثبت شد", True)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)


async def test_photo_upload_file_id_resend_and_download(
    client: EmulatorClient, bot: Bot, dialect: str, emu: RunningEmulator
) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    await zahra.send("/start")
    image = png(40, 30)
    sent = await bot.send_photo(zahra.user_id, BufferedInputFile(image, "card.png"), caption="کارت")
    assert sent.photo is not None
    largest = sent.photo[-1]
    assert (largest.width, largest.height) == (40, 30)
    again = await bot.send_photo(zahra.user_id, largest.file_id)
    assert again.photo is not None
    assert again.photo[-1].file_unique_id == largest.file_unique_id
    file = await bot.get_file(largest.file_id)
    assert file.file_path
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None
    assert downloaded.read() == image
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(zahra.user_id, BufferedInputFile(b"not an image", "x.png"))
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(zahra.user_id, "no-such-file-id")


async def test_document_upload_and_type_mismatch(client: EmulatorClient, bot: Bot, dialect: str) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    await zahra.send("/start")
    sent = await bot.send_document(zahra.user_id, BufferedInputFile(b"%PDF-1.4 receipt", "receipt.pdf"))
    assert sent.document is not None
    assert sent.document.mime_type == "application/pdf"
    assert sent.document.file_name == "receipt.pdf"
    with pytest.raises(TelegramBadRequest, match="can't use file of type Document as Photo"):
        await bot.send_photo(zahra.user_id, sent.document.file_id)
    seen = await zahra.expect()
    assert seen["document"]["file_name"] == "receipt.pdf"


async def test_citizen_photo_reaches_the_bot_and_large_files_cannot_be_downloaded(
    client: EmulatorClient, bot: Bot, dialect: str, emu: RunningEmulator
) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    await zahra.send_photo(png(8, 8), caption="شناسنامه")
    await zahra.send_document(b"x" * (21 * 1024 * 1024), filename="big.pdf")
    updates = await bot.get_updates()
    photo_message, document_message = updates[0].message, updates[1].message
    assert photo_message.photo is not None
    assert photo_message.caption == "شناسنامه"
    assert (await bot.get_file(photo_message.photo[-1].file_id)).file_size == len(png(8, 8))
    assert document_message.document is not None
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(document_message.document.file_id)


async def test_media_group(client: EmulatorClient, bot: Bot, dialect: str) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    await zahra.send("/start")
    media = [InputMediaPhoto(media=BufferedInputFile(png(), f"{i}.png"), caption=f"p{i}") for i in range(3)]
    messages = await bot.send_media_group(zahra.user_id, media=media)
    assert len(messages) == 3
    assert len({m.media_group_id for m in messages}) == 1
    with pytest.raises(TelegramBadRequest):
        await bot.send_media_group(zahra.user_id, media=media[:1])


async def test_forward_copy_action_location_contact(client: EmulatorClient, bot: Bot, dialect: str) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    original = await zahra.send("متن اصلی")
    forwarded = await bot.forward_message(zahra.user_id, zahra.user_id, original["message_id"])
    assert forwarded.text == "متن اصلی"
    if dialect == "telegram":
        assert forwarded.forward_origin is not None
    else:
        assert forwarded.forward_from is not None
        assert forwarded.forward_from.id == zahra.user_id
    copied = await bot.copy_message(zahra.user_id, zahra.user_id, original["message_id"])
    assert copied.message_id > forwarded.message_id
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(zahra.user_id, zahra.user_id, 999)
    assert await bot.send_chat_action(zahra.user_id, "typing") is True
    transcript = await client.request("GET", f"/sim/bots/{TOKENS[dialect]}/chats/{zahra.user_id}/transcript")
    assert transcript["typing"] is True
    location = await bot.send_location(zahra.user_id, latitude=32.55, longitude=51.5)
    assert location.location is not None
    transcript = await client.request("GET", f"/sim/bots/{TOKENS[dialect]}/chats/{zahra.user_id}/transcript")
    assert transcript["typing"] is False  # a message from the bot ends "typing..."
    contact = await bot.send_contact(zahra.user_id, phone_number="+983137420000", first_name="شهرداری")
    assert contact.contact is not None
    assert contact.contact.first_name == "شهرداری"


async def test_get_chat_and_members_in_a_group(
    client: EmulatorClient, bot: Bot, dialect: str, emu: RunningEmulator
) -> None:
    boss = await client.create_user("Boss")
    clerk = await client.create_user("Clerk")
    group = await client.create_group(
        TOKENS[dialect], "کارشناسان", members=[clerk["id"]], admins=[boss["id"]]
    )
    expected_type = "supergroup" if dialect == "telegram" else "group"
    assert group["type"] == expected_type
    assert str(group["id"]).startswith("-100") is (dialect == "telegram")
    if dialect == "telegram":
        info = await bot.get_chat(group["id"])
        assert info.type == "supergroup"
        assert info.title == "کارشناسان"
    else:
        with pytest.raises(Exception, match="validation"):
            await bot.get_chat(group["id"])  # Bale answers a plain Chat (see README)
    member = await bot.get_chat_member(group["id"], clerk["id"])
    assert member.status == "member"
    owner = await bot.get_chat_member(group["id"], boss["id"])
    assert owner.status == "creator"
    admins = await bot.get_chat_administrators(group["id"])
    assert {a.user.id for a in admins} == {boss["id"], emu.state.bots[TOKENS[dialect]].id}
    outsider = await client.create_user("Outsider")
    assert (await bot.get_chat_member(group["id"], outsider["id"])).status == "left"
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.get_chat(-1009999)


async def test_blocked_user_makes_sends_fail_with_403(client: EmulatorClient, bot: Bot, dialect: str) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    await zahra.send("/start")
    await zahra.block()
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(zahra.user_id, "سلام")
    await zahra.unblock()
    assert (await bot.send_message(zahra.user_id, "سلام")).text == "سلام"


async def test_set_my_commands_and_send_poll_on_telegram(tg: Bot, client: EmulatorClient) -> None:
    assert await tg.set_my_commands([BotCommand(command="start", description="شروع")])
    assert [c.command for c in await tg.get_my_commands()] == ["start"]
    zahra = await client.citizen(TG_TOKEN)
    await zahra.send("/start")
    poll = await tg.send_poll(zahra.user_id, question="راضی بودید؟", options=["بله", "خیر"])
    assert poll.poll is not None
    assert [o.text for o in poll.poll.options] == ["بله", "خیر"]


async def test_command_lists_are_kept_per_scope_and_language(tg: Bot, client: EmulatorClient) -> None:
    private, groups = BotCommandScopeAllPrivateChats(), BotCommandScopeAllGroupChats()
    assert await tg.set_my_commands([BotCommand(command="track", description="پیگیری")], scope=private)
    assert await tg.set_my_commands(
        [BotCommand(command="track", description="Track")], scope=private, language_code="en"
    )
    assert await tg.set_my_commands([BotCommand(command="mine", description="کارهای من")], scope=groups)
    assert [c.description for c in await tg.get_my_commands(scope=private)] == ["پیگیری"]
    assert [c.description for c in await tg.get_my_commands(scope=private, language_code="en")] == ["Track"]
    assert [c.command for c in await tg.get_my_commands(scope=groups)] == ["mine"]
    assert await tg.get_my_commands() == [], "the default list was never set"
    menus = (await client.request("GET", f"/sim/bots/{TG_TOKEN}/commands"))["menus"]
    assert {(m["scope"]["type"], m["language_code"]) for m in menus} == {
        ("all_private_chats", ""),
        ("all_private_chats", "en"),
        ("all_group_chats", ""),
    }
    assert await tg.delete_my_commands(scope=groups)
    assert await tg.get_my_commands(scope=groups) == []


async def test_bale_lacks_poll_and_commands(bale: Bot, client: EmulatorClient) -> None:
    zahra = await client.citizen(BALE_TOKEN)
    await zahra.send("/start")
    with pytest.raises(TelegramNotFound):
        await bale.send_poll(zahra.user_id, question="?", options=["a", "b"])
    with pytest.raises(TelegramNotFound):
        await bale.set_my_commands([BotCommand(command="start", description="s")])
    refused = [call["method"] for call in await client.refused(BALE_TOKEN)]
    assert refused == ["sendpoll", "setmycommands"], "a call of a missing method is on the record"


async def test_invoice_payment_flow(client: EmulatorClient, bot: Bot, dialect: str) -> None:
    zahra = await client.citizen(TOKENS[dialect])
    await zahra.send("/pay")
    await bot.get_updates()
    invoice = await bot.send_invoice(
        zahra.user_id,
        title="عوارض نوسازی",
        description="سال ۱۴۰۳",
        payload="req-42",
        provider_token="WALLET-TOKEN",
        currency="IRR",
        prices=[LabeledPrice(label="عوارض", amount=1_500_000)],
    )
    assert invoice.invoice is not None
    assert invoice.invoice.total_amount == 1_500_000
    started = await zahra.pay(invoice.message_id)
    updates = await bot.get_updates(offset=-1)
    query = updates[-1].pre_checkout_query
    assert query is not None
    assert query.id == started["pre_checkout_query_id"]
    assert query.invoice_payload == "req-42"
    assert await bot.answer_pre_checkout_query(query.id, ok=True) is True
    updates = await bot.get_updates(offset=updates[-1].update_id + 1)
    paid = updates[-1].message
    assert paid is not None
    assert paid.successful_payment is not None
    assert paid.successful_payment.total_amount == 1_500_000
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_pre_checkout_query(query.id, ok=True)


async def test_bale_ask_review_and_inquire_transaction(emu: RunningEmulator, client: EmulatorClient) -> None:
    zahra = await client.citizen(BALE_TOKEN)
    await zahra.send("/start")
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{emu.base_url}/bot{BALE_TOKEN}/askReview", json={"user_id": zahra.user_id, "delay_seconds": 5}
        ) as r:
            assert (await r.json()) == {"ok": True, "result": True}
        async with session.post(
            f"{emu.base_url}/bot{BALE_TOKEN}/inquireTransaction", json={"transaction_id": "nope"}
        ) as r:
            assert r.status == 400
    reviews = await client.request("GET", f"/sim/bots/{BALE_TOKEN}/reviews")
    assert reviews["reviews"][0]["user_id"] == zahra.user_id


async def test_unreachable_server_surfaces_as_a_network_error(emu: RunningEmulator) -> None:
    from tests.emulator.conftest import make_bot

    class Dead(RunningEmulator):
        pass

    dead = Dead(base_url="http://127.0.0.1:9", state=emu.state, app=emu.app)
    bot = make_bot(dead, TG_TOKEN)
    try:
        with pytest.raises(TelegramNetworkError):
            await bot.get_me()
    finally:
        await bot.session.close()
