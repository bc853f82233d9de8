"""Data completeness per sensor and grid cell: readings received against readings expected.

Expected = the range's length / the sensor's `interval_s`. Received = the number of readings,
taken as the largest per-field count (every reading carries at least its main metric; health
fields may be missing); on the hourly rollup the per-hour counts are summed. A sensor that
reported faster than expected is capped at 100 %. A grid's completeness pools its sensors.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from domain.catalog import Kind
from domain.site import Registry, Sensor
from services.influx.client import InfluxQuery
from services.influx.retention import Layout
from services.trends.daily import sensor_filter
from services.trends.errors import RangeError
from services.trends.scope import sensors_in
from services.trends.source import NS, Source, choose, time_range


@dataclass(frozen=True, slots=True)
class Completeness:
    key: str  # a sensor id or a grid id
    received: int
    expected: int

    @property
    def ratio(self) -> float | None:
        if not self.expected:
            return None
        return min(self.received, self.expected) / self.expected


def received_query(source: Source, sensors: list[str], start_ns: int, stop_ns: int) -> str:
    func = "sum" if source.rollup else "count"
    field = "/^count_/" if source.rollup else "*"
    return (
        f"SELECT {func}({field}) FROM {source.from_clause()} "  # noqa: S608 - quoted
        f'WHERE {sensor_filter(sensors)} AND {time_range(start_ns, stop_ns)} GROUP BY "sensor"'
    )


async def completeness(
    influx: InfluxQuery,
    registry: Registry,
    layout: Layout,
    start_ns: int,
    stop_ns: int,
    now_ns: int,
    community: str | None = None,
    grid: str | None = None,
) -> tuple[list[Completeness], list[Completeness]]:
    """(per sensor, per grid) over [start, stop)."""
    if stop_ns <= start_ns:
        raise RangeError("stop must be after start")
    sensors = sensors_in(registry, None, community, grid)
    span_s = (stop_ns - start_ns) // NS
    received: dict[str, int] = defaultdict(int)
    for kind in Kind:
        ids = [s.id for s in sensors if s.kind is kind]
        if not ids:
            continue
        source = choose(layout, kind.value, start_ns, stop_ns, 3600, now_ns)
        for series in await influx.query(received_query(source, ids, start_ns, stop_ns)):
            row = series.values[0][1:] if series.values else ()
            counts = [v for v in row if isinstance(v, int)]
            received[series.tags.get("sensor", "")] = max(counts, default=0)
    per_sensor = [_sensor_completeness(s, received[s.id], span_s) for s in sensors]
    pooled: dict[str, list[Completeness]] = defaultdict(list)
    for s, c in zip(sensors, per_sensor, strict=True):
        pooled[s.grid].append(c)
    per_grid = [
        Completeness(
            g,
            sum(min(c.received, c.expected) for c in cs),
            sum(c.expected for c in cs),
        )
        for g, cs in sorted(pooled.items())
    ]
    return per_sensor, per_grid


def _sensor_completeness(sensor: Sensor, received: int, span_s: int) -> Completeness:
    return Completeness(sensor.id, received, span_s // sensor.interval_s)
