"""Tickets under faults: a breach that happens while InfluxDB is down still opens exactly one
ticket, at the first breaching reading's time, and the readings behind it reach InfluxDB once
it is back (the spool carries them); a redelivery after that changes no ticket."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from domain.site import Registry
from services.rules.book import load_rules
from tests.harness import InfluxDB, Mosquitto
from tests.integration.faults import count
from tests.integration.tickets_support import (
    Services,
    publish_all,
    reading,
    running_hub,
    small_site,
    sqlite_url,
    tickets,
)


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:8]


async def test_a_breach_during_an_influxdb_outage_opens_one_ticket_and_loses_no_reading(
    mosquitto: Mosquitto,
    make_influxdb: Callable[..., InfluxDB],
    topic_prefix: str,
    influx_db: str,
    tmp_path: Path,
    tag: str,
) -> None:
    influx = make_influxdb()
    services = Services(mosquitto, influx, topic_prefix, influx_db, sqlite_url(tmp_path))
    sensor = f"pond-{tag}"
    registry = Registry(small_site(tag, [(sensor, "pond", "1", 600)]))
    rules = load_rules(registry=registry)
    t0 = float(int(time.time()) - 3 * 3600)
    # 13 readings 10 min apart, DO 2.5–2.56 mg/L: under pond.low_oxygen's 3.0 for over an hour
    series = [
        reading("pond", sensor, topic_prefix, t0 + k * 600, do=2.5 + 0.01 * (k % 7))
        for k in range(13)
    ]
    gateway = services.gateway().model_copy(
        update={"influx_timeout_s": 2.0, "influx_retry_budget_s": 0.5}
    )
    async with running_hub(gateway, registry, rules) as hub:
        influx.stop()
        sent = await publish_all(series, mosquitto, t0)
        await hub.wait_committed(sent)  # spooled and judged while InfluxDB is away
        during = tickets(services.db_url, registry)
        assert hub.gateway.health().facts.spool_depth == len(series), "not spooled"
        influx.start()
        deadline = time.monotonic() + 60
        while await count(influx, influx_db) < len(series):
            assert time.monotonic() < deadline, "the spool never drained into InfluxDB"
            await hub.gateway.source.subscribed.wait()
            await asyncio.sleep(0.2)
        # the same messages again (a device re-sending its cache): nothing new
        await hub.wait_committed(sent + await publish_all(series, mosquitto, t0))

    assert await count(influx, influx_db) == len(series)
    after = tickets(services.db_url, registry)
    assert [(t.sensor, t.rule, t.severity) for t in during] == [
        (sensor, "pond.low_oxygen", "warning")
    ]
    assert [(t.id, t.occurrences) for t in after] == [(during[0].id, 1)]
    assert after[0].opened_at is not None
    assert after[0].opened_at.timestamp() == t0  # the first breaching reading's own time
