"""``/metrics`` (issue #18, "Watch it"): the counters a worker keeps, and the gauges read from the database at each
scrape, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.metrics import SENDS, scrape
from storage.models import Citizen, OutboxMessage, ServiceRequest
from storage.uow import unit_of_work
from tests.storage.conftest import citizen, make_request

__all__ = ["citizen", "make_request"]  # the storage tests' fixtures

NOW = datetime(2026, 3, 21, 6, 0, tzinfo=UTC)  # 09:30 on 1 Farvardin 1405 in Tehran


def _row(key: str, due: datetime, **fields: object) -> OutboxMessage:
    values: dict[str, object] = {
        "channel": "chat",
        "platform": "bale",
        "chat_id": 7_000_000_123,
        "organization_id": "falavarjan",
        "payload": {"type": "text", "key": "desk.notify.status_changed", "params": {}},
        "dedupe_key": key,
        "next_attempt_at": due,
    }
    values.update(fields)
    return OutboxMessage(**values)  # type: ignore[arg-type]


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_the_gauges_count_due_outbox_rows_per_channel_and_open_and_overdue_requests_per_organization(
    factory: async_sessionmaker[AsyncSession],
    citizen: Citizen,
    make_request: Callable[..., ServiceRequest],
) -> None:
    assert citizen.id is not None
    async with unit_of_work(factory, write=True) as session:
        session.add_all(
            [
                _row("a", NOW - timedelta(minutes=10)),
                _row("b", NOW - timedelta(minutes=2)),
                _row("c", NOW + timedelta(minutes=5)),  # not due yet
                _row("d", NOW - timedelta(hours=1), status="sent"),
                _row("e", NOW - timedelta(seconds=30), platform="telegram"),
                _row(
                    "f",
                    NOW - timedelta(minutes=1),
                    channel="sms",
                    platform=None,
                    chat_id=None,
                    phone="09123456789",
                ),
            ]
        )
        session.add_all(
            [
                make_request(
                    citizen.id, deadline=date(2026, 3, 20)
                ),  # overdue (Tehran's today is 1405/01/01)
                make_request(citizen.id, deadline=date(2026, 3, 21), status="in_progress"),  # due today
                make_request(citizen.id, deadline=None, status="needs_info"),
                make_request(citizen.id, deadline=date(2026, 3, 1), status="completed"),  # closed: not open
                make_request(citizen.id, organization_id="zazeran", deadline=date(2026, 3, 2)),
            ]
        )

    found = _samples(await scrape(factory, clock=lambda: NOW))

    assert found[("miz_outbox_due", (("channel", "bale"),))] == 2
    assert found[("miz_outbox_oldest_due_seconds", (("channel", "bale"),))] == 600
    assert found[("miz_outbox_due", (("channel", "telegram"),))] == 1
    assert found[("miz_outbox_oldest_due_seconds", (("channel", "telegram"),))] == 30
    assert found[("miz_outbox_due", (("channel", "sms"),))] == 1
    assert found[("miz_requests_open", (("organization", "falavarjan"),))] == 3
    assert found[("miz_requests_overdue", (("organization", "falavarjan"),))] == 1
    assert found[("miz_requests_open", (("organization", "zazeran"),))] == 1
    assert found[("miz_requests_overdue", (("organization", "zazeran"),))] == 1


async def test_the_counters_are_served_and_an_unreadable_database_leaves_out_only_the_gauges(
    factory: async_sessionmaker[AsyncSession],
) -> None:
    SENDS.labels("bale", "429").inc()
    found = _samples(await scrape(factory, clock=lambda: NOW))
    assert found[("miz_sends_total", (("channel", "bale"), ("result", "429")))] >= 1
    assert found[("miz_outbox_due", (("channel", "telegram"),))] == 0

    class Broken:
        def __call__(self) -> AsyncSession:
            raise ConnectionRefusedError("the database is down")

    text = await scrape(Broken(), clock=lambda: NOW)  # type: ignore[arg-type]
    found = _samples(text)
    assert ("miz_outbox_due", (("channel", "telegram"),)) not in found
    assert found[("miz_errors_total", (("kind", "outage"),))] >= 1


def test_the_grafana_dashboard_reads_only_metrics_miz_exports() -> None:
    import json
    import re
    from pathlib import Path

    from bot.metrics import REGISTRY

    dashboard = json.loads(
        (Path(__file__).parents[2] / "deploy" / "grafana-dashboard.json").read_text("utf-8")
    )
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    exported = {
        family.name + suffix for family in REGISTRY.collect() for suffix in suffixes.get(family.type, ("",))
    }
    exported |= {
        "miz_outbox_due",
        "miz_outbox_oldest_due_seconds",
        "miz_requests_open",
        "miz_requests_overdue",
    }
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bmiz_[a-z_]+", target["expr"])
    }
    assert queried, "the dashboard has panels"
    assert queried <= exported, queried - exported
    assert {"miz_updates_total", "miz_outbox_due", "miz_requests_overdue", "miz_sends_total"} <= queried
