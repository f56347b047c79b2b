"""``make bench``: Miz against a bare aiogram echo bot, N simulated citizens filing a request at once.

Both bots poll the in-process emulator; the citizens drive it through its control API and wait on each
chat's ``/changes`` long poll. The report gives updates per second, p50/p95/p99 update-to-reply latency,
peak RSS, Bot API calls and SQL statements per update, and Miz's ratios to the echo bot.

    python -m bench --citizens 50 --rounds 1 [--json] [--profile miz.prof]
"""

from bench._cli import format_report, main
from bench._runner import BenchConfig, PhaseResult, Report, run_benchmark

__all__ = ["BenchConfig", "PhaseResult", "Report", "format_report", "main", "run_benchmark"]
