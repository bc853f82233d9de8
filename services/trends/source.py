"""Where a trend query reads from and how each aggregation is written there.

Raw readings live in the database's default policy for as long as it keeps them; the hourly
rollup (adapters.influx.retention) holds per-hour mean/min/max/count/sum/last for years. A query
reads the rollup when its step is whole hours and the range is longer than a quarter or older
than the raw data, else the raw readings (which are always complete up to now, while the rollup
lags by up to an hour: a CQ runs when an hour ends).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from adapters.influx.quoting import ident
from adapters.influx.retention import Layout
from domain.instants import NS
from services.trends.errors import RangeError
from services.trends.query import DAY_S, TrendQuery

Agg = Literal["mean", "min", "max", "last", "count"]
AGGREGATIONS: tuple[Agg, ...] = ("mean", "min", "max", "last", "count")

LONG_RANGE_S = 92 * DAY_S
"""Beyond a quarter, whole-hour steps are read from the rollup: as exact, far fewer points."""


@dataclass(frozen=True, slots=True)
class Source:
    """A measurement in one retention policy, raw or rolled up."""

    layout: Layout
    kind: str
    rollup: bool

    @property
    def name(self) -> Literal["raw", "hourly"]:
        return "hourly" if self.rollup else "raw"

    def from_clause(self) -> str:
        rp = self.layout.rollup_rp if self.rollup else self.layout.raw_rp
        return f"{ident(rp)}.{ident(self.kind)}"

    def expr(self, agg: Agg, field: str) -> str:
        """`agg` of `field` over a GROUP BY bucket, exact on either source."""
        if not self.rollup:
            return f"{agg}({ident(field)})"
        part = {
            "mean": f"sum({ident('sum_' + field)}) / sum({ident('count_' + field)})",
            "min": f"min({ident('min_' + field)})",
            "max": f"max({ident('max_' + field)})",
            "last": f"last({ident('last_' + field)})",
            "count": f"sum({ident('count_' + field)})",
        }
        return part[agg]


def choose(layout: Layout, kind: str, q: TrendQuery, every_s: int) -> Source:
    """Raw or rollup for the query's [start, stop) in steps of `every_s`."""
    span_s = (q.stop_ns - q.start_ns) // NS
    whole_hours = every_s % layout.rollup_every_s == 0
    raw_floor = None
    if layout.raw_duration_s is not None:
        raw_floor = q.now_ns - layout.raw_duration_s * NS
    beyond_raw = raw_floor is not None and q.start_ns < raw_floor
    if whole_hours and (span_s > LONG_RANGE_S or beyond_raw):
        return Source(layout, kind, rollup=True)
    if beyond_raw:
        days = (layout.raw_duration_s or 0) // DAY_S
        raise RangeError(
            f"raw readings are kept for {days} days; for older data ask for a step of whole "
            "hours (every=1h or more)",
            field="start",
        )
    return Source(layout, kind, rollup=False)


def time_range(start_ns: int, stop_ns: int) -> str:
    """InfluxQL's WHERE clause for [start, stop)."""
    return f"time >= {int(start_ns)} AND time < {int(stop_ns)}"
