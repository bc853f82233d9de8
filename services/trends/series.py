"""One sensor's metric over time, downsampled by InfluxDB (GROUP BY time) and bounded before a
query runs: at most `MAX_POINTS` buckets, steps of at least a second, ranges of at most
`MAX_SPAN_S`. A 10-year range at 1-second steps is a RangeError, never a query."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from domain.catalog import HEALTH, metric
from domain.site import Registry
from services.influx.client import InfluxQuery
from services.influx.quoting import string
from services.influx.retention import Layout
from services.trends.errors import RangeError, UnknownSeries
from services.trends.source import AGGREGATIONS, NS, Agg, Source, choose, time_range

MAX_POINTS = 5_000
MAX_SPAN_S = 20 * 366 * 86_400
_EVERY = re.compile(r"^([1-9][0-9]{0,8})(s|m|h|d|w)?$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_every(text: str) -> int:
    """A step such as `30s`, `5m`, `1h`, `1d`, `1w` or a bare number of seconds."""
    m = _EVERY.match(text.strip())
    if not m:
        raise RangeError(f"every must look like 30s, 5m, 1h or 1d, not {text[:20]!r}")
    return int(m.group(1)) * _UNIT_S[m.group(2) or "s"]


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
    sensor: str,
    metric_name: str,
    start_ns: int,
    stop_ns: int,
    every_s: int,
    agg: str,
    now_ns: int,
) -> SeriesQuery:
    """Check a request against the registry, the catalog and the bounds; choose raw or rollup."""
    placement = registry.get(sensor)
    if placement is None:
        raise UnknownSeries(f"no sensor {sensor!r} in the registry")
    kind = placement.sensor.kind
    m = metric(kind, metric_name) or HEALTH.get(metric_name)
    if m is None:
        raise UnknownSeries(f"a {kind.value} sensor has no metric {metric_name!r}")
    if agg not in AGGREGATIONS:
        raise RangeError(f"agg must be one of {', '.join(AGGREGATIONS)}, not {agg[:20]!r}")
    if stop_ns <= start_ns:
        raise RangeError("stop must be after start")
    if every_s < 1:
        raise RangeError("every must be at least 1s")
    span_s = (stop_ns - start_ns) / NS
    if span_s > MAX_SPAN_S:
        raise RangeError("a range may span at most 20 years")
    points = math.ceil(span_s / every_s)
    if points > MAX_POINTS:
        need = math.ceil(span_s / MAX_POINTS)
        raise RangeError(
            f"{points} points per series is more than {MAX_POINTS}; "
            f"use every={need}s or more, or a shorter range"
        )
    source = choose(layout, kind.value, start_ns, stop_ns, every_s, now_ns)
    return SeriesQuery(
        sensor=sensor,
        metric=m.name,
        unit=m.shown_unit,
        agg=agg,
        every_s=every_s,
        start_ns=start_ns,
        stop_ns=stop_ns,
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
