"""The two phases of ``make bench`` (the echo baseline, then Miz) and the report that compares them.

Everything runs in this one process: the emulator (in-process, on a free port), the bot under test and the
simulated citizens, all on one event loop. Each phase gets a fresh emulator, so the peak RSS of a phase is
the interpreter and its imports, the emulator, the citizens' HTTP client and the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher

from bench._echo import echo_bot, echo_dispatcher
from bench._journey import MIZ_ORG, Actor, Kind, Step, echo_journey, expand_kinds, miz_journey
from bench._measure import ApiCounter, PeakRss, SqlCounter, percentile, rss_mb
from emulator.client import EmulatorClient
from emulator.dialects import DialectName
from emulator.server import RunningEmulator, running_emulator

__all__ = ["BenchConfig", "PhaseResult", "Report", "run_benchmark"]

TOKENS = {
    "telegram": "1100000001:BENCH-TELEGRAM-aaaaaaaaaaaaaaaaaaaaaaaaaa",
    "bale": "2200000002:BENCH-BALE-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
}
PLATFORMS: tuple[DialectName, ...] = ("telegram", "bale")


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """What to run: how many citizens at once, how many requests each files, on which platforms."""

    citizens: int = 50
    rounds: int = 1
    platforms: tuple[DialectName, ...] = PLATFORMS
    warmup: bool = True
    profile: Path | None = None  # write a cProfile of the Miz phase here (slows Miz down)
    wait_timeout: float = 20.0  # a citizen that waits longer for an answer fails the run
    think: float = 0.0  # mean seconds a citizen reads before the next action (0: act at once, saturation)


@dataclass
class PhaseResult:
    """The figures of one phase."""

    name: str
    citizens: int
    actions: int
    wall_s: float
    updates_per_s: float
    cpu_ms_per_update: float  # the whole process: bot, emulator and citizens
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    peak_rss_mb: float
    api_calls: dict[str, int] = field(default_factory=dict)
    sql: dict[str, int] = field(default_factory=dict)
    sql_ms: dict[str, float] = field(default_factory=dict)

    @property
    def api_per_update(self) -> float:
        """Bot API calls per update."""
        return sum(self.api_calls.values()) / self.actions if self.actions else 0.0

    @property
    def sql_ms_per_update(self) -> float:
        """Milliseconds spent waiting for SQL statements per update (lock waits included)."""
        return sum(self.sql_ms.values()) / self.actions if self.actions else 0.0

    @property
    def sql_per_update(self) -> float:
        """SQL statements (BEGIN and PRAGMA included) per update."""
        executed = sum(n for word, n in self.sql.items() if word not in ("COMMIT", "ROLLBACK"))
        return executed / self.actions if self.actions else 0.0


@dataclass
class Report:
    """Both phases and how Miz compares with the echo bot."""

    config: BenchConfig
    base_rss_mb: float
    echo: PhaseResult
    miz: PhaseResult

    @property
    def throughput_ratio(self) -> float:
        """Miz's updates/s over the echo bot's (target: at least 0.5)."""
        return self.miz.updates_per_s / self.echo.updates_per_s if self.echo.updates_per_s else 0.0

    @property
    def p95_ratio(self) -> float:
        """Miz's p95 latency over the echo bot's."""
        return self.miz.p95_ms / self.echo.p95_ms if self.echo.p95_ms else 0.0

    @property
    def rss_ratio(self) -> float:
        """Miz's peak RSS over the echo phase's."""
        return self.miz.peak_rss_mb / self.echo.peak_rss_mb if self.echo.peak_rss_mb else 0.0

    @property
    def cpu_ratio(self) -> float:
        """Miz's process CPU time per update over the echo phase's."""
        return (
            self.miz.cpu_ms_per_update / self.echo.cpu_ms_per_update if self.echo.cpu_ms_per_update else 0.0
        )

    @property
    def targets_met(self) -> dict[str, bool]:
        """The issue's targets: half the echo bot's throughput, p95 under 100 ms."""
        return {
            "throughput >= 0.5 x echo": self.throughput_ratio >= 0.5,
            "p95 < 100 ms": self.miz.p95_ms < 100,
        }

    def as_dict(self) -> dict[str, Any]:
        """Everything, for ``--json``."""
        config = asdict(self.config)
        config["profile"] = str(self.config.profile) if self.config.profile else None
        phases = {}
        for phase in (self.echo, self.miz):
            phases[phase.name] = {
                **asdict(phase),
                "api_per_update": round(phase.api_per_update, 3),
                "sql_per_update": round(phase.sql_per_update, 3),
                "sql_ms_per_update": round(phase.sql_ms_per_update, 3),
            }
        return {
            "config": config,
            "base_rss_mb": round(self.base_rss_mb, 1),
            **phases,
            "ratios": {
                "throughput": round(self.throughput_ratio, 3),
                "p95": round(self.p95_ratio, 3),
                "peak_rss": round(self.rss_ratio, 3),
                "cpu_per_update": round(self.cpu_ratio, 3),
            },
            "targets_met": self.targets_met,
        }


# ------------------------------------------------------------------------------------------- phases


@dataclass
class _Running:
    """A bot under test, polling the emulator until ``stop``."""

    bots: list[Bot]
    stop: Callable[[], Any]
    sql: SqlCounter | None = None


async def _drive(
    emu: RunningEmulator,
    config: BenchConfig,
    journey: list[Step],
    *,
    by_data: bool,
    on_measure: Callable[[bool], None],
) -> tuple[list[Actor], float, float]:
    """Warm up, then run ``config.citizens`` actors at once; answers the actors, the wall and CPU time."""
    async with EmulatorClient(emu.base_url) as client:

        async def actor(index: int) -> Actor:
            user = await client.create_user(f"شهروند {index}")
            platform = config.platforms[index % len(config.platforms)]
            return Actor(
                client, TOKENS[platform], int(user["id"]), by_data, config.wait_timeout, think=config.think
            )

        if config.warmup:
            on_measure(False)
            warm = [await actor(i) for i in range(len(config.platforms))]
            await asyncio.gather(*(a.run(journey) for a in warm))
        actors = [await actor(i) for i in range(config.citizens)]
        on_measure(True)

        async def one(a: Actor) -> None:
            for _ in range(config.rounds):
                await a.run(journey)

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(a) for a in actors))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        on_measure(False)
        return actors, wall, cpu


def _result(
    name: str,
    actors: list[Actor],
    times: tuple[float, float],
    peak: float,
    api: ApiCounter,
    sql: SqlCounter | None,
) -> PhaseResult:
    wall, cpu = times
    latencies = [x * 1000 for a in actors for x in a.latencies]
    actions = len(latencies)
    return PhaseResult(
        name=name,
        citizens=len(actors),
        actions=actions,
        wall_s=wall,
        updates_per_s=actions / wall if wall else 0.0,
        cpu_ms_per_update=cpu * 1000 / actions if actions else 0.0,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies, default=0.0),
        mean_ms=sum(latencies) / actions if actions else 0.0,
        peak_rss_mb=peak,
        api_calls=dict(api.calls.most_common()),
        sql=dict(sql.statements.most_common()) if sql else {},
        sql_ms={k: round(v * 1000, 1) for k, v in sql.seconds.most_common()} if sql else {},
    )


@contextlib.asynccontextmanager
async def _emulator(config: BenchConfig, *, chat_instance: bool) -> AsyncIterator[RunningEmulator]:
    async with running_emulator() as emu:
        for platform in config.platforms:
            options = {"chat_instance": True} if chat_instance and platform == "bale" else {}
            emu.add_bot(TOKENS[platform], platform, username=f"bench_{platform}_bot", **options)
        yield emu


async def _poll(dp: Dispatcher, bots: list[Bot], **kwargs: Any) -> asyncio.Task[None]:
    task = asyncio.create_task(
        dp.start_polling(*bots, polling_timeout=1, handle_signals=False, close_bot_session=True, **kwargs)
    )
    await asyncio.sleep(0)
    return task


async def run_echo(config: BenchConfig, kinds: list[Kind]) -> PhaseResult:
    """The baseline: a bare aiogram echo bot, the same updates, the same emulator."""
    api = ApiCounter()
    # A bare aiogram cannot parse Bale callbacks without chat_instance (see DESIGN.md), so the echo
    # bot's Bale chat carries it; Miz's Bale chat has the real dialect.
    async with PeakRss() as peak, _emulator(config, chat_instance=True) as emu:
        bots = [echo_bot(TOKENS[p], emu.base_url) for p in config.platforms]
        api.attach(bots)
        dp = echo_dispatcher()
        task = await _poll(dp, bots)
        try:
            actors, wall, cpu = await _drive(
                emu, config, echo_journey(kinds), by_data=True, on_measure=_switch(api)
            )
        finally:
            await dp.stop_polling()
            await asyncio.wait_for(task, timeout=10)
    return _result("echo", actors, (wall, cpu), peak.mb, api, None)


async def run_miz(config: BenchConfig, workdir: Path) -> PhaseResult:
    """Miz itself (SQLite in ``workdir``, the built-in catalog), polling the emulator as in production."""
    from bot.app import BotSpec, Miz
    from bot.platforms import Platform
    from desk.settings import PROJECT_ROOT, Settings

    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{workdir / 'miz.sqlite3'}",
        files_dir=workdir / "files",
        catalog_dir=PROJECT_ROOT / "catalog" / "data",
        telegram_token=None,
        bale_token=None,
        redis_url=None,
        locale="fa",
    )
    api, sql = ApiCounter(), SqlCounter()
    profiler = cProfile.Profile() if config.profile else None
    async with PeakRss() as peak, _emulator(config, chat_instance=False) as emu:
        miz = Miz(settings, [BotSpec(Platform(p), TOKENS[p], emu.base_url) for p in config.platforms])
        await miz.prepare()
        api.attach(miz.bots)
        sql.attach(miz.engine)
        task = asyncio.create_task(miz.run(polling_timeout=1))
        measure = _switch(api, sql)

        def on_measure(on: bool) -> None:
            measure(on)
            if profiler is not None:
                profiler.enable() if on else profiler.disable()

        try:
            actors, wall, cpu = await _drive(emu, config, miz_journey(), by_data=False, on_measure=on_measure)
        finally:
            await miz.stop()
            await asyncio.wait_for(task, timeout=10)
    if profiler is not None and config.profile is not None:
        profiler.dump_stats(config.profile)
    return _result("miz", actors, (wall, cpu), peak.mb, api, sql)


def _switch(api: ApiCounter, sql: SqlCounter | None = None) -> Callable[[bool], None]:
    """Counters count only the measured part (not the warm-up): reset and enable, or disable."""

    def switch(on: bool) -> None:
        for counter in (api, sql):
            if counter is None:
                continue
            counter.enabled = on
            if on:
                if isinstance(counter, ApiCounter):
                    counter.calls = Counter()
                else:
                    counter.statements = Counter()
                    counter.seconds = Counter()

    return switch


def _org_pages() -> int:
    """How many times a citizen presses "next" before the organization shows (as the browse dialog pages)."""
    from bot.keyboards import PAGE_SIZE
    from catalog.loader import load_catalog
    from desk.settings import PROJECT_ROOT

    catalog = load_catalog(PROJECT_ROOT / "catalog" / "data")
    names = [o.name.get("fa") for o in catalog.organizations if catalog.services_for(o.id)]
    return names.index(MIZ_ORG) // PAGE_SIZE


async def run_benchmark(config: BenchConfig) -> Report:
    """Run the echo baseline, then Miz, with the same citizens and actions; answer both phases' figures."""
    kinds = expand_kinds(miz_journey(), _org_pages())
    base = rss_mb()
    echo = await run_echo(config, kinds)
    with tempfile.TemporaryDirectory(prefix="miz-bench-") as tmp:
        miz = await run_miz(config, Path(tmp))
    if miz.actions != echo.actions:
        raise RuntimeError(f"Miz took {miz.actions} actions and echo {echo.actions}: the journeys differ")
    return Report(config, base, echo, miz)
