"""Who a ticket goes to: the sensor's grid cell and its worker, with the community's supervisor
as the escalation target (all from the site registry).

`community.silent` is the one rule whose breach names a community, not a sensor (one incident
instead of a ticket per silent sensor): it is filed under the community's FIRST grid and
assigned straight to the community's supervisor, since no single grid worker can fix a
backhaul or broker outage.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.site import Registry

COMMUNITY_RULE = "community.silent"
COMMUNITY_KIND = "community"


@dataclass(frozen=True, slots=True)
class Route:
    kind: str
    grid: str
    grid_name: str
    community: str
    community_name: str
    asset: str
    assignee: str
    assignee_name: str
    supervisor: str
    supervisor_name: str


def route(registry: Registry, sensor: str, rule: str) -> Route | None:
    """The route of a breach, or None when the registry does not know its subject."""
    if rule == COMMUNITY_RULE:
        c = registry.communities.get(sensor)
        if c is None:
            return None
        g = c.grids[0]
        return Route(
            kind=COMMUNITY_KIND,
            grid=g.id,
            grid_name=g.name,
            community=c.id,
            community_name=c.name,
            asset="",
            assignee=c.supervisor.id,
            assignee_name=c.supervisor.name,
            supervisor=c.supervisor.id,
            supervisor_name=c.supervisor.name,
        )
    p = registry.get(sensor)
    if p is None:
        return None
    return Route(
        kind=str(p.sensor.kind),
        grid=p.grid.id,
        grid_name=p.grid.name,
        community=p.community.id,
        community_name=p.community.name,
        asset=p.sensor.asset or p.sensor.id,
        assignee=p.grid.worker.id,
        assignee_name=p.grid.worker.name,
        supervisor=p.community.supervisor.id,
        supervisor_name=p.community.supervisor.name,
    )
