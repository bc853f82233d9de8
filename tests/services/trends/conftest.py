"""Fixtures for the trends tests: a fresh database in the session's InfluxDB, a way to write
crafted points as line protocol straight over HTTP (not through the gateway), and an open
`InfluxQuery` on that database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from adapters.influx.query import InfluxQuery
from domain.site import Registry, parse_site
from tests.harness import InfluxDB

Write = Callable[[list[str]], Awaitable[None]]


@pytest.fixture
async def influx(influxdb: InfluxDB, influx_db: str) -> AsyncIterator[InfluxQuery]:
    """An InfluxQuery on this test's own, freshly created database."""
    async with InfluxQuery(influxdb.url, influx_db) as q:
        await q.query(f'CREATE DATABASE "{influx_db}"', db="")
        yield q
        await q.query(f'DROP DATABASE "{influx_db}"', db="")


@pytest.fixture
def write(influxdb: InfluxDB, influx_db: str, influx: InfluxQuery) -> Write:
    """Write line-protocol lines (ns timestamps) into this test's database."""

    async def _write(lines: list[str]) -> None:
        async with httpx.AsyncClient(base_url=influxdb.url) as c:
            for i in range(0, len(lines), 5000):
                r = await c.post(
                    "/write",
                    params={"db": influx_db, "precision": "ns"},
                    content="\n".join(lines[i : i + 5000]).encode(),
                )
                assert r.status_code == 204, r.text

    return _write


SITE = {
    "timezone": "Asia/Shanghai",
    "communities": [
        {
            "id": "qingping",
            "name": "清平社区",
            "supervisor": {"id": "s-003", "name": "周红"},
            "grids": [
                {"id": "qp-g1", "name": "清平1号网格", "worker": {"id": "w-017", "name": "李明"}},
                {"id": "qp-g2", "name": "清平2号网格", "worker": {"id": "w-018", "name": "王芳"}},
            ],
        }
    ],
    "sensors": [
        {"id": "pond-a", "kind": "pond", "grid": "qp-g1", "asset": "堰塘A", "interval_s": 300},
        {"id": "pond-b", "kind": "pond", "grid": "qp-g2", "asset": "堰塘B", "interval_s": 300},
        {"id": "tap-1", "kind": "water", "grid": "qp-g1", "asset": "水龙头", "interval_s": 60},
        {"id": "tank-1", "kind": "water", "grid": "qp-g2", "asset": "屋顶水箱", "interval_s": 60},
        {"id": "tx-1", "kind": "power", "grid": "qp-g1", "asset": "1号箱变", "interval_s": 60},
        {"id": "mh-1", "kind": "sewer", "grid": "qp-g2", "asset": "1号检查井", "interval_s": 60},
    ],
}


@pytest.fixture
def registry() -> Registry:
    """A small site in Asia/Shanghai: two ponds, two water points, a transformer, a manhole."""
    return Registry(parse_site(SITE))


def line(kind: str, sensor: str, t_ns: int, **fields: float) -> str:
    """One line-protocol point with the tags the gateway writes."""
    grid = next(s["grid"] for s in SITE["sensors"] if s["id"] == sensor)  # type: ignore[index]
    body = ",".join(f"{k}={float(v)!r}" for k, v in fields.items())
    return f"{kind},sensor={sensor},grid={grid},community=qingping {body} {t_ns}"
