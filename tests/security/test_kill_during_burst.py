"""kill -9 during a burst (finding 6 of issue 12): nothing is lost, and only the messages in flight are repeated.

One notification each to ``ROWS`` Bale citizens is queued; a sender process (``tests/security/sender_process.py``,
the real :class:`bot.outbox.OutboxSender` with its defaults) delivers them to the emulator and is killed with
SIGKILL ``KILLS`` times in the middle of the burst, each time replaced by a fresh process. At each kill the
messages in flight are counted from the outside: citizens who got their message while its row is not recorded
sent. Every citizen must get the message; one who got it twice must be one of those in flight, and they are at
most :attr:`OutboxSender.in_flight` a kill; the rows the dead process held are delivered by its successor within
seconds, not when their lease runs out.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from bot.outbox import OutboxSender
from desk.notifications import enqueue_chat, text_payload
from emulator.server import running_emulator
from emulator.state import Chat
from storage.db import create_engine, session_factory
from storage.migrate import upgrade_async
from storage.models import OutboxMessage
from storage.uow import unit_of_work

ROWS = 400
KILLS = 2
TOKEN = "2200000066:KILL-BURST-cccccccccccccccccccccccccccccc"
FIRST_USER = 660_000_000
TAKEOVER_S = 5.0  # the successor delivers every row the dead sender held within this (the lease is longer)
ROOT = Path(__file__).resolve().parents[2]


async def _until(check: Callable[[], Awaitable[bool]], timeout: float) -> bool:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def _statuses(factory: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    """Chat id -> status of its one outbox row."""
    async with factory() as session:
        rows = (await session.execute(select(OutboxMessage.chat_id, OutboxMessage.status))).all()
    return {int(chat_id or 0): str(status) for chat_id, status in rows}


async def _spawn(url: str, api_base: str, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.security.sender_process",
            url,
            api_base,
            TOKEN,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    assert process.stdout is not None
    assert await asyncio.wait_for(process.stdout.readline(), timeout=60) == b"ready\n"
    return process


def _go(process: asyncio.subprocess.Process) -> None:
    assert process.stdin is not None
    process.stdin.write(b"go\n")


async def test_a_sender_killed_mid_burst_repeats_only_what_was_in_flight(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'outbox.sqlite3'}"
    await upgrade_async(url)
    engine = create_engine(url)
    factory = session_factory(engine)
    async with running_emulator() as emu:
        account = emu.add_bot(TOKEN, "bale", username="miz_kill_bot")
        chats: dict[int, Chat] = {}
        for n in range(ROWS):
            user = emu.state.add_user(f"شهروند {n}", user_id=FIRST_USER + n)
            chats[user.id] = chat = emu.state.private_chat(account, user)
            chat.started = True
        async with unit_of_work(factory) as session:
            for chat_id in chats:
                await enqueue_chat(
                    session,
                    platform="bale",
                    chat_id=chat_id,
                    organization_id="falavarjan",
                    payload=text_payload("bot.fee.fixed", "fa", params={"amount": chat_id}),
                    dedupe_key=f"burst:{chat_id}",
                )

        def received() -> Counter[int]:
            """Chat id -> messages its citizen got."""
            return Counter(
                {
                    chat_id: sum(1 for message in chat.messages.values() if message.outgoing)
                    for chat_id, chat in chats.items()
                }
            )

        # Every sender is started (and has imported aiogram) before the burst, so a successor starts at once.
        senders = await asyncio.gather(
            *(_spawn(url, emu.base_url, tmp_path / "senders.log") for _ in range(KILLS + 1))
        )
        in_flight: list[set[int]] = []
        takeover: list[float] = []
        before: Counter[int] = Counter()
        try:
            _go(senders[0])
            for kill in range(KILLS):
                target = (kill + 1) * ROWS // (KILLS + 2)

                async def burst_reached(target: int = target) -> bool:
                    return len(+received()) >= target

                assert await _until(burst_reached, timeout=30), "the burst did not get under way"
                senders[kill].kill()
                await senders[kill].wait()
                await asyncio.sleep(0.3)  # requests already on the wire are served
                statuses = await _statuses(factory)
                now = received()
                # Delivered by the sender just killed, and not recorded sent: its messages in flight.
                in_flight.append(
                    {chat for chat in now if now[chat] > before[chat] and statuses[chat] != "sent"}
                )
                before = now
                held = {chat for chat, status in statuses.items() if status == "sending"}

                restarted = time.monotonic()
                _go(senders[kill + 1])

                async def dead_ones_rows_sent(held: set[int] = held) -> bool:
                    statuses = await _statuses(factory)
                    return all(statuses[chat] == "sent" for chat in held)

                done = await _until(dead_ones_rows_sent, timeout=TAKEOVER_S + 5)
                takeover.append(time.monotonic() - restarted if done else float("inf"))

            async def all_sent() -> bool:
                return set((await _statuses(factory)).values()) == {"sent"}

            assert await _until(all_sent, timeout=60)
        finally:
            for process in senders:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
        got = received()
    await engine.dispose()

    repeated = {chat for chat, count in got.items() if count > 1}
    figures = (
        f"{KILLS} kills over {ROWS} messages: repeated {sum(got.values()) - len(got)}, "
        f"in flight at each kill {[len(chats) for chats in in_flight]}, lost {ROWS - len(+got)}, "
        f"the dead sender's rows delivered after {[round(s, 2) for s in takeover]} s"
    )
    print(figures)
    assert len(+got) == ROWS, figures
    assert repeated <= set().union(*in_flight), figures
    assert sum(got.values()) - len(got) <= sum(len(chats) for chats in in_flight), figures
    assert all(len(chats) <= OutboxSender.in_flight for chats in in_flight), figures
    assert max(takeover) <= TAKEOVER_S, figures
