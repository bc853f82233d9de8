"""Trends from InfluxDB: downsampled series, pond status, and the indicators officers report on.

Times are ISO 8601 or Unix seconds; a time without an offset is read in the site's time zone
(domain.instants, the rule of every route). Days, weeks and nights are site-local. Every
request is one validated `TrendQuery` (window, clock, scope), built in services/api/trendquery.py;
errors are the trends service's own, answered in services/api/errors.py: an unknown sensor,
metric, grid or community is 404; a range, step or aggregation the hub refuses (too many
points, too long a range, raw data already expired, ...) is 422 naming the parameter to
change; InfluxDB down is 503. Without InfluxDB configured every route here answers 503.

Who may read: /series and /ponds/{sensor}/status follow the sensor (a crew sees its own grid
cells' sensors only, others are 404); /indicators/* are site-wide, for officers and admins.
The routes live in `series` (/series, /ponds) and `indicators`; this router holds both.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.api.routes import indicators, series

router = APIRouter(tags=["trends"])
router.include_router(series.router)
router.include_router(indicators.router)
