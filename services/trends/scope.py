"""Which sensors an indicator covers: all of one kind, or those of a community or grid cell.
Every id that reaches a query comes from here, i.e. from the registry."""

from __future__ import annotations

from domain.catalog import Kind
from domain.site import Registry, Sensor
from services.trends.errors import UnknownSeries


def sensors_in(
    registry: Registry, kind: Kind | None, community: str | None = None, grid: str | None = None
) -> list[Sensor]:
    if community is not None and community not in registry.communities:
        raise UnknownSeries(f"no community {community!r} in the registry")
    if grid is not None and grid not in registry.grids:
        raise UnknownSeries(f"no grid {grid!r} in the registry")
    return [
        p.sensor
        for p in registry.placements.values()
        if (kind is None or p.sensor.kind is kind)
        and (community is None or p.community.id == community)
        and (grid is None or p.grid.id == grid)
    ]
