"""What a report contains, gathered from the trends indicators (InfluxDB) and the ticket
database. A section whose data cannot be had (e.g. compliance older than the raw retention)
carries the reason instead, so the rest of the report is still produced."""

from __future__ import annotations

import asyncio
import math
import statistics
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.site import Registry
from services.db.models import Ticket
from services.trends.calendar import PondCalendar
from services.trends.completeness import Completeness
from services.trends.errors import TrendsError
from services.trends.power import VoltageQualification
from services.trends.service import Trends
from services.trends.sewer import Episode, SewerWeek
from services.trends.water import ChlorineCompliance

NS = 10**9
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Durations:
    """Seconds; None without any sample."""

    count: int
    median_s: float | None
    p90_s: float | None

    @classmethod
    def of(cls, samples: Sequence[float]) -> Durations:
        """Median, and the 90th percentile by nearest rank (an actual ticket's time)."""
        if not samples:
            return cls(0, None, None)
        ordered = sorted(samples)
        p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
        return cls(len(ordered), float(statistics.median(ordered)), float(p90))


@dataclass(frozen=True, slots=True)
class TicketStats:
    """Tickets opened in the period (event time), as they stand now."""

    opened: int
    open_now: int
    resolved: int
    critical: int
    by_rule: dict[str, int]
    by_kind: dict[str, int]
    to_acknowledge: Durations  # from the hub opening the ticket to a crew taking it on
    to_resolve: Durations  # from the hub opening the ticket to its resolution


def ticket_stats(
    engine: Engine, start_ns: int, stop_ns: int, community: str | None = None
) -> TicketStats:
    q = select(Ticket).where(Ticket.opened_at_ns >= start_ns, Ticket.opened_at_ns < stop_ns)
    if community is not None:
        q = q.where(Ticket.community == community)
    with Session(engine) as s:
        rows = list(s.scalars(q))
    ack = [
        (t.acknowledged_at_ns - t.created_at_ns) / NS
        for t in rows
        if t.acknowledged_at_ns is not None
    ]
    res = [(t.resolved_at_ns - t.created_at_ns) / NS for t in rows if t.resolved_at_ns is not None]
    return TicketStats(
        opened=len(rows),
        open_now=sum(t.status != "resolved" for t in rows),
        resolved=sum(t.status == "resolved" for t in rows),
        critical=sum(t.severity == "critical" for t in rows),
        by_rule=dict(Counter(t.rule for t in rows).most_common()),
        by_kind=dict(Counter(t.kind for t in rows).most_common()),
        to_acknowledge=Durations.of(ack),
        to_resolve=Durations.of(res),
    )


@dataclass(slots=True)
class ReportData:
    site: str
    community: str | None
    community_name: str
    start_ns: int
    stop_ns: int
    generated_ns: int
    timezone: str
    ponds: list[PondCalendar] = field(default_factory=list)
    chlorine: list[ChlorineCompliance] = field(default_factory=list)
    voltage: list[VoltageQualification] = field(default_factory=list)
    sewer_episodes: list[Episode] = field(default_factory=list)
    sewer_weeks: list[SewerWeek] = field(default_factory=list)
    completeness_sensors: list[Completeness] = field(default_factory=list)
    completeness_grids: list[Completeness] = field(default_factory=list)
    tickets: TicketStats | None = None
    problems: dict[str, str] = field(default_factory=dict)  # section -> why it is missing


async def _section(
    problems: dict[str, str], name: str, get: Callable[[], Awaitable[T]], empty: T
) -> T:
    try:
        return await get()
    except TrendsError as e:
        problems[name] = str(e)
        return empty


async def collect(
    trends: Trends,
    engine: Engine,
    registry: Registry,
    start_ns: int,
    stop_ns: int,
    community: str | None = None,
    *,
    now_ns: int,
) -> ReportData:
    """Every section of the report over [start, stop), for one community or the whole site."""
    if community is not None and community not in registry.communities:
        raise TrendsError(f"no community {community!r} in the registry")
    name = registry.communities[community].name if community else "全部社区 / all communities"
    d = ReportData(
        site=", ".join(c.name for c in registry.communities.values()),
        community=community,
        community_name=name,
        start_ns=start_ns,
        stop_ns=stop_ns,
        generated_ns=now_ns,
        timezone=registry.site.timezone,
    )
    p = d.problems
    d.ponds = await _section(
        p, "ponds", lambda: trends.pond_calendars(registry, start_ns, stop_ns, community), []
    )
    d.chlorine = await _section(
        p, "chlorine", lambda: trends.chlorine(registry, start_ns, stop_ns, community), []
    )
    d.voltage = await _section(
        p, "voltage", lambda: trends.voltage(registry, start_ns, stop_ns, community), []
    )
    no_sewer: tuple[list[Episode], list[SewerWeek]] = ([], [])
    d.sewer_episodes, d.sewer_weeks = await _section(
        p, "sewer", lambda: trends.sewer_events(registry, start_ns, stop_ns, community), no_sewer
    )
    no_data: tuple[list[Completeness], list[Completeness]] = ([], [])
    d.completeness_sensors, d.completeness_grids = await _section(
        p,
        "completeness",
        lambda: trends.completeness(registry, start_ns, stop_ns, community),
        no_data,
    )
    d.tickets = await asyncio.to_thread(ticket_stats, engine, start_ns, stop_ns, community)
    return d
