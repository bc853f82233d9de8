"""Daily shapes of demand, sewage and electrical load, and local time of day (domain.md §3).

Every model works on the local hour of the site's time zone, so "lowest before sunrise" means
sunrise in Chengdu, not in UTC.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

# Residential water demand, hourly multipliers of the daily mean (domain.md §3).
WATER_DEMAND = (
    0.55, 0.55, 0.58, 0.67, 0.85, 1.05, 1.16, 1.12, 1.15, 1.10, 1.02, 1.00,
    1.02, 1.10, 1.20, 1.35, 1.45, 1.50, 1.50, 1.35, 1.00, 0.80, 0.70, 0.60,
)  # fmt: skip

# Dry-weather sewage: low 03:00-05:00, peaks 07:00-09:00 and 19:00-21:00 (domain.md §1).
SEWAGE = (
    0.62, 0.52, 0.45, 0.38, 0.36, 0.40, 0.62, 0.95, 1.30, 1.35, 1.20, 1.10,
    1.08, 1.05, 1.00, 0.98, 1.00, 1.08, 1.20, 1.35, 1.42, 1.30, 1.05, 0.80,
)  # fmt: skip

# Residential electrical load as a share of the evening peak.
ELECTRIC_LOAD = (
    0.45, 0.40, 0.38, 0.37, 0.38, 0.45, 0.60, 0.72, 0.70, 0.65, 0.63, 0.65,
    0.66, 0.62, 0.60, 0.62, 0.70, 0.85, 0.97, 1.00, 0.95, 0.85, 0.70, 0.55,
)  # fmt: skip

SUNRISE_H = 6.5
AFTERNOON_PEAK_H = 15.5


def profile(table: tuple[float, ...], hour: float) -> float:
    """The hourly table linearly interpolated at `hour` (values sit at the hour's midpoint)."""
    x = (hour - 0.5) % 24.0
    i = int(x)
    frac = x - i
    return table[i] * (1.0 - frac) + table[(i + 1) % 24] * frac


def photo_shape(hour: float) -> float:
    """0 at sunrise, 1 at the mid-afternoon peak: the shape of pond oxygen and pH.

    Oxygen builds up while the sun shines and is used up all night, so the rise (9 h) is
    steeper than the fall (15 h).
    """
    rise = AFTERNOON_PEAK_H - SUNRISE_H
    x = (hour - SUNRISE_H) % 24.0
    if x <= rise:
        return (1.0 - math.cos(math.pi * x / rise)) / 2.0
    return (1.0 + math.cos(math.pi * (x - rise) / (24.0 - rise))) / 2.0


def afternoon_wave(hour: float, peak_h: float = 15.0) -> float:
    """A cosine between -1 and 1 peaking at `peak_h`: air and water temperature."""
    return math.cos(2.0 * math.pi * (hour - peak_h) / 24.0)


class LocalTime:
    """Local hour of day and day of year for epoch seconds, with the zone's offset looked up
    once per hour of time rather than once per reading."""

    def __init__(self, tz: ZoneInfo) -> None:
        self._tz = tz
        self._cache: dict[int, float] = {}

    def offset(self, t: float) -> float:
        key = int(t // 3600)
        off = self._cache.get(key)
        if off is None:
            delta = datetime.fromtimestamp(key * 3600, UTC).astimezone(self._tz).utcoffset()
            off = delta.total_seconds() if delta else 0.0
            self._cache[key] = off
        return off

    def hour(self, t: float) -> float:
        return ((t + self.offset(t)) % 86_400.0) / 3_600.0

    def day_of_year(self, t: float) -> float:
        return ((t + self.offset(t)) / 86_400.0) % 365.25


def seasonal(day_of_year: float, mean: float, amplitude: float) -> float:
    """A yearly cycle coldest in mid-January, warmest in mid-July (Chengdu's climate)."""
    return mean - amplitude * math.cos(2.0 * math.pi * (day_of_year - 15.0) / 365.25)
