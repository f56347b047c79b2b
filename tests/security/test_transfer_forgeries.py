"""A modified client's transfer buttons: another organization's request, a target that does not offer the service,
the organization an anonymous complaint accuses, and a second tap are all refused, and nothing moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.platforms import Platform
from bot.transfers import service_choices
from catalog import load_catalog
from desk.lifecycle import Status
from tests.e2e.test_desk import file_complaint, file_request
from tests.security.conftest import World
from tests.security.test_access import card_of_when_drawn, drawn_in, forge, stored


@pytest.fixture
def world(any_world: World) -> World:
    """These attacks must fail on PostgreSQL as on SQLite."""
    return any_world


async def test_forged_transfers_are_refused_and_move_nothing(world: World, platform: Platform) -> None:
    zahra, code = await file_request(world, platform)
    owner = await world.clerk(platform, "falavarjan")
    await card_of_when_drawn(owner, code)
    request = await stored(world, code=code)

    # Another organization's clerk cannot open the picker, page it, or pick a target for Falavarjan's request.
    forger = await world.clerk(platform, "baharan")
    for data in (
        f"card:{request.id}:transfer:submitted",
        f"xferpage:{request.id}:submitted:1",
        f"xfer:{request.id}:baharan:submitted",
    ):
        assert "پیدا نشد" in await forge(forger, data), data
    drawn = await drawn_in(forger)
    assert not [t for t in drawn if "زهرا" in t or "آزمون" in t], drawn

    # Its own clerk cannot send it where the service is not offered, nor to a made-up organization.
    for target in ("zazeran", "nowhere"):
        assert "این خدمت را ارائه نمی‌دهد" in await forge(owner, f"xfer:{request.id}:{target}:submitted")
    assert "همین سازمان" in await forge(owner, f"xfer:{request.id}:falavarjan:submitted")

    # A bystander in the group is told they are no clerk.
    stranger = await world.stranger_in_group(platform)
    assert "فقط کارشناسان" in await forge(stranger, f"xfer:{request.id}:ghahderijan:submitted")

    after = await stored(world, code=code)
    assert (after.organization_id, after.status) == ("falavarjan", Status.SUBMITTED.value)
    assert not [
        m for m in await zahra.transcript() if m.get("outgoing") and "فرستاده شد" in m.get("text", "")
    ]


async def test_an_anonymous_complaint_cannot_be_sent_to_the_accused_nor_moved_twice(
    world: World, platform: Platform
) -> None:
    inspector = await world.clerk(platform, "governorate")
    maryam = await world.citizen(platform, name="مریم")
    await file_complaint(maryam, anonymous=True)
    card = await inspector.expect("شکایت از خدمت")
    complaint = await stored(world, service_id="complaint")

    refused = await forge(inspector, f"xfer:{complaint.id}:falavarjan:submitted")
    assert "شکایت ناشناس" in refused
    await inspector.press("↪️ انتقال به سازمان دیگر", message=card)
    picker = await inspector.expect("کدام سازمان")
    offered = [b["text"] for row in picker.get("buttons", []) for b in row]
    assert "شهرداری فلاورجان" not in offered, "the accused is never offered"

    # Sent to Baharan, a second tap of the same button (or a replayed one) finds nothing to move.
    await inspector.press("شهرداری بهاران", message=picker)
    await inspector.expect("چرا این درخواست")
    await inspector.send("رسیدگی به این شکایت با بخشداری است")
    await inspector.expect("درخواست منتقل شد")
    moved = await stored(world, code=complaint.tracking_code)
    assert (moved.organization_id, moved.about_organization_id) == ("baharan", "falavarjan")
    again = await forge(inspector, f"xfer:{complaint.id}:baharan:submitted")
    assert "پیدا نشد" in again or "همین سازمان" in again

    # Baharan's clerks see whom it accuses, and cannot hand it to that organization either.
    baharan = await world.clerk(platform, "baharan")
    card = await baharan.expect("شکایت از خدمت")
    assert "دربارهٔ: شهرداری فلاورجان (این سازمان شکایت را نمی‌بیند)" in card["text"]
    assert "شکایت ناشناس" in await forge(baharan, f"xfer:{complaint.id}:falavarjan:submitted")
    assert (await stored(world, code=complaint.tracking_code)).organization_id == "baharan"


async def test_forged_service_transfers_are_refused_and_move_nothing(
    world: World, platform: Platform, catalog_dir: Path
) -> None:
    zahra, code = await file_request(world, platform)
    owner = await world.clerk(platform, "falavarjan")
    await card_of_when_drawn(owner, code)
    request = await stored(world, code=code)
    catalog = load_catalog(catalog_dir)
    choices = service_choices(catalog)
    baharan = {service.id for service in catalog.services_for("baharan")}
    # A service Baharan does not offer (a dehyari's): the button names it by its place in the picker.
    n = next(i for i, service in enumerate(choices) if service.id not in baharan)

    # Its own clerk cannot send it to an organization that does not offer the chosen service, nor name a service
    # past the end of the list.
    assert "این خدمت را ارائه نمی‌دهد" in await forge(owner, f"xfers:{request.id}:baharan:submitted:{n}")
    assert "این خدمت را ارائه نمی‌دهد" in await forge(owner, f"xfers:{request.id}:ghahderijan:submitted:9999")
    # Another organization's clerk cannot list the services, their organizations, or pick one for this request.
    forger = await world.clerk(platform, "baharan")
    for data in (
        f"xfersvcs:{request.id}:submitted:0",
        f"xfersvc:{request.id}:submitted:{n}:0",
        f"xfers:{request.id}:ghahderijan:submitted:{n}",
    ):
        assert "پیدا نشد" in await forge(forger, data), data

    after = await stored(world, code=code)
    assert (after.organization_id, after.service_id) == ("falavarjan", request.service_id)
    assert not [m for m in await zahra.transcript() if m.get("outgoing") and "از این پس" in m.get("text", "")]
