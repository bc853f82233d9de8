"""Compliance shares counted by InfluxDB: how many readings of a metric fall inside a band,
per sensor, over a range of raw readings (WHERE on the field value, then count)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from adapters.influx.quoting import ident
from domain.instants import NS
from services.trends.daily import sensor_filter
from services.trends.errors import RangeError
from services.trends.query import DAY_S, TrendQuery
from services.trends.scope import Batch, read
from services.trends.source import time_range
from services.trends.store import TrendStore

MAX_DAYS = 366
"""Compliance counts raw readings (one per interval, per sensor): a year per request, enough
for an annual report; a longer range is refused before any query runs."""


Band = tuple[float | None, float | None]
"""Inclusive (low, high); None leaves that side open."""


def band_condition(field: str, band: Band) -> str:
    lo, hi = band
    parts = []
    if lo is not None:
        parts.append(f"{ident(field)} >= {float(lo)!r}")
    if hi is not None:
        parts.append(f"{ident(field)} <= {float(hi)!r}")
    return " AND ".join(parts)


@dataclass(frozen=True, slots=True)
class Share:
    """`inside` of `total` readings; `ratio` is None when there were no readings."""

    inside: int
    total: int

    @property
    def ratio(self) -> float | None:
        return self.inside / self.total if self.total else None


async def count_in_bands(
    store: TrendStore,
    kind: str,
    field: str,
    batches: Sequence[Batch],
    bands: Sequence[Band],
    q: TrendQuery,
) -> list[dict[str, int]]:
    """For each band (the first one being the denominator), readings per sensor inside it,
    each batch's sensors counted over the batch's window (summed over a sensor's windows)."""
    q.limit_span(MAX_DAYS * DAY_S, f"compliance may span at most {MAX_DAYS} days")
    layout = store.layout
    if layout.raw_duration_s is not None and q.start_ns < q.now_ns - layout.raw_duration_s * NS:
        days = layout.raw_duration_s // DAY_S
        raise RangeError(
            f"compliance is counted on raw readings, kept for {days} days", field="start"
        )
    sensors = [x for b in batches for x in b.sensors]
    counts: list[dict[str, int]] = [dict.fromkeys(sensors, 0) for _ in bands]
    if not sensors:
        return counts
    head = f'SELECT count({ident(field)}) AS "n" FROM {ident(layout.raw_rp)}.{ident(kind)}'  # noqa: S608 - quoted
    statements = []
    for band in bands:
        cond = band_condition(field, band)
        for b in batches:
            where = f"{sensor_filter(b.sensors)} AND {time_range(b.start_ns, b.stop_ns)}"
            where = f"{where} AND {cond}" if cond else where
            statements.append((b, f'{head} WHERE {where} GROUP BY "sensor"'))
    for i, _, s in await read(store.influx, statements):
        n = s.column("n")[0] if s.values else 0
        if isinstance(n, int):
            counts[i // len(batches)][s.tags.get("sensor", "")] += n
    return counts
