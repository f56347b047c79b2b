"""`make bench` runs end to end: two citizens file a request with Miz and with the echo bot, and every figure is there."""

from __future__ import annotations

import json

import pytest

from bench import BenchConfig, format_report, main, run_benchmark

pytestmark = pytest.mark.slow

FIGURES = (
    "actions",
    "wall_s",
    "updates_per_s",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "peak_rss_mb",
    "cpu_ms_per_update",
)


async def test_two_citizens_report_every_figure_for_miz_and_echo_and_at_a_human_pace() -> None:
    """One run of the whole benchmark (each costs seconds): the full-speed figures, then the paced ones."""
    report = await run_benchmark(BenchConfig(citizens=2, warmup=False, paced=0.02))

    figures = report.as_dict()
    for phase in ("miz", "echo"):
        assert figures[phase]["citizens"] == 2
        for name in FIGURES:
            assert figures[phase][name] > 0, f"{phase} {name}"
    assert figures["miz"]["actions"] == figures["echo"]["actions"] >= 2 * 13
    assert figures["miz"]["sql_per_update"] > 0, "Miz keeps its conversations in SQLite"
    assert set(figures["ratios"]) >= {"throughput", "p95", "peak_rss"}
    json.dumps(figures)  # --json can print it

    table = format_report(report)
    for label in ("updates/s", "p50 ms", "p95 ms", "p99 ms", "peak RSS MB", "Miz/echo", "Targets"):
        assert label in table

    assert report.paced_miz is not None
    assert report.paced_echo is not None
    assert report.paced_miz.actions == report.paced_echo.actions == report.miz.actions
    assert report.paced_miz.p95_ms > 0
    assert {"miz_paced", "echo_paced"} <= set(figures)
    (latency_target,) = [name for name in report.targets_met if name.startswith("p95")]
    assert "0.02 s pauses" in latency_target
    assert report.targets_met[latency_target] is (report.paced_miz.p95_ms < 100)
    assert "At a human pace" in table


def test_refuses_zero_citizens(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--citizens", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err


def test_refuses_a_negative_pace(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--paced", "-1"]) == 2
    assert "negative" in capsys.readouterr().err
