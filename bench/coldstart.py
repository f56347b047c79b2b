"""``python -m bench.coldstart``: how long ``miz run`` takes from its start to its first ``getUpdates``.

``miz run`` is started as a new process (``python -m bot.cli run``) with a Telegram token pointing at an emulator
served by this process, on a SQLite database of its own, ``--runs`` times (default 3) one after another; each
run is timed from the moment the process is spawned until the emulator receives its first ``getUpdates``, then
the process is stopped (SIGINT, as Ctrl-C). A first run, not counted, migrates the new database and leaves the
bytecode and catalog caches warm, as on a server that has started once. The report gives every run and their
median, and where the time of one start goes (``python -X importtime``: importing ``bot.app``, of which
aiogram's types; loading the catalog).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from emulator.server import running_emulator
from emulator.state import BotAccount

__all__ = ["ColdStartResult", "main", "run_coldstart_benchmark"]

TOKEN = "1100000099:BENCH-COLDSTART-eeeeeeeeeeeeeeeeeeeeeeeeeeee"
ROOT = Path(__file__).resolve().parent.parent
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


@dataclass(frozen=True, slots=True)
class ColdStartResult:
    """The figures of one benchmark: seconds to the first ``getUpdates``, and where a start's time goes."""

    runs_s: list[float]
    median_s: float
    import_bot_app_s: float
    import_aiogram_types_s: float


def _environment(directory: Path, api_base: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("MIZ_")}
    env.update(
        PYTHONPATH=str(ROOT),
        MIZ_TELEGRAM_TOKEN=TOKEN,
        MIZ_TELEGRAM_API_BASE=api_base,
        MIZ_DATABASE_URL=f"sqlite+aiosqlite:///{directory / 'miz.sqlite3'}",
        MIZ_FILES_DIR=str(directory / "files"),
    )
    return env


async def _one_start(account: BotAccount, env: dict[str, str], directory: Path) -> float:
    """Seconds from spawning ``miz run`` to its first ``getUpdates``."""
    polls = account.poll_generation
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        cwd=directory,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        while account.poll_generation == polls:
            if process.returncode is not None:
                raise RuntimeError(f"miz run ended with {process.returncode} before polling")
            await asyncio.sleep(0.005)
        return time.perf_counter() - started
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), timeout=30)
            except TimeoutError:
                process.kill()
                await process.wait()


def _import_seconds(module: str, env: dict[str, str]) -> dict[str, float]:
    """Cumulative import seconds per module when ``module`` is imported in a new interpreter."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if match := _IMPORT_LINE.match(line):
            seconds.setdefault(match.group(4), int(match.group(2)) / 1e6)
    return seconds


async def run_coldstart_benchmark(runs: int = 3) -> ColdStartResult:
    """Start ``miz run`` once to warm up, then ``runs`` times, timing each to its first ``getUpdates``."""
    with tempfile.TemporaryDirectory(prefix="miz-bench-coldstart-") as tmp:
        directory = Path(tmp)
        async with running_emulator() as emu:
            account = emu.add_bot(TOKEN, "telegram", username="miz_coldstart_bot")
            env = _environment(directory, emu.base_url)
            await _one_start(account, env, directory)  # migrates the database, warms the caches
            times = [round(await _one_start(account, env, directory), 2) for _ in range(runs)]
        imports = _import_seconds("bot.app", env)
    return ColdStartResult(
        runs_s=times,
        median_s=round(statistics.median(times), 2),
        import_bot_app_s=round(imports.get("bot.app", 0.0), 2),
        import_aiogram_types_s=round(imports.get("aiogram.types", 0.0), 2),
    )


def _format(result: ColdStartResult) -> str:
    runs = ", ".join(f"{seconds:.2f}" for seconds in result.runs_s)
    return "\n".join(
        [
            "Cold start: `miz run` (Telegram, SQLite, the built-in catalog) from spawn to its first getUpdates",
            f"  median      {result.median_s:6.2f} s   (runs: {runs})",
            f"  of a start: importing bot.app {result.import_bot_app_s:.2f} s, "
            f"of which aiogram.types {result.import_aiogram_types_s:.2f} s",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures (``--json`` for machine-readable output)."""
    parser = argparse.ArgumentParser(prog="python -m bench.coldstart", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed starts (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    result = asyncio.run(run_coldstart_benchmark(args.runs))
    print(json.dumps(asdict(result), indent=2) if args.json else _format(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
