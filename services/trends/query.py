"""`TrendQuery`: what every trend and indicator is asked — a time window, the clock's "now",
and an optional scope (a community, a grid cell, or one sensor) — validated once, where it is
built (the API builds one per request as a dependency; reports and tests build their own).

Checked here and nowhere else: stop after start, times within 1970–2200 (InfluxDB's
nanosecond times end in 2262), and a span of at most 20 years. An indicator with a tighter
bound (raw readings counted, one row per night, ...) asks `limit_span`, which words the
refusal the same way for all of them. Whether a named community, grid or sensor exists is the
registry's answer, given by `services.trends.scope`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

from domain.instants import NS, to_ns
from services.trends.errors import RangeError

DAY_S = 86_400
EARLIEST_NS = 0
LATEST_NS = 7_258_118_400 * NS
"""2200-01-01: InfluxDB's nanosecond times end in 2262."""
MAX_SPAN_S = 20 * 366 * DAY_S
"""No trend spans more than 20 years (each indicator may bound itself tighter)."""


class TrendQuery(BaseModel):
    """[start, stop) in ns since the epoch, `now_ns` read once from the service's clock, and
    the scope. Frozen: the same object is handed to every function answering the request.
    Ids are not pattern-checked here: the routes' query parameters are, and every id that
    reaches InfluxQL is looked up in the registry first (services.trends.scope)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start_ns: int
    stop_ns: int
    now_ns: int
    community: str | None = None
    grid: str | None = None
    sensor: str | None = None

    @model_validator(mode="after")
    def _window(self) -> Self:
        # RangeError is not a ValueError: pydantic lets it through as itself (see errors.py).
        if self.stop_ns <= self.start_ns:
            raise RangeError("stop must be after start", field="stop")
        if self.start_ns < EARLIEST_NS:
            raise RangeError("times must lie between 1970 and 2200", field="start")
        if self.stop_ns > LATEST_NS:
            raise RangeError("times must lie between 1970 and 2200", field="stop")
        self.limit_span(MAX_SPAN_S, "a range may span at most 20 years")
        return self

    @classmethod
    def window(
        cls,
        *,
        tz: tzinfo,
        now_ns: int,
        start: datetime | None,
        stop: datetime | None,
        default: timedelta,
        community: str | None = None,
        grid: str | None = None,
        sensor: str | None = None,
    ) -> TrendQuery:
        """From request times (zone-less ones read in the site's `tz`, domain.instants):
        `stop` defaults to now and `start` to `default` before `stop`."""
        stop_ns = to_ns(stop, tz) if stop is not None else now_ns
        if start is not None:
            start_ns = to_ns(start, tz)
        else:
            start_ns = stop_ns - int(default.total_seconds()) * NS
        return cls(
            start_ns=start_ns,
            stop_ns=stop_ns,
            now_ns=now_ns,
            community=community,
            grid=grid,
            sensor=sensor,
        )

    @property
    def span_s(self) -> float:
        return (self.stop_ns - self.start_ns) / NS

    def limit_span(self, max_s: int, refusal: str) -> None:
        """Refuse (RangeError on `start`) a window longer than `max_s` seconds."""
        if self.span_s > max_s:
            raise RangeError(refusal, field="start")
