"""Why a trends request cannot be answered, decided before any query runs. The API maps
`UnknownSeries` to 404 and every other `TrendsError` to 422."""

from __future__ import annotations


class TrendsError(ValueError):
    """A request the trends module refuses; the message says what to change."""


class UnknownSeries(TrendsError):
    """The sensor is not in the registry, or its kind has no such metric."""


class RangeError(TrendsError):
    """The time range, step or aggregation is invalid or would return too many points."""
