"""``python -m bench.workers``: how many messages two workers send in one second to one Telegram bot.

Two workers (``--workers``, default 2) each send ``--messages`` (default 150) messages to distinct private chats of
the same bot, as fast as their send limiter lets them, at Telegram's limits (``desk.platforms``: 28 a second with
a burst of 1; Telegram answers 429 past about 30). Each worker has its own :class:`bot.ratelimit.SendLimiter`
(as before, each process pacing on its own), then a :class:`bot.shared_limits.SharedSendLimiter` on the Redis at
``--redis`` (the limits shared by the cluster). The report gives the most sends in any one second and the rate
over the run; only the limiter is measured (no messenger, no database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

from bot.ratelimit import TELEGRAM, SendLimiter
from bot.shared_limits import SharedSendLimiter

__all__ = ["WorkersBenchResult", "main", "run_workers_benchmark"]


@dataclass(frozen=True, slots=True)
class Pacing:
    """What the workers together sent: the most in any one second, and the rate over the run."""

    most_in_a_second: int
    per_second: float


@dataclass(frozen=True, slots=True)
class WorkersBenchResult:
    """The figures of one run, with each worker's own limits and with the shared ones."""

    workers: int
    messages: int
    own_limits: Pacing
    shared_limits: Pacing


def _pacing(times: list[float]) -> Pacing:
    ordered = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - 1.0:
            start += 1
        most = max(most, end - start + 1)
    span = ordered[-1] - ordered[0]
    return Pacing(most, round((len(ordered) - 1) / span, 1) if span else float(len(ordered)))


async def _send_all(limiters: Sequence[SendLimiter], messages: int) -> Pacing:
    times: list[float] = []

    async def send(limiter: SendLimiter, chat: int) -> None:
        await limiter.acquire(chat)
        times.append(time.monotonic())

    await asyncio.gather(
        *(
            send(limiter, 1_000_000 * n + chat)
            for n, limiter in enumerate(limiters)
            for chat in range(messages)
        )
    )
    return _pacing(times)


async def run_workers_benchmark(redis_url: str, workers: int = 2, messages: int = 150) -> WorkersBenchResult:
    """Time ``workers`` senders of ``messages`` each, on their own limits and then on limits shared in Redis."""
    own = await _send_all([SendLimiter(TELEGRAM) for _ in range(workers)], messages)
    bot = f"telegram:bench-{uuid.uuid4().hex}"
    clients = [Redis.from_url(redis_url) for _ in range(workers)]
    try:
        shared = await _send_all([SharedSendLimiter(TELEGRAM, client, bot) for client in clients], messages)
    finally:
        for client in clients:
            await client.aclose()
    return WorkersBenchResult(workers, messages, own, shared)


def _format(result: WorkersBenchResult) -> str:
    return "\n".join(
        [
            f"Workers benchmark: {result.workers} workers x {result.messages} messages to one Telegram bot "
            "(Telegram answers 429 past about 30 a second)",
            "                         most in 1 s   rate over the run",
            f"  each its own limits    {result.own_limits.most_in_a_second:10d}   {result.own_limits.per_second:10.1f}/s",
            f"  limits shared (Redis)  {result.shared_limits.most_in_a_second:10d}   "
            f"{result.shared_limits.per_second:10.1f}/s",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures (``--json`` for machine-readable output)."""
    parser = argparse.ArgumentParser(prog="python -m bench.workers", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/15", help="Redis URL (default: database 15)"
    )
    parser.add_argument("--workers", type=int, default=2, help="workers (default 2)")
    parser.add_argument("--messages", type=int, default=150, help="messages per worker (default 150)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    result = asyncio.run(run_workers_benchmark(args.redis, args.workers, args.messages))
    print(json.dumps(asdict(result), indent=2) if args.json else _format(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
