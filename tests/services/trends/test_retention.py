"""Retention policies and continuous queries: created once, idempotent, and altered in place."""

from __future__ import annotations

from adapters.influx.query import InfluxQuery
from adapters.influx.retention import Layout, backfill_rollup, ensure_retention
from tests.services.trends.conftest import Write, line

T0 = 1_709_481_600 * 10**9  # 2024-03-04 00:00 Asia/Shanghai


async def _policies(q: InfluxQuery) -> dict[str, tuple[str, bool]]:
    (s,) = await q.query(f'SHOW RETENTION POLICIES ON "{q.db}"', db="")
    return {str(r["name"]): (str(r["duration"]), bool(r["default"])) for r in s.rows()}


async def _cqs(q: InfluxQuery) -> dict[str, str]:
    out = await q.query("SHOW CONTINUOUS QUERIES", db="")
    return {str(r["name"]): str(r["query"]) for s in out if s.name == q.db for r in s.rows()}


async def test_ensure_retention_is_idempotent(influx: InfluxQuery) -> None:
    for _ in range(2):
        layout = await ensure_retention(influx, influx.db, "90d", "1040w")
    assert layout == Layout("autogen", "hourly", 90 * 86_400)
    assert await _policies(influx) == {
        "autogen": ("2160h0m0s", True),
        "hourly": ("174720h0m0s", False),
    }
    cqs = await _cqs(influx)
    assert sorted(cqs) == [
        "gw_hourly_pond",
        "gw_hourly_power",
        "gw_hourly_sewer",
        "gw_hourly_water",
    ]
    assert "INTO " + influx.db + ".hourly.:MEASUREMENT" in cqs["gw_hourly_pond"]


async def test_changed_settings_alter_policies_and_replace_queries(influx: InfluxQuery) -> None:
    await ensure_retention(influx, influx.db, "90d", "1040w")
    layout = await ensure_retention(influx, influx.db, "INF", "520w", resample_for="2d")
    assert layout.raw_duration_s is None
    assert await _policies(influx) == {"autogen": ("0s", True), "hourly": ("87360h0m0s", False)}
    cqs = await _cqs(influx)
    assert len(cqs) == 4
    assert all("RESAMPLE FOR 2d" in q for q in cqs.values())


async def test_a_fresh_database_is_created(influx: InfluxQuery) -> None:
    await influx.query(f'DROP DATABASE "{influx.db}"', db="")
    await ensure_retention(influx, influx.db, "30d")
    assert "hourly" in await _policies(influx)


async def test_rollup_keeps_every_aggregate_with_tags(influx: InfluxQuery, write: Write) -> None:
    layout = await ensure_retention(influx, influx.db)
    await write([line("pond", "pond-a", T0 + i * 600 * 10**9, do=float(i)) for i in range(6)])
    assert await backfill_rollup(influx, influx.db, layout, T0, T0 + 3600 * 10**9) == 1
    (s,) = await influx.query('SELECT * FROM "hourly"."pond"')
    (row,) = list(s.rows())
    assert row["sensor"] == "pond-a"
    assert row["community"] == "qingping"
    assert (row["mean_do"], row["min_do"], row["max_do"]) == (2.5, 0.0, 5.0)
    assert (row["count_do"], row["sum_do"], row["last_do"]) == (6, 15.0, 5.0)
