"""Who sees and acts on which request: anonymous complaints, other organizations' requests, the governorate.

Each test plays a clerk with a modified client, who can press any callback data on any message of their own group,
and checks both what the attacker sees and that nothing changed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlmodel import col, select

from bot.platforms import Platform
from desk.lifecycle import Status
from desk.persian import to_persian_digits
from storage.models import ServiceRequest
from tests.e2e.test_desk import card_of, file_complaint, file_request
from tests.security.conftest import World

COMPLAINT_TITLE = "شکایت از خدمت"


@pytest.fixture
def world(any_world: World) -> World:
    """These attacks must fail on PostgreSQL as on SQLite."""
    return any_world


async def stored(world: World, *, service_id: str | None = None, code: str | None = None) -> ServiceRequest:
    """The newest request of a service, or the one with a tracking code, as the database holds it."""
    stmt = select(ServiceRequest).order_by(col(ServiceRequest.id).desc())
    if code is not None:
        stmt = stmt.where(col(ServiceRequest.tracking_code) == code)
    if service_id is not None:
        stmt = stmt.where(col(ServiceRequest.service_id) == service_id)
    async with world.miz.factory() as session:
        found = (await session.scalars(stmt)).first()
    assert found is not None
    assert found.id is not None
    return found


async def drawn_in(clerk: Any, seconds: float = 1.5) -> list[str]:
    """The texts of every bot message in the clerk's group after ``seconds`` more for the outbox to deliver."""
    await asyncio.sleep(seconds)
    return [m.get("text", "") for m in await clerk.transcript() if m.get("outgoing")]


async def forge(clerk: Any, data: str) -> str:
    """Press ``data`` on the newest message of the clerk's group, as a modified client can; the bot's answer."""
    shown = [m for m in await clerk.transcript() if m.get("outgoing")]
    if not shown:  # any bot message in the group will do: ask for the help text
        await clerk.send("/help")
        shown = [await clerk.expect("راهنما")]
    await clerk.press(data=data, message=shown[-1]["message_id"], wait_answer=20, forged=True)
    answer = clerk.last_answer or {}
    return str(answer.get("text") or "")


async def test_the_accused_organization_cannot_list_find_or_act_on_an_anonymous_complaint(
    world: World, platform: Platform
) -> None:
    accused = await world.clerk(platform, "falavarjan")
    inspector = await world.clerk(platform, "governorate")
    maryam = await world.citizen(platform, name="مریم")
    await file_complaint(maryam, anonymous=True)
    told = (await maryam.expect("ثبت شد"))["text"]
    assert "فرمانداری" in told, "she is told who handles it"
    assert "شهرداری فلاورجان" not in told, "not that the accused organization's clerk reviews it"
    card = await inspector.expect(COMPLAINT_TITLE)
    assert "دربارهٔ: شهرداری فلاورجان" in card["text"], "the inspector sees whom it accuses"
    complaint = await stored(world, service_id="complaint")
    assert complaint.organization_id == "governorate", "the governorate handles it"
    assert complaint.about_organization_id == "falavarjan", "it still records whom it is about"

    await accused.send("/open")
    listed = await accused.expect()
    assert COMPLAINT_TITLE not in listed["text"]
    await accused.send(f"/find {complaint.tracking_code}")
    await accused.expect("پیدا نشد")
    refused = await forge(accused, f"card:{complaint.id}:claim:submitted")
    assert "پیدا نشد" in refused
    assert not [t for t in await drawn_in(accused) if "مریم" in t or COMPLAINT_TITLE in t]
    assert (await stored(world, code=complaint.tracking_code)).status == Status.SUBMITTED.value


