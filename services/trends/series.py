"""One sensor's metric over time, downsampled by InfluxDB (GROUP BY time) and bounded before a
query runs: at most `MAX_POINTS` buckets, steps of at least a second, ranges of at most 20
years (`TrendQuery`). A 10-year range at 1-second steps is a RangeError, never a query."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from adapters.influx.query import InfluxQuery
from adapters.influx.quoting import string
from adapters.influx.retention import Layout
from domain.catalog import HEALTH, Kind, metric
from domain.site import Registry
from services.trends.errors import RangeError, UnknownSeries
from services.trends.query import TrendQuery
from services.trends.source import AGGREGATIONS, Agg, Source, choose, time_range

MAX_POINTS = 5_000
_EVERY = re.compile(r"^([1-9][0-9]{0,8})(s|m|h|d|w)?$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_every(text: str) -> int:
    """A step such as `30s`, `5m`, `1h`, `1d`, `1w` or a bare number of seconds."""
    m = _EVERY.match(text.strip())
    if not m:
        raise RangeError(
            f"every must look like 30s, 5m, 1h or 1d, not {text[:20]!r}", field="every"
        )
    return int(m.group(1)) * _UNIT_S[m.group(2) or "s"]


_NICE_STEPS = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 86_400, 7 * 86_400)


def auto_every(span_s: float, target: int = 500) -> int:
    """The smallest round step giving at most `target` points (a request without `every`)."""
    for step in _NICE_STEPS:
        if span_s / step <= target:
            return step
    return int(span_s // target) + 1


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    """A checked request and the InfluxQL that answers it."""

    sensor: str
    metric: str
    unit: str
    agg: Agg
    every_s: int
    start_ns: int
    stop_ns: int
    source: Source
    tz: str

    @property
    def text(self) -> str:
        where = f'"sensor" = {string(self.sensor)} AND {time_range(self.start_ns, self.stop_ns)}'
        return (
            f'SELECT {self.source.expr(self.agg, self.metric)} AS "value" '  # noqa: S608 - quoted
            f"FROM {self.source.from_clause()} WHERE {where} "
            f"GROUP BY time({self.every_s}s) fill(none) tz({string(self.tz)})"
        )


def plan_series(
    registry: Registry,
    layout: Layout,
    q: TrendQuery,
    metric_name: str,
    every_s: int,
    agg: str,
    retired_kind: Kind | None = None,
) -> SeriesQuery:
    """Check a request for `q.sensor` against the registry (or, for a retired sensor, the
    kind it last had), the catalog and the bounds; choose raw or rollup."""
    placement = registry.get(q.sensor) if q.sensor is not None else None
    kind = placement.sensor.kind if placement is not None else retired_kind
    if q.sensor is None or kind is None:
        raise UnknownSeries(f"no sensor {q.sensor!r} in the registry", field="sensor")
    m = metric(kind, metric_name) or HEALTH.get(metric_name)
    if m is None:
        raise UnknownSeries(f"a {kind.value} sensor has no metric {metric_name!r}", field="metric")
    if agg not in AGGREGATIONS:
        raise RangeError(
            f"agg must be one of {', '.join(AGGREGATIONS)}, not {agg[:20]!r}", field="agg"
        )
    if every_s < 1:
        raise RangeError("every must be at least 1s", field="every")
    points = math.ceil(q.span_s / every_s)
    if points > MAX_POINTS:
        need = math.ceil(q.span_s / MAX_POINTS)
        raise RangeError(
            f"{points} points per series is more than {MAX_POINTS}; "
            f"use every={need}s or more, or a shorter range",
            field="every",
        )
    source = choose(layout, kind.value, q, every_s)
    return SeriesQuery(
        sensor=q.sensor,
        metric=m.name,
        unit=m.shown_unit,
        agg=agg,
        every_s=every_s,
        start_ns=q.start_ns,
        stop_ns=q.stop_ns,
        source=source,
        tz=registry.site.timezone,
    )


@dataclass(frozen=True, slots=True)
class SeriesResult:
    """Buckets with data, oldest first: (bucket start in ns, value)."""

    sensor: str
    metric: str
    unit: str
    agg: Agg
    every_s: int
    source: Literal["raw", "hourly"]
    points: list[tuple[int, float]]


async def run_series(influx: InfluxQuery, plan: SeriesQuery) -> SeriesResult:
    points: list[tuple[int, float]] = []
    for s in await influx.query(plan.text):
        for t, v in zip(s.column("time"), s.column("value"), strict=True):
            if isinstance(t, int) and isinstance(v, int | float):
                points.append((t, float(v)))
    points.sort()
    return SeriesResult(
        plan.sensor, plan.metric, plan.unit, plan.agg, plan.every_s, plan.source.name, points
    )
