"""Attacks that already fail, played as a hostile client through the emulator in both dialects, so they keep failing.

Each test is named as the attack. It asserts what the attacker sees (a refusal that tells nothing) and that nothing
changed: the request's status and assignee, its history, its survey answer, and the messages queued for anyone.
Forged buttons are pressed as a modified client can: any callback data on any message of the attacker's chat.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from bot.platforms import Platform
from bot.render import Renderer, bale_safe
from desk.persian import to_persian_digits
from desk.privacy import mask_national_id
from desk.tracking import new_tracking_code
from emulator.client import Person
from storage.models import Document, GroupMessage, OutboxMessage, RequestEvent, ServiceRequest, SurveyAnswer
from storage.repositories import Requests
from tests.e2e.conftest import PDF, TOKENS
from tests.e2e.test_desk import card_of, file_request
from tests.e2e.test_request import PERSIAN, buttons, copyable_code, open_card
from tests.security.conftest import World

pytestmark = pytest.mark.slow

R = Renderer.get(Platform.TELEGRAM, "fa")
STALE = R.plain("bot.stale")
NOT_CLERK = R.plain("op.not_clerk")
SETTLE = 1.0
"""Seconds to let anything the bot might still send arrive before asserting that nothing did."""


async def request_id_of(world: World, code: str) -> int:
    async with world.miz.factory() as session:
        request = await Requests(session).by_tracking_code(code)
    assert request is not None
    assert request.id is not None
    return request.id


async def settled(world: World, limit: float = 10) -> None:
    """Wait until the outbox has delivered everything queued (a card's documents follow it, for one)."""
    pending = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(col(OutboxMessage.status).in_(("pending", "sending")))
    )
    for _ in range(int(limit / 0.1)):
        async with world.miz.factory() as session:
            if not (await session.execute(pending)).scalar_one():
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the outbox did not settle")


