"""Why a trends request cannot be answered, decided before any query runs. The API maps them
in services/api/errors.py: `UnknownSeries` is 404, `TrendsUnavailable` 503 and every other
`TrendsError` 422, naming `field` (the query parameter to change) when there is one.

Not `ValueError`s on purpose: raised inside `TrendQuery`'s pydantic validation, a ValueError
would be wrapped into a generic ValidationError; these reach the caller as themselves."""

from __future__ import annotations


class TrendsError(Exception):
    """A request the trends module refuses; the message says what to change."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownSeries(TrendsError):
    """The sensor is not in the registry (or not the caller's), or its kind has no such
    metric, or the community or grid cell asked for does not exist."""


class RangeError(TrendsError):
    """The time range, step or aggregation is invalid or would return too many points."""


class TrendsUnavailable(TrendsError):
    """The hub runs without InfluxDB (GRIDWATCH_INFLUX_URL unset, or down at start)."""
