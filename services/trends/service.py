"""The trends service the API holds: one open InfluxQuery and the retention layout, with the
registry passed per call (an admin may replace it at run time) and an injectable clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from domain.site import Registry
from services.influx.client import InfluxQuery
from services.influx.retention import Layout, ensure_retention
from services.trends.calendar import PondCalendar, pond_calendars
from services.trends.completeness import Completeness, completeness
from services.trends.ponds import PondStatus, pond_status
from services.trends.power import VoltageQualification, voltage_qualification
from services.trends.series import SeriesResult, plan_series, run_series
from services.trends.sewer import Episode, SewerWeek, sewer_events
from services.trends.water import ChlorineCompliance, NightFlow, chlorine_compliance, night_flow


@dataclass(slots=True)
class Trends:
    influx: InfluxQuery
    layout: Layout = field(default_factory=Layout)
    clock: Callable[[], int] = field(default=time.time_ns)

    @classmethod
    async def start(
        cls, influx: InfluxQuery, raw_duration: str = "INF", rollup_duration: str = "1040w"
    ) -> Trends:
        """Set up retention and rollups (idempotent) and return a service using them."""
        layout = await ensure_retention(influx, influx.db, raw_duration, rollup_duration)
        return cls(influx, layout)

    async def series(
        self,
        registry: Registry,
        sensor: str,
        metric: str,
        start_ns: int,
        stop_ns: int,
        every_s: int,
        agg: str,
    ) -> SeriesResult:
        plan = plan_series(
            registry, self.layout, sensor, metric, start_ns, stop_ns, every_s, agg, self.clock()
        )
        return await run_series(self.influx, plan)

    async def pond(
        self, registry: Registry, sensor: str, start_ns: int, stop_ns: int
    ) -> PondStatus:
        return await pond_status(
            self.influx, registry, self.layout, sensor, start_ns, stop_ns, self.clock()
        )

    async def pond_calendars(
        self, registry: Registry, start_ns: int, stop_ns: int, community: str | None = None
    ) -> list[PondCalendar]:
        return await pond_calendars(
            self.influx, registry, self.layout, start_ns, stop_ns, self.clock(), community
        )

    async def sewer_events(
        self, registry: Registry, start_ns: int, stop_ns: int, community: str | None = None
    ) -> tuple[list[Episode], list[SewerWeek]]:
        return await sewer_events(
            self.influx, registry, self.layout, start_ns, stop_ns, self.clock(), community
        )

    async def chlorine(
        self, registry: Registry, start_ns: int, stop_ns: int, community: str | None = None
    ) -> list[ChlorineCompliance]:
        return await chlorine_compliance(
            self.influx, registry, self.layout, start_ns, stop_ns, self.clock(), community
        )

    async def night_flow(
        self, registry: Registry, start_ns: int, stop_ns: int, community: str | None = None
    ) -> list[NightFlow]:
        return await night_flow(
            self.influx, registry, self.layout, start_ns, stop_ns, self.clock(), community
        )

    async def voltage(
        self, registry: Registry, start_ns: int, stop_ns: int, community: str | None = None
    ) -> list[VoltageQualification]:
        return await voltage_qualification(
            self.influx, registry, self.layout, start_ns, stop_ns, self.clock(), community
        )

    async def completeness(
        self,
        registry: Registry,
        start_ns: int,
        stop_ns: int,
        community: str | None = None,
        grid: str | None = None,
    ) -> tuple[list[Completeness], list[Completeness]]:
        return await completeness(
            self.influx, registry, self.layout, start_ns, stop_ns, self.clock(), community, grid
        )
