"""``python -m bench.lanes``: how long one platform's messages wait behind another platform's backlog.

A Telegram backlog of T notifications (``--telegram``, default 1,500: 50 s at Telegram's 30 messages/s) is
committed to the outbox first, then B Bale notifications (``--bale``, default 100), each to a different
citizen's private chat. One :class:`bot.outbox.OutboxSender` holding both bots delivers them to the emulator
(Telegram's ``rate_limits`` on, answered with 429 beyond). The report gives, per platform, how long its
messages waited from the sender's start until each was marked sent (median, 95th percentile, most): with one
lane per platform, Bale's messages leave at once whatever Telegram's backlog; with one claim for both, they
waited behind it.

Everything runs in this process (emulator, SQLite database, sender), like ``python -m bench.outbox``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import BotSpec, make_bot
from bot.outbox import OutboxSender
from bot.platforms import Platform
from desk.notifications import enqueue_chat, text_payload
from emulator.dialects import DialectName
from emulator.server import RunningEmulator, running_emulator
from storage.db import create_engine, session_factory
from storage.migrate import upgrade_async
from storage.models import OutboxMessage
from storage.uow import unit_of_work

__all__ = ["LaneWaits", "LanesBenchResult", "main", "run_lanes_benchmark"]

TOKENS = {
    "telegram": "1100000001:BENCH-LANES-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "bale": "2200000002:BENCH-LANES-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
}
_FIRST_USER_ID = {"telegram": 500_000_000, "bale": 600_000_000}
_ENQUEUE_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class LaneWaits:
    """Seconds one platform's messages waited, from the sender's start until each was marked sent."""

    messages: int
    median_s: float
    p95_s: float
    max_s: float


@dataclass(frozen=True, slots=True)
class LanesBenchResult:
    """The figures of one run."""

    telegram: LaneWaits
    bale: LaneWaits
    wall_s: float


def _waits(seconds: list[float]) -> LaneWaits:
    ordered = sorted(seconds)
    if not ordered:
        return LaneWaits(0, 0.0, 0.0, 0.0)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return LaneWaits(len(ordered), round(statistics.median(ordered), 2), round(p95, 2), round(ordered[-1], 2))


async def _queue(factory: async_sessionmaker[AsyncSession], platform: str, chat_ids: Sequence[int]) -> None:
    for first in range(0, len(chat_ids), _ENQUEUE_CHUNK):
        async with unit_of_work(factory) as session:
            for chat_id in chat_ids[first : first + _ENQUEUE_CHUNK]:
                await enqueue_chat(
                    session,
                    platform=platform,
                    chat_id=chat_id,
                    organization_id="falavarjan",
                    payload=text_payload("bot.fee.fixed", "fa", params={"amount": chat_id % 1000}),
                    dedupe_key=f"bench:{platform}:{chat_id}",
                )


def _citizens(emu: RunningEmulator, platform: DialectName, count: int) -> list[int]:
    account = emu.add_bot(
        TOKENS[platform], platform, username=f"miz_lanes_{platform}_bot", rate_limits=platform == "telegram"
    )
    chat_ids = []
    for n in range(count):
        user = emu.state.add_user(f"شهروند {n}", user_id=_FIRST_USER_ID[platform] + n)
        emu.state.private_chat(account, user).started = True
        chat_ids.append(user.id)
    return chat_ids


async def run_lanes_benchmark(telegram: int, bale: int) -> LanesBenchResult:
    """Queue a Telegram backlog, then Bale messages, and time how long each platform's messages wait."""
    with tempfile.TemporaryDirectory(prefix="miz-bench-lanes-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'lanes.sqlite3'}"
        await upgrade_async(url)
        engine = create_engine(url)
        factory = session_factory(engine)
        async with running_emulator() as emu:
            await _queue(factory, "telegram", _citizens(emu, "telegram", telegram))
            await _queue(factory, "bale", _citizens(emu, "bale", bale))
            bots = {
                name: make_bot(BotSpec(Platform(name), token, emu.base_url)) for name, token in TOKENS.items()
            }
            waits: dict[str, list[float]] = {"telegram": [], "bale": []}
            started = time.perf_counter()

            async def record(_session: AsyncSession, row: OutboxMessage, _message_id: int | None) -> None:
                waits[str(row.platform)].append(time.perf_counter() - started)

            sender = OutboxSender(factory, bots, on_sent=record)
            task = asyncio.create_task(sender.run())
            try:
                await sender.drain(timeout=telegram / 10 + bale / 10 + 60)
            finally:
                await sender.stop()
                await task
            wall_s = time.perf_counter() - started
            for bot in bots.values():
                await bot.session.close()
        await engine.dispose()
    return LanesBenchResult(_waits(waits["telegram"]), _waits(waits["bale"]), round(wall_s, 2))


def _format(result: LanesBenchResult) -> str:
    lines = [
        f"Lanes benchmark: a Telegram backlog of {result.telegram.messages} messages queued before "
        f"{result.bale.messages} Bale messages, one sender, emulator rate limits on for Telegram, SQLite",
        f"  wall time {result.wall_s:.2f} s; seconds from the sender's start until sent:",
        "                 median      p95      max",
    ]
    for name, waits in (("Telegram", result.telegram), ("Bale", result.bale)):
        lines.append(f"  {name:<10} {waits.median_s:10.2f} {waits.p95_s:8.2f} {waits.max_s:8.2f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures (``--json`` for machine-readable output)."""
    parser = argparse.ArgumentParser(prog="python -m bench.lanes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--telegram", type=int, default=1500, help="Telegram backlog (default 1500)")
    parser.add_argument("--bale", type=int, default=100, help="Bale messages queued after it (default 100)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(run_lanes_benchmark(args.telegram, args.bale))
    print(json.dumps(asdict(result), indent=2) if args.json else _format(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
