"""The harness itself: a citizen is answered on either back-end (so the attacks below test Miz, not a dead bot)."""

from __future__ import annotations

from bot.platforms import Platform
from tests.security.conftest import World


async def test_a_citizen_is_answered_on_postgresql(pg_world: World) -> None:
    citizen = await pg_world.citizen(Platform.TELEGRAM)
    await citizen.send("/start")
    reply = await citizen.expect()
    assert reply["text"]
