"""`TrendStore`: what every trend reads from, bundled once per call instead of threaded through
each indicator — the open InfluxDB client, the retention layout, the registry that names the
sensors (passed per call by `Trends`, as an admin may replace it at run time), and the
placement history of the request's period that scopes them (services.trends.scope)."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.influx.query import InfluxQuery
from adapters.influx.retention import Layout
from domain.site import Registry
from services.trends.scope import History


@dataclass(frozen=True, slots=True)
class TrendStore:
    influx: InfluxQuery
    layout: Layout
    registry: Registry
    placements: History | None = None
    """The period's placements (`scope.load_history`); None: the current registry's."""

    @property
    def timezone(self) -> str:
        """The site's IANA zone: days, weeks and nights are site-local."""
        return self.registry.site.timezone

    @property
    def history(self) -> History:
        """Where each sensor was, when: what indicators select their sensors by."""
        return self.placements if self.placements is not None else History.current(self.registry)
