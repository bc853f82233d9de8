"""Fixtures for the trends tests: a fresh database in the session's InfluxDB, a way to write
crafted points as line protocol straight over HTTP (not through the gateway), and an open
`InfluxQuery` on that database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from gridwatch.processes import InfluxDB
from services.influx.client import InfluxQuery

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