async def test_a_clerk_cannot_draw_or_claim_another_organizations_request(
    world: World, platform: Platform
) -> None:
    zahra, code = await file_request(world, platform)
    owner = await world.clerk(platform, "falavarjan")
    await card_of_when_drawn(owner, code)
    forger = await world.clerk(platform, "baharan")
    request = await stored(world, code=code)

    for action in ("claim", "takeover", "resume"):
        refused = await forge(forger, f"card:{request.id}:{action}:submitted")
        assert "پیدا نشد" in refused
    drawn = await drawn_in(forger)
    assert not [t for t in drawn if "زهرا" in t or "آزمون" in t], drawn
    await forger.send(f"/find {code}")
    await forger.expect("پیدا نشد")
    assert (await stored(world, code=code)).status == Status.SUBMITTED.value
    assert not [m for m in await zahra.transcript() if m.get("outgoing") and "بهاران" in m.get("text", "")]


async def test_a_code_pasted_in_reversed_groups_finds_the_clerks_own_request_and_nothing_elsewhere(
    world: World, platform: Platform
) -> None:
    """A clerk pastes a code from a right-to-left chat, its groups reversed ('۹۰۱۲-۵۶۷۸-۱۲۳۴'): ``/find`` and
    ``/open`` read it back as citizens' tracking does, for the organization handling it only."""
    _zahra, code = await file_request(world, platform)
    owner = await world.clerk(platform, "falavarjan")
    await card_of_when_drawn(owner, code)
    pasted = "-".join(reversed([to_persian_digits(code[i : i + 4]) for i in range(0, 12, 4)]))

    await owner.send(f"/find {pasted}")
    found = await owner.expect("نتیجه جست‌وجو")
    assert "آزمون همه پرسش‌ها" in found["text"]
    await owner.send(f"/open {pasted}")
    await owner.expect("پروندهٔ درخواست")

    forger = await world.clerk(platform, "baharan")
    await forger.send(f"/find {pasted}")
    await forger.expect("پیدا نشد")
    await forger.send(f"/open {pasted}")
    await forger.expect("پیدا نشد")
    assert not [t for t in await drawn_in(forger) if "آزمون" in t or "زهرا" in t]


async def test_request_ids_in_buttons_lead_nowhere_when_counted(world: World, platform: Platform) -> None:
    _zahra, code = await file_request(world, platform)
    forger = await world.clerk(platform, "baharan")
    answers = {await forge(forger, f"card:{request_id}:claim:submitted") for request_id in range(1, 6)}
    assert len(answers) == 1, "an id that exists elsewhere answers like one never used"
    assert not [t for t in await drawn_in(forger) if t.startswith("📥")]
    assert (await stored(world, code=code)).status == Status.SUBMITTED.value


async def test_the_governorate_reads_but_cannot_act_on_an_ordinary_request(
    world: World, platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    zahra, code = await file_request(world, platform)
    await card_of_when_drawn(await world.clerk(platform, "falavarjan"), code)
    inspector = await world.clerk(platform, "governorate")
    request = await stored(world, code=code)

    refused = await forge(inspector, f"card:{request.id}:claim:submitted")
    assert "پیدا نشد" in refused
    assert (await stored(world, code=code)).status == Status.SUBMITTED.value

    with caplog.at_level(logging.INFO, logger="miz.audit"):
        await inspector.send(f"/find {code}")
        await inspector.expect("نتیجه جست‌وجو")
        card = await card_of_when_drawn(inspector, code)
    assert not card.get("reply_markup"), "the governorate's copy of the card has no buttons"
    assert any("read request" in r.getMessage() and str(request.id) in r.getMessage() for r in caplog.records)

    await inspector.reply_to(card, "لطفاً مدارک را دوباره بفرستید")
    await inspector.expect("پیدا نشد")
    await asyncio.sleep(1)
    assert not [m for m in await zahra.transcript() if "دوباره بفرستید" in m.get("text", "")]
    assert (await stored(world, code=code)).status == Status.SUBMITTED.value


async def card_of_when_drawn(clerk: Any, code: str, timeout: float = 20) -> dict[str, Any]:  # noqa: ASYNC109
    """The card of ``code`` in the clerk's group, waiting for the outbox to draw it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await card_of(clerk, code)
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)