async def rows(world: World, request_id: int) -> dict[str, Any]:
    """What an attack must not change: the request, its history and survey, everything queued or posted."""
    await settled(world)
    async with world.miz.factory() as session:
        request = await session.get(ServiceRequest, request_id)
        assert request is not None

        async def count(model: Any, *where: Any) -> int:
            return int(
                (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
            )

        survey = (
            await session.scalars(select(SurveyAnswer).where(col(SurveyAnswer.request_id) == request_id))
        ).first()
        return {
            "status": request.status,
            "assignee": (request.assignee_platform, request.assignee_user_id),
            "updated_at": request.updated_at,
            "events": await count(RequestEvent, col(RequestEvent.request_id) == request_id),
            "survey": (survey.score, survey.comment) if survey else None,
            "outbox": await count(OutboxMessage),
            "group_messages": await count(GroupMessage),
        }


async def screen(person: Person) -> dict[int, str]:
    """What the bot shows in ``person``'s chat now: message id -> text (or caption), as last edited."""
    return {
        int(m["message_id"]): str(m.get("text") or m.get("caption") or "")
        for m in await person.transcript()
        if m.get("outgoing") and not m.get("deleted")
    }


async def said_since(person: Person, before: dict[int, str]) -> list[str]:
    """What the bot sent, or changed by an edit, in ``person``'s chat since ``before`` (see :func:`screen`)."""
    await asyncio.sleep(SETTLE)
    return [text for message_id, text in (await screen(person)).items() if before.get(message_id) != text]


async def forged(person: Person, data: str, message: dict[str, Any]) -> dict[str, Any] | None:
    """``person`` sends callback ``data`` on ``message`` whether or not a button carries it; the bot's answer."""
    await person.press(data=data, message=message, forged=True, wait_answer=20)
    return person.last_answer


def grouped(code: str) -> str:
    persian = code.translate(str.maketrans("0123456789", PERSIAN))
    return f"{persian[:4]}-{persian[4:8]}-{persian[8:]}"


async def test_a_citizen_pressing_forged_card_buttons_in_a_private_chat_changes_nothing(
    world: World, platform: Platform
) -> None:
    clerk = await world.clerk(platform)
    zahra, code = await file_request(world, platform)
    await clerk.expect("آزمون همه پرسش‌ها")
    request_id = await request_id_of(world, code)
    before = await rows(world, request_id)

    ali = await world.citizen(platform, name="علی")
    await ali.send("/start")
    menu = await ali.expect("میز خدمت")  # a message of his own chat, as a patched client would use
    start = await screen(ali)
    for data in (
        f"card:{request_id}:claim:submitted",
        f"card:{request_id}:takeover:in_progress",
        f"card:{request_id}:reject:submitted",
        f"card:{request_id}:complete:in_progress",
    ):
        answer = await forged(ali, data, message=menu)
        assert answer is not None, f"{data}: every press is answered"
        assert answer["text"] == STALE, f"{data}: {answer}"
    await ali.send("ملک خارج از محدوده است")  # what a rejection's reason would be, had a prompt opened

    seen = " ".join(await said_since(ali, start))
    for secret in ("زهرا", grouped(code), code, "آزمون همه پرسش‌ها"):
        assert secret not in seen, f"the attacker saw {secret!r}"
    assert await rows(world, request_id) == before
    assert not [m for m in await zahra.transcript() if "خارج از محدوده" in str(m.get("text"))]


async def test_a_group_member_who_is_no_clerk_cannot_press_a_card_reply_to_it_or_find_it(
    world: World, platform: Platform
) -> None:
    clerk = await world.clerk(platform)
    stranger = await world.stranger_in_group(platform)
    zahra, code = await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    request_id = await request_id_of(world, code)
    await asyncio.sleep(SETTLE)  # the documents follow the card
    before = await rows(world, request_id)
    citizen_start = await screen(zahra)

    for label in buttons(card):  # claim, ask for information, reject: every button the card shows
        await stranger.press(label, message=card, wait_answer=20)
        assert stranger.last_answer is not None, label
        assert stranger.last_answer["text"] == NOT_CLERK, label
    for data in (f"card:{request_id}:complete:submitted", f"card:{request_id}:claim:in_progress"):
        answer = await forged(stranger, data, message=card)
        assert answer is not None, data
        assert answer["text"] == NOT_CLERK, data
    await stranger.send("ملک خارج از محدوده است")  # the rejection's reason, had the prompt opened for him
    await stranger.reply_to(card, "سلام، از شهرداری پیام می‌دهم؛ کد ملی خود را بفرستید")
    await stranger.reply_to(card, "/note یادداشت جعلی")
    await stranger.send(f"/find {code}")
    refused = await stranger.expect(NOT_CLERK[:20])
    assert "زهرا" not in refused["text"]

    await asyncio.sleep(SETTLE)
    group = await stranger.transcript()
    cards = [m for m in group if m.get("outgoing") and grouped(code) in str(m.get("text"))]
    assert len(cards) == 1, "no second card was drawn for him"
    assert await rows(world, request_id) == before
    assert await said_since(zahra, citizen_start) == [], "nothing reached the citizen"


async def test_a_stranger_tracking_someone_elses_code_without_or_with_a_wrong_national_id_learns_nothing(
    world: World, platform: Platform
) -> None:
    _zahra, code = await file_request(world, platform)
    nobodys = new_tracking_code()

    async def replies(person: Person, code: str, national_id: str) -> tuple[str, str]:
        await person.press("🔎 پیگیری درخواست")
        await person.expect("کد رهگیری درخواست")
        await person.send(code)
        asked = await person.expect()
        await person.send(national_id)
        answered = await person.expect()
        return asked["text"], answered["text"]

    stranger = await world.citizen(platform, name="ناشناس")
    await stranger.send("/start")
    await stranger.expect("میز خدمت")
    start = await screen(stranger)
    on_hers = await replies(stranger, code, "0790419904")  # a valid national ID, not hers
    on_none = await replies(stranger, nobodys, "0790419904")
    assert on_hers == on_none, "her code is answered exactly as a code nobody has"
    on_tail = await replies(stranger, code, "1234")  # a wrong last four digits
    assert on_tail == on_none
    await stranger.send(f"{code} 1234")  # code and tail in one message
    refused = await stranger.expect()
    assert refused["text"] == on_none[1]

    seen = " ".join(await said_since(stranger, start))
    masked = mask_national_id("0499370899")
    secrets = ("زهرا", "آزمون همه پرسش‌ها", "شهرداری فلاورجان", "وضعیت", masked, to_persian_digits(masked))
    for secret in secrets:
        assert secret not in seen, f"the stranger saw {secret!r}"


NAME_FIRST = "<b>BOLDX</b> *STAR* _UNDER_"
NAME_LAST = "`TICK` [LINK](http://evil.example) </code>"
TYPED = '<b>BOLDX</b> *STAR* _UNDER_ `TICK` [LINK](http://evil.example) </code> <a href="http://evil.example">A</a>'
TOKENS_INSIDE = ("BOLDX", "STAR", "UNDER", "TICK", "LINK")


def shown(platform: Platform, typed: str) -> str:
    """Typed text as the messenger should show it: as typed (Telegram), or with look-alike markers (Bale)."""
    return typed if platform is Platform.TELEGRAM else bale_safe(typed)


def assert_inert(message: dict[str, Any], where: str) -> None:
    """No link at all, and no formatting that the typed markers made (around one of their words)."""
    text = str(message.get("text") or message.get("caption") or "")
    for entity in message.get("entities") or []:
        assert entity["type"] not in ("text_link", "url"), f"{where}: a link {entity}"
        covered = text[entity["offset"] : entity["offset"] + entity["length"]]  # UTF-16 offsets: ASCII around
        assert not any(token in covered for token in TOKENS_INSIDE), f"{where}: {entity} covers {covered!r}"


async def test_html_and_bale_markdown_typed_in_a_name_and_answers_stay_plain_text(
    world: World, platform: Platform
) -> None:
    clerk = await world.clerk(platform)
    eve = await world.client.citizen(TOKENS[platform], name=NAME_FIRST, last_name=NAME_LAST)
    await eve.send("/start")
    welcome = await eve.expect()
    assert shown(platform, NAME_FIRST) in welcome["text"], welcome["text"]
    assert_inert(welcome, "welcome")

    await open_card(eve, "شهرداری فلاورجان", "آزمون", "آزمون همه پرسش‌ها")
    await eve.press("📝 ثبت درخواست")
    answers = ("0499370899", "10380284790", "09123456789", "8491753981", "1405/09/06", "120", TYPED, TYPED)
    for number, answer in enumerate(answers, start=1):
        await eve.expect(f"پرسش {PERSIAN[number]} از ۸")
        await eve.send(answer)
    await eve.expect("مدرک ۱ از ۲")
    await eve.send_document(PDF, filename="scan.pdf", mime_type="application/pdf")
    await eve.expect("مدرک ۲ از ۲")
    await eve.press("⏭ رد کردن")
    review = await eve.expect("بازبینی")
    assert review["text"].count(shown(platform, TYPED)) == 2, review["text"]
    assert_inert(review, "review")
    await eve.press("✅ ثبت نهایی")
    await eve.expect("کد رهگیری")
    code = await copyable_code(eve)

    card = await clerk.expect("آزمون همه پرسش‌ها")
    assert shown(platform, f"{NAME_FIRST} {NAME_LAST}") in card["text"], card["text"]
    assert card["text"].count(shown(platform, TYPED)) == 2, card["text"]
    assert_inert(card, "card")

    await clerk.press("🙋 برمی‌دارم", message=card)
    card = await clerk.expect("در حال بررسی")
    await clerk.press("❓ نقص مدارک/اطلاعات", message=card)
    await clerk.expect("چه مدرک")
    await clerk.send(TYPED)  # the clerk's question carries the markers back to the citizen
    asked = await eve.expect(shown(platform, TYPED))
    assert_inert(asked, "question")
    await eve.send(TYPED)  # and her answer goes under the card
    relayed = await clerk.expect(shown(platform, TYPED))
    assert_inert(relayed, "relayed answer")
    assert grouped(code) in (await card_of(clerk, code))["text"]

    for person in (eve, clerk):
        for message in await person.transcript():
            if message.get("outgoing"):
                assert_inert(message, f"#{message['message_id']}")
    assert await world.client.refused(TOKENS[platform]) == [], "no send was refused for its markup"


async def test_a_path_like_document_name_is_stored_under_its_content_hash(
    world: World, platform: Platform, tmp_path: Path
) -> None:
    ali = await world.citizen(platform, name="علی")
    await open_card(ali, "شهرداری فلاورجان", "آزمون", "آزمون همه پرسش‌ها")
    await ali.press("📝 ثبت درخواست")
    for number, answer in enumerate(
        ("0499370899", "10380284790", "09123456789", "8491753981", "1405/09/06", "120", "علی"), start=1
    ):
        await ali.expect(f"پرسش {PERSIAN[number]} از ۸")
        await ali.send(answer)
    await ali.expect("پرسش ۸ از ۸")
    await ali.press("⏭ رد کردن")
    await ali.expect("مدرک ۱ از ۲")
    content = PDF + b"%passwd\n"
    await ali.send_document(content, filename="../../etc/passwd.pdf", mime_type="application/pdf")
    await ali.expect("مدرک ۲ از ۲")
    await ali.press("⏭ رد کردن")
    await ali.expect("بازبینی")
    await ali.press("✅ ثبت نهایی")
    await ali.expect("کد رهگیری")

    async with world.miz.factory() as session:
        [document] = (await session.scalars(select(Document))).all()
    digest = hashlib.sha256(content).hexdigest()
    assert document.stored_path == f"{digest[:2]}/{digest[2:4]}/{digest}.pdf"
    root = world.settings.files_dir
    stored = await asyncio.to_thread(lambda: (root / document.stored_path).resolve())
    assert stored.is_relative_to(await asyncio.to_thread(root.resolve))
    assert await asyncio.to_thread(stored.read_bytes) == content
    written = await asyncio.to_thread(lambda: list(tmp_path.parent.rglob("passwd*")))
    assert written == [], "no file was written by the name it came with"
    assert not re.search(r"passwd|\.\.", document.stored_path + document.mime + document.slot)


async def test_a_forged_rating_of_someone_elses_request_is_refused(world: World, platform: Platform) -> None:
    clerk = await world.clerk(platform)
    zahra, code = await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.press("🙋 برمی‌دارم", message=card)
    card = await clerk.expect("در حال بررسی")
    await clerk.press("✅ انجام شد", message=card)
    await clerk.expect("نتیجه کار را")
    await clerk.send("گواهی شماره ۱۲۳ صادر شد")
    poll = await zahra.expect("نمره")
    request_id = await request_id_of(world, code)
    assert f"rate:{request_id}:5" in [b["callback_data"] for row in poll["buttons"] for b in row]

    ali = await world.citizen(platform, name="علی")
    await ali.send("/start")
    menu = await ali.expect("میز خدمت")
    start = await screen(ali)
    before = await rows(world, request_id)
    for data in (f"rate:{request_id}:1", f"object:{request_id}"):
        answer = await forged(ali, data, message=menu)
        assert answer is not None, data
        assert answer["show_alert"], f"{data}: {answer}"
        assert "سپاس" not in str(answer["text"]), f"{data}: {answer}"
    await ali.send("خیلی بد بود")  # a comment, had the forged score opened one
    assert await rows(world, request_id) == before
    seen = " ".join(await said_since(ali, start))
    for secret in ("زهرا", grouped(code), code, "نظر"):
        assert secret not in seen, f"the attacker saw {secret!r}"

    await zahra.press("۵", message=poll)  # her own score stands against a later forgery
    await zahra.expect("امتیاز ۵ از ۵")
    rated = await rows(world, request_id)
    answer = await forged(ali, f"rate:{request_id}:1", message=menu)
    assert answer is not None
    assert answer["show_alert"]
    assert (await rows(world, request_id))["survey"] == rated["survey"] == (5, None)


async def test_a_forged_answer_button_never_answers_a_question_it_was_not_offered_for(
    world: World, platform: Platform
) -> None:
    """A modified client can press 'ans:VERSION:STEP:ANYTHING' under any question: a choice no button offers,
    or a button answer to a question that is typed (a national ID, a description) so its check is skipped."""
    ali = await world.citizen(platform, name="علی")
    await open_card(ali, "دهیاری اشترجان", "گزارش", "گزارش مشکلات شهری و روستایی")
    await ali.press("📝 ثبت درخواست")
    choices = await ali.expect("یکی از گزینه‌ها")
    real = choices["buttons"][0][0]["callback_data"]
    prefix, version, step, _ = real.split(":")
    assert (prefix, step) == ("ans", "0")

    await ali.press(data=f"ans:{version}:0:industrial", message=choices, forged=True, wait_answer=5)
    assert ali.last_answer is not None
    assert "پرسش فعلی دوباره فرستاده شد" in ali.last_answer["text"]
    await ali.expect("یکی از گزینه‌ها")  # the same question again, nothing stored
    await ali.press(next(b for b in buttons(ali.last_message) if "روشنایی" in b))
    await ali.expect("پرسش ۲ از ۴")

    # Question 2 is typed: a forged button carrying a value for it (step 1) is refused too.
    await ali.press(data=f"ans:{version}:1:yes", message=choices, forged=True, wait_answer=5)
    assert ali.last_answer is not None
    assert "پرسش فعلی دوباره فرستاده شد" in ali.last_answer["text"]
    await ali.expect("پرسش ۲ از ۴")
    await ali.send("چراغ کوچه خاموش است")
    await ali.expect("پرسش ۳ از ۴")
