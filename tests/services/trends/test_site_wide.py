"""Site-wide queries at the size of a large district (issue 11), against a real InfluxDB.

A completeness report over a kind with 30,000 sensors named every one of them in one GET URL,
past InfluxDB 1.x's 1 MB header limit: it failed. Posted as a form body instead, InfluxDB took
more than five minutes over the 30,000-term OR. Past `ENUMERATE_MAX` ids a query now reads
every sensor of the kind and keeps the ones asked for; and any statement too long for a URL
goes as a form body."""

from __future__ import annotations

import copy

from adapters.influx.query import InfluxQuery
from adapters.influx.retention import Layout
from adapters.influx.writer import InfluxWriter
from domain.site import Registry, parse_site
from services.trends.completeness import completeness
from services.trends.daily import ENUMERATE_MAX, daily_means, sensor_filter
from services.trends.query import TrendQuery
from services.trends.scope import Batch
from services.trends.store import TrendStore
from tests.harness import InfluxDB
from tests.services.trends.conftest import SITE

NS = 10**9
T0 = 1_709_481_600 * NS
H = 3600 * NS
N = 30_000


def _ids() -> list[str]:
    return [f"pond-qp-g1-{i:05d}" for i in range(N)]


async def test_a_completeness_report_over_30000_sensors_of_a_kind(
    influxdb: InfluxDB, influx_db: str
) -> None:
    site = copy.deepcopy(SITE)
    site["sensors"] = [
        {"id": s, "kind": "pond", "grid": "qp-g1", "asset": s, "interval_s": 600} for s in _ids()
    ]
    registry = Registry(parse_site(site))
    # Every sensor reported three times in the hour, except every tenth, which was silent.
    lines = [
        f"pond,community=qingping,grid=qp-g1,sensor={s} do=6 {T0 + k * 600 * NS + i}"
        for i, s in enumerate(_ids())
        if i % 10
        for k in range(3)
    ]
    async with InfluxWriter(influxdb.url, db=influx_db) as writer:
        assert (await writer.write(lines)).written == len(lines)

    import time

    t = time.monotonic()
    async with InfluxQuery(influxdb.url, influx_db, timeout=300) as influx:
        store = TrendStore(influx, Layout(), registry)
        per_sensor, per_grid = await completeness(
            store, TrendQuery(start_ns=T0, stop_ns=T0 + H, now_ns=T0 + H)
        )

    print("TOOK", time.monotonic() - t)
    received = {c.key: c.received for c in per_sensor}
    assert len(received) == N
    assert sum(1 for r in received.values() if r == 3) == N - N // 10
    assert sum(1 for r in received.values() if r == 0) == N // 10
    (grid,) = per_grid
    assert (grid.key, grid.received, grid.expected) == ("qp-g1", 3 * (N - N // 10), 6 * N)


async def test_a_report_past_the_enumeration_limit_keeps_only_its_own_sensors(
    influxdb: InfluxDB, influx_db: str
) -> None:
    site = copy.deepcopy(SITE)
    mine = [f"pond-qp-g1-{i:03d}" for i in range(ENUMERATE_MAX + 1)]
    site["sensors"] += [
        {"id": s, "kind": "pond", "grid": "qp-g1", "asset": s, "interval_s": 600} for s in mine
    ]
    registry = Registry(parse_site(site))
    lines = [f"pond,grid=qp-g1,sensor={s} do=6 {T0 + i}" for i, s in enumerate(mine)]
    lines.append(f"pond,grid=qp-g2,sensor=pond-b do=1 {T0}")  # another grid's pond
    async with InfluxWriter(influxdb.url, db=influx_db) as writer:
        await writer.write(lines)
    async with InfluxQuery(influxdb.url, influx_db) as influx:
        store = TrendStore(influx, Layout(), registry)
        q = TrendQuery(start_ns=T0, stop_ns=T0 + H, now_ns=T0 + H, grid="qp-g1")
        means = await daily_means(store, "pond", ["do"], [Batch(T0, T0 + H, tuple(mine))], q)
    assert set(means) == set(mine)
    assert all(list(days.values()) == [{"do": 6.0}] for days in means.values())


async def test_a_statement_too_long_for_a_url_is_answered(
    influxdb: InfluxDB, influx_db: str
) -> None:
    long_id = "pond-" + "x" * (2 << 20)  # 2 MB: twice what InfluxDB 1.x reads in a URL
    async with InfluxWriter(influxdb.url, db=influx_db) as writer:
        await writer.write([f"pond,sensor=pond-a do=7 {T0}"])
    async with InfluxQuery(influxdb.url, influx_db) as influx:
        where = f"{sensor_filter([long_id, 'pond-a'])} AND time >= {T0}"
        (s,) = await influx.query(f'SELECT "do" FROM "pond" WHERE {where}')  # noqa: S608 - quoted
    assert s.values == ((T0, 7.0),)
