"""A modified client's inquiry buttons (issue #16): another agency, another organization, the agency posing as the
asker and a bystander are all refused; the inquiry stays open and the agency never sees the citizen."""

from __future__ import annotations

from datetime import datetime

from bot.inquiry_cards import agency_of
from bot.platforms import Platform
from desk.handling import ActorRef, claim
from desk.inquiries import InquiryState, send_inquiries
from desk.lifecycle import Actor, Status
from desk.persian import TEHRAN
from storage.repositories import Inquiries
from storage.uow import unit_of_work
from tests.e2e.test_desk import file_request
from tests.security.conftest import World
from tests.security.test_access import card_of_when_drawn, drawn_in, forge, stored

NOT_FOUND = "پیدا نشد"


async def test_forged_inquiry_buttons_are_refused_and_change_nothing(
    world: World, platform: Platform
) -> None:
    _zahra, code = await file_request(world, platform)
    owner = await world.clerk(platform, "falavarjan")
    await card_of_when_drawn(owner, code)
    request = await stored(world, code=code)
    assert request.id is not None
    catalog = world.miz.catalogs.catalog
    clerk = ActorRef(Actor.CLERK, platform.value, 1, "x", organization_id="falavarjan")
    groups = catalog.operator_groups("falavarjan")
    async with unit_of_work(world.miz.factory, write=True) as session:
        await claim(session, request.id, clerk, seen_status=Status.SUBMITTED, groups=groups)
        [inquiry] = await send_inquiries(
            session,
            request.id,
            clerk,
            [agency_of(world.miz.catalogs, "registry")],
            "آیا پلاک بازداشت است؟",
            seen_status=Status.IN_PROGRESS,
            groups=groups,
            today=datetime.now(TEHRAN).date(),
        )
    world.miz.outbox.notify()
    registry = await world.clerk(platform, "registry")
    await registry.expect("آیا پلاک بازداشت است؟")
    number = inquiry.id

    # Another agency cannot answer, ask for more or say "not ours" about the registry's inquiry.
    electricity = await world.clerk(platform, "electricity")
    for act in ("answer", "need_more", "not_ours"):
        assert NOT_FOUND in await forge(electricity, f"inq:{number}:{act}"), act
    # Another organization can neither reply as the asker, record an answer by hand, nor open the dialog.
    baharan = await world.clerk(platform, "baharan")
    for data in (f"inq:{number}:more", f"inqrec:{number}", f"inq:{number}:answer"):
        assert NOT_FOUND in await forge(baharan, data), data
    assert NOT_FOUND in await forge(baharan, f"card:{request.id}:inquire:in_progress")
    assert NOT_FOUND in await forge(baharan, f"card:{request.id}:record_answer:waiting_external")
    # The agency cannot act as the asking organization: no reply to itself, no answer by hand, no card.
    for data in (f"inq:{number}:more", f"inqrec:{number}", f"card:{request.id}:inquire:waiting_external"):
        assert NOT_FOUND in await forge(registry, data), data
    # A bystander in the agency's group is no staff of it.
    stranger = await world.stranger_in_group(platform, "registry")
    assert "برای شما نیست" in await forge(stranger, f"inq:{number}:answer")
    await stranger.send("/inquiries")
    refused = await stranger.expect("فقط کارشناسان")
    assert "آیا پلاک" not in refused["text"], "nor can they list the agency's inquiries"

    async with world.miz.factory() as session:
        after = await Inquiries(session).get(number or 0)
    assert after is not None
    assert after.state == InquiryState.OPEN
    assert (await stored(world, code=code)).status == Status.WAITING_EXTERNAL.value
    for group in (registry, electricity, baharan):
        shown = await drawn_in(group, seconds=0.5)
        assert not [text for text in shown if "زهرا" in text or "۰۴۹" in text], shown
