"""The trend routes' dependencies: the trends service, and the one validated `TrendQuery` per
request (window, clock, scope, who may ask), so no route converts a time or checks a range.

Times are ISO 8601 or Unix seconds; a time without an offset is read in the site's time zone
(domain.instants, the rule of every route). `/series` and `/ponds/{sensor}/status` follow the
sensor (a crew sees its own grid cells' sensors only, others are 404); indicators are for
officers and admins.
"""

# No `from __future__ import annotations`: the dependencies built in `sensor_query` annotate a
# parameter with its argument (`where`), which FastAPI can only read as an evaluated annotation.

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Path, Query

from domain.ids import ID_PATTERN
from domain.instants import ZONE_RULE
from services.api.deps import HubDep, OverseerDep, PrincipalDep
from services.auth.principal import NotVisible
from services.trends.errors import TrendsUnavailable
from services.trends.query import TrendQuery
from services.trends.service import Trends


def get_trends(hub: HubDep) -> Trends:
    """The hub's trends service (`Hub.trends`, set up at start when InfluxDB is configured)."""
    trends = getattr(hub, "trends", None)
    if not isinstance(trends, Trends):
        raise TrendsUnavailable("trends need InfluxDB (GRIDWATCH_INFLUX_URL)")
    return trends


TrendsDep = Annotated[Trends, Depends(get_trends)]
Start = Annotated[datetime | None, Query(description=f"{ZONE_RULE}; default depends on the route")]
Stop = Annotated[datetime | None, Query(description=f"{ZONE_RULE}; default now")]
Community = Annotated[str | None, Query(pattern=ID_PATTERN)]
Grid = Annotated[str | None, Query(pattern=ID_PATTERN)]


def _window(
    hub: HubDep,
    trends: Trends,
    start: datetime | None,
    stop: datetime | None,
    default: timedelta,
    **scope: str | None,
) -> TrendQuery:
    return TrendQuery.window(
        tz=hub.registry.site.tz,
        now_ns=trends.clock(),
        start=start,
        stop=stop,
        default=default,
        **scope,
    )


def sensor_query(where: Any, default: timedelta) -> Any:
    """A dependency: the TrendQuery of one sensor the caller may see, named in the path or the
    query string (`where`: its `Path(...)` or `Query(...)`), over `start`..`stop` (default: the
    last `default`). The visibility check comes first, so an unseen sensor is 404 whatever
    its range."""

    def build(
        hub: HubDep,
        trends: TrendsDep,
        who: PrincipalDep,
        sensor: Annotated[str, where],
        start: Start = None,
        stop: Stop = None,
    ) -> TrendQuery:
        try:
            who.placement(hub.registry, sensor)  # NotVisible (404) unless the caller may see it
        except NotVisible:
            past = trends.retired(hub.registry, sensor)  # its past data, by its last grid
            if past is None or not who.sees_grid(past.grid):
                raise
        return _window(hub, trends, start, stop, default, sensor=sensor)

    return Depends(build)


def indicator_query(default: timedelta) -> Any:
    """A dependency: the TrendQuery of an officer's indicator over `start`..`stop` (default:
    the last `default`), optionally one community or grid cell."""

    def build(
        hub: HubDep,
        trends: TrendsDep,
        _: OverseerDep,
        start: Start = None,
        stop: Stop = None,
        community: Community = None,
        grid: Grid = None,
    ) -> TrendQuery:
        return _window(hub, trends, start, stop, default, community=community, grid=grid)

    return Depends(build)


SeriesQuery = Annotated[TrendQuery, sensor_query(Query(max_length=64), timedelta(days=1))]
"""/series: one sensor, from the query string; default range the last 24 hours."""
PondQuery = Annotated[TrendQuery, sensor_query(Path(max_length=64), timedelta(days=30))]
"""/ponds/{sensor}/status: one sensor, from the path; default range the last 30 days."""
Last7Days = Annotated[TrendQuery, indicator_query(timedelta(days=7))]
Last30Days = Annotated[TrendQuery, indicator_query(timedelta(days=30))]
Last8Weeks = Annotated[TrendQuery, indicator_query(timedelta(weeks=8))]
