"""``python -m bench.lanes`` runs end to end, and Bale's messages do not wait for Telegram's backlog."""

from __future__ import annotations

import pytest

from bench.lanes import run_lanes_benchmark

pytestmark = pytest.mark.slow


async def test_bale_messages_leave_before_a_telegram_backlog_drains() -> None:
    result = await run_lanes_benchmark(telegram=90, bale=5)  # three seconds of Telegram at 30 a second
    assert (result.telegram.messages, result.bale.messages) == (90, 5)
    assert result.bale.max_s < result.telegram.max_s / 2
