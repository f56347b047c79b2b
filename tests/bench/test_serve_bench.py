"""``python -m bench.serve`` runs end to end, tiny: two ``miz serve`` workers sharing one port behind the emulator's
webhooks (several deliveries at once), a handful of citizens, and not one answer lost or doubled."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from bench.serve import run_one
from tests.conftest import PG_URL, REDIS_URL, postgres_unreachable, redis_unreachable, skip_or_fail

pytestmark = pytest.mark.slow

BENCH_REDIS_DB = 13
"""The bench empties its Redis database: a number of its own, never the one the other tests share."""


async def test_two_workers_answer_every_citizen_once() -> None:
    for reason in (await postgres_unreachable(), await redis_unreachable()):
        if reason:
            skip_or_fail(reason)
    redis = make_url(REDIS_URL).set(database=str(BENCH_REDIS_DB)).render_as_string(hide_password=False)

    result = await run_one(2, citizens=6, messages=2, postgres=PG_URL, redis=redis, connections=4)

    assert result.commands == 12
    assert result.lost == 0
    assert result.duplicated == 0
    assert result.commands_per_s > 0
    assert result.cores >= 1
