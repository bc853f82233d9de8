"""Compliance shares counted by InfluxDB: how many readings of a metric fall inside a band,
per sensor, over a range of raw readings (WHERE on the field value, then count)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.influx.client import InfluxQuery
from services.influx.quoting import ident
from services.influx.retention import Layout
from services.trends.daily import sensor_filter
from services.trends.errors import RangeError
from services.trends.source import NS, time_range

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
    influx: InfluxQuery,
    layout: Layout,
    kind: str,
    field: str,
    sensors: Sequence[str],
    bands: Sequence[Band],
    start_ns: int,
    stop_ns: int,
    now_ns: int,
) -> list[dict[str, int]]:
    """For each band (the first one being the denominator), readings per sensor inside it."""
    if stop_ns <= start_ns:
        raise RangeError("stop must be after start")
    if layout.raw_duration_s is not None and start_ns < now_ns - layout.raw_duration_s * NS:
        days = layout.raw_duration_s // 86_400
        raise RangeError(f"compliance is counted on raw readings, kept for {days} days")
    counts: list[dict[str, int]] = [dict.fromkeys(sensors, 0) for _ in bands]
    if not sensors:
        return counts
    base = f"{sensor_filter(sensors)} AND {time_range(start_ns, stop_ns)}"
    src = f"{ident(layout.raw_rp)}.{ident(kind)}"
    statements = []
    for band in bands:
        cond = band_condition(field, band)
        where = f"{base} AND {cond}" if cond else base
        statements.append(
            f'SELECT count({ident(field)}) AS "n" FROM {src} WHERE {where} GROUP BY "sensor"'  # noqa: S608
        )
    for s in await influx.query("; ".join(statements)):
        n = s.column("n")[0] if s.values else 0
        sensor = s.tags.get("sensor", "")
        if sensor in counts[s.statement] and isinstance(n, int):
            counts[s.statement][sensor] = n
    return counts
