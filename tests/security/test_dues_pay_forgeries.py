"""A modified Bale client's wallet buttons for dues: another citizen's car's due, a made-up key and another
due are all refused, and no invoice reveals or takes anything (issue #17)."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.callbacks import DuesPay
from bot.platforms import Platform
from tests.e2e.test_dues_certificates import ask_dues
from tests.e2e.test_payments import with_wallet
from tests.e2e.test_vehicle_dues import seed_vehicle_dues
from tests.security.conftest import World

STALE = "این دکمه دیگر کار نمی‌کند"


def pay_button(message: dict[str, Any]) -> DuesPay:
    (data,) = [b["callback_data"] for row in message["buttons"] for b in row if "callback_data" in b]
    return DuesPay.unpack(data)


async def invoices(citizen: Any) -> list[dict[str, Any]]:
    return [m for m in await citizen.transcript() if m.get("invoice")]


async def test_another_citizen_cannot_pay_or_see_a_cars_due_with_a_forged_button(world: World) -> None:
    await with_wallet(world)
    await seed_vehicle_dues(world)
    zahra = await world.citizen(Platform.BALE)
    await zahra.send("/start")
    await zahra.expect("میز خدمت")
    await ask_dues(zahra, "12 ب 345 67")
    await zahra.send("0499370899")
    offer = await zahra.expect("کیف پول بله")
    button = pay_button(offer)

    mallory = await world.citizen(Platform.BALE, name="ملوری")
    await mallory.send("/start")
    shown = await mallory.expect("میز خدمت")
    forgeries = (
        button.pack(),  # Zahra's own button, replayed by Mallory: its key is Zahra's
        DuesPay(due=button.due, pid=button.pid, key="A" * 12).pack(),  # a made-up key
        DuesPay(due=button.due + 1, pid=button.pid, key=button.key).pack(),  # another due, Zahra's key
    )
    for data in forgeries:
        await mallory.press(data=data, message=shown["message_id"], wait_answer=20, forged=True)
        refusal = await mallory.expect(STALE)
        assert "۸۵۰٬۰۰۰" not in refusal["text"]
    await asyncio.sleep(1.0)
    assert await invoices(mallory) == []
    texts = [m.get("text") or "" for m in await mallory.transcript()]
    assert not [t for t in texts if "۸۵۰٬۰۰۰" in t or ("پلاک" in t and "۳۴۵" in t)], texts
