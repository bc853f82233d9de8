"""Data completeness per sensor and grid cell: readings received against readings expected.

Expected = the time the sensor was in the scope during the range (its stays,
services.trends.scope: a sensor added, moved or retired within the range is expected only while
it was there) / the sensor's `interval_s`, per stay. Received = the number of readings,
taken as the largest per-field count (every reading carries at least its main metric; health
fields may be missing); on the hourly rollup the per-hour counts are summed. A sensor that
reported faster than expected is capped at 100 %. A grid's completeness pools its sensors'
stays in it (a sensor moved between two grids of the scope counts in each for its time there).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from domain.catalog import Kind
from domain.instants import NS
from services.trends.daily import sensor_filter
from services.trends.query import DAY_S, TrendQuery
from services.trends.scope import Member, Stay, batches, read, sensors_in
from services.trends.source import Source, choose, time_range
from services.trends.store import TrendStore

MAX_DAYS = 3_700
"""About ten years per request, as for daily reports: beyond a quarter the counts come from
the hourly rollup (one row per sensor and hour), so the cost grows with sensors, not readings."""


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


def received_query(source: Source, sensors: Sequence[str], start_ns: int, stop_ns: int) -> str:
    func = "sum" if source.rollup else "count"
    field = "/^count_/" if source.rollup else "*"
    return (
        f"SELECT {func}({field}) FROM {source.from_clause()} "  # noqa: S608 - quoted
        f'WHERE {sensor_filter(sensors)} AND {time_range(start_ns, stop_ns)} GROUP BY "sensor"'
    )


async def completeness(
    store: TrendStore, q: TrendQuery
) -> tuple[list[Completeness], list[Completeness]]:
    """(per sensor, per grid) over the query's [start, stop), community and grid."""
    q.limit_span(MAX_DAYS * DAY_S, f"a completeness report may span at most {MAX_DAYS} days")
    sensors = sensors_in(store.history, None, q)
    received: dict[tuple[int, int, str], int] = defaultdict(int)  # (window, sensor) -> readings
    for kind in Kind:
        members = [s for s in sensors if s.kind is kind]
        if not members:
            continue
        source = choose(store.layout, kind.value, q, 3600)
        statements = [
            (b, received_query(source, b.sensors, b.start_ns, b.stop_ns))
            for b in batches(members, per_stay=True)
        ]
        for _, b, series in await read(store.influx, statements):
            row = series.values[0][1:] if series.values else ()
            counts = [v for v in row if isinstance(v, int)]
            received[(b.start_ns, b.stop_ns, series.tags.get("sensor", ""))] = max(
                counts, default=0
            )
    per_sensor: list[Completeness] = []
    pooled: dict[str, list[Completeness]] = defaultdict(list)
    for m in sensors:
        stays = [_stay_completeness(m, st, received) for st in m.stays]
        per_sensor.append(
            Completeness(m.id, sum(c.received for c in stays), sum(c.expected for c in stays))
        )
        for st, c in zip(m.stays, stays, strict=True):
            pooled[st.grid].append(c)
    per_grid = [
        Completeness(
            g,
            sum(min(c.received, c.expected) for c in cs),
            sum(c.expected for c in cs),
        )
        for g, cs in sorted(pooled.items())
    ]
    return per_sensor, per_grid


def _stay_completeness(
    m: Member, st: Stay, received: dict[tuple[int, int, str], int]
) -> Completeness:
    span_s = (st.stop_ns - st.start_ns) // NS
    return Completeness(m.id, received[(st.start_ns, st.stop_ns, m.id)], span_s // m.interval_s)
