"""``python -m bench``: the command line, the table and the JSON output."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bench._runner import PLATFORMS, BenchConfig, PhaseResult, Report, run_benchmark

__all__ = ["format_report", "main"]


def format_report(report: Report) -> str:
    """The human-readable table of both phases, the ratios and the targets."""
    config = report.config
    rows: list[tuple[str, str, Callable[[PhaseResult], float]]] = [
        ("citizens (N)", "d", lambda p: p.citizens),
        ("actions (updates)", "d", lambda p: p.actions),
        ("wall time s", ".2f", lambda p: p.wall_s),
        ("updates/s", ".1f", lambda p: p.updates_per_s),
        ("p50 ms", ".1f", lambda p: p.p50_ms),
        ("p95 ms", ".1f", lambda p: p.p95_ms),
        ("p99 ms", ".1f", lambda p: p.p99_ms),
        ("max ms", ".1f", lambda p: p.max_ms),
        ("peak RSS MB", ".1f", lambda p: p.peak_rss_mb),
        ("CPU ms/update (bot)", ".2f", lambda p: p.cpu_ms_per_update),
        ("CPU ms/update (emulator)", ".2f", lambda p: p.emulator_cpu_ms_per_update),
        ("Bot API calls/update", ".2f", lambda p: p.api_per_update),
        ("SQL statements/update", ".2f", lambda p: p.sql_per_update),
        ("SQL wait ms/update", ".1f", lambda p: p.sql_ms_per_update),
    ]
    ratios = {
        "updates/s": report.throughput_ratio,
        "p95 ms": report.p95_ratio,
        "peak RSS MB": report.rss_ratio,
        "CPU ms/update (bot)": report.cpu_ratio,
    }
    lines = [
        f"Miz benchmark: {config.citizens} citizens at once, {config.rounds} request(s) each, "
        f"on {' + '.join(config.platforms)}, SQLite; emulator and citizens in a second process",
        "",
        f"{'':24}{'Miz':>12}{'echo':>12}{'Miz/echo':>12}",
    ]
    for label, spec, get in rows:
        ratio = f"{ratios[label]:>12.2f}" if label in ratios else f"{'':>12}"
        lines.append(f"{label:24}{get(report.miz):>12{spec}}{get(report.echo):>12{spec}}{ratio}")
    lines += [
        "",
        f"Peak RSS and CPU are the bot's process alone: the interpreter and imports ({report.base_rss_mb:.1f} MB",
        "before any phase) and the bot; the emulator and the citizens' clients run in a second process",
        f"(its CPU per update is shown apart). Miz adds {report.miz.peak_rss_mb - report.echo.peak_rss_mb:.1f} MB "
        "over the bare aiogram echo bot.",
        "Latency: from the control API call that creates the update to the first bot message or edit.",
        "",
    ]
    if report.paced_miz is not None and report.paced_echo is not None:
        lines += _paced_lines(report, report.paced_miz, report.paced_echo)
    lines += [
        "Targets: "
        + ", ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in report.targets_met.items()),
        "Miz Bot API calls: " + ", ".join(f"{k} {v}" for k, v in report.miz.api_calls.items()),
        "Miz SQL: " + ", ".join(f"{k} {v}" for k, v in report.miz.sql.items()),
        "Miz SQL wait ms: " + ", ".join(f"{k} {v:.0f}" for k, v in report.miz.sql_ms.items()),
    ]
    if config.profile:
        lines.append(
            f"cProfile of the Miz phase written to {config.profile} (figures slowed by the profiler)"
        )
    return "\n".join(lines)


def _paced_lines(report: Report, miz: PhaseResult, echo: PhaseResult) -> list[str]:
    """The second run: the same citizens pausing like people, where latency is the bot's and not a queue's."""
    lines = [
        f"At a human pace: the same {report.config.citizens} citizens pause {report.config.paced:g} s on average "
        "(0.5x to 1.5x) before each action",
        f"{'':24}{'Miz':>12}{'echo':>12}",
    ]
    rows: list[tuple[str, Callable[[PhaseResult], float]]] = [
        ("updates/s", lambda p: p.updates_per_s),
        ("p50 ms", lambda p: p.p50_ms),
        ("p95 ms", lambda p: p.p95_ms),
        ("p99 ms", lambda p: p.p99_ms),
        ("max ms", lambda p: p.max_ms),
        ("CPU ms/update (bot)", lambda p: p.cpu_ms_per_update),
    ]
    for label, get in rows:
        lines.append(f"{label:24}{get(miz):>12.1f}{get(echo):>12.1f}")
    lines += [
        "At saturation (the first table) every citizen acts the moment it is answered, so latency is mostly",
        "waiting in line: about citizens / updates per second. The latency target is read here.",
        "",
    ]
    return lines


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Miz against a bare aiogram echo bot: N citizens file a request at once through the emulator.",
    )
    parser.add_argument("--citizens", "-n", type=int, default=50, help="simulated citizens at once (50)")
    parser.add_argument(
        "--rounds", "-r", type=int, default=1, help="requests each citizen files in a row (1)"
    )
    parser.add_argument(
        "--platform",
        choices=[*PLATFORMS, "both"],
        default="both",
        help="citizens on Telegram, on Bale, or alternately on both (both)",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds a citizen pauses between actions (0: act at once, measuring saturation)",
    )
    parser.add_argument(
        "--paced",
        type=float,
        default=1.0,
        help="then run both bots again with citizens pausing this many seconds on average, "
        "where the latency target is read (1.0; 0: skip)",
    )
    parser.add_argument("--no-warmup", action="store_true", help="measure from a cold bot")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the Miz phase to this file")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report; 0 when every citizen got a tracking code (targets are reported, not enforced)."""
    args = _parser().parse_args(argv)
    if args.citizens < 1 or args.rounds < 1:
        print("--citizens and --rounds must be at least 1", file=sys.stderr)
        return 2
    if args.paced < 0 or args.think < 0:
        print("--paced and --think cannot be negative", file=sys.stderr)
        return 2
    config = BenchConfig(
        citizens=args.citizens,
        rounds=args.rounds,
        platforms=PLATFORMS if args.platform == "both" else tuple(p for p in PLATFORMS if p == args.platform),
        warmup=not args.no_warmup,
        profile=args.profile,
        think=args.think,
        paced=args.paced,
    )
    try:
        report = asyncio.run(run_benchmark(config))
    except (TimeoutError, RuntimeError) as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) if args.json else format_report(report))
    return 0
