"""Locks held for a process's life, in the database: one holder at a time, and a process that dies lets go."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.locks import try_lock
from tests.conftest import Database

ROOT = Path(__file__).resolve().parents[2]

_HOLDER = """
import asyncio, json, sys
from storage.db import create_engine
from storage.locks import try_lock

async def main():
    url, options, name = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    lock = await try_lock(create_engine(url, **options), name)
    print("held" if lock else "refused", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_one_process_holds_a_lock_until_it_lets_go(engine: AsyncEngine) -> None:
    first = await try_lock(engine, "poller:telegram:abc")
    assert first is not None
    assert await try_lock(engine, "poller:telegram:abc") is None, "the second holder is refused"
    other = await try_lock(engine, "poller:bale:def")
    assert other is not None, "another name is another lock"
    await first.release()
    again = await try_lock(engine, "poller:telegram:abc")
    assert again is not None, "released: the next one gets it"
    await again.release()
    await other.release()


async def test_a_process_killed_while_holding_a_lock_lets_go(engine: AsyncEngine, database: Database) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HOLDER,
        database.url,
        json.dumps(database.options),
        "outbox:bale",
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert holder.stdout is not None
        assert await asyncio.wait_for(holder.stdout.readline(), timeout=120) == b"held\n"
        assert await try_lock(engine, "outbox:bale") is None
    finally:
        holder.send_signal(signal.SIGKILL)
        await holder.wait()
    deadline = time.monotonic() + 10
    while (lock := await try_lock(engine, "outbox:bale")) is None and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)  # PostgreSQL ends the session once it sees the connection close
    assert lock is not None, "the dead process's lock ended with it"
    await lock.release()


async def test_a_lock_whose_database_session_ended_knows_it_is_no_longer_held(
    engine: AsyncEngine, database: Database
) -> None:
    lock = await try_lock(engine, "scheduler")
    assert lock is not None
    assert await lock.held()
    if database.backend == "postgresql":
        # The server ends the session (a restart, an administrator): the advisory lock goes with it.
        from sqlalchemy import text

        holding = lock._connection  # type: ignore[attr-defined]
        pid = await holding.scalar(text("SELECT pg_backend_pid()"))
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert not await lock.held()
        other = await try_lock(engine, "scheduler")
        assert other is not None, "another process may take it now"
        await other.release()
    await lock.release()
    assert not await lock.held()
