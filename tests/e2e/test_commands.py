"""Commands and menus work from anywhere, and no answer is a dead end (issue #14, items 6 to 9 and 13)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.platforms import Platform
from desk.tracking import new_tracking_code

from .test_desk import file_request  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow


async def test_a_mistyped_tracking_code_can_be_corrected_where_the_national_id_is_asked(
    world: Any, platform: Platform
) -> None:
    zahra, code = await file_request(world, platform)
    await zahra.press("🔎 پیگیری درخواست")
    await zahra.expect("کد رهگیری درخواست")
    await zahra.send(new_tracking_code())  # a well-formed code, but not hers
    asked = await zahra.expect("این کد در درخواست‌های شما نیست")
    assert "کد درست را بفرستید" in asked["text"]
    await zahra.send(code)  # the corrected code, not a national ID
    tracked = await zahra.expect("وضعیت")
    assert "آزمون همه پرسش‌ها" in tracked["text"]
