"""What a report contains, gathered from the trends indicators (InfluxDB) and the ticket
database. A section whose data cannot be had (e.g. compliance older than the raw retention)
carries the reason instead, so the rest of the report is still produced.

Sensors count where they were during the period (the registry's placement intervals, read once
per report from the same database: services.trends.scope), not where they are now."""

from __future__ import annotations

import asyncio
import math
import statistics
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from domain.site import Registry
from services.db.models import Photo, Ticket
from services.registry.store import RegistryStore
from services.trends.calendar import PondCalendar, pond_calendars
from services.trends.completeness import Completeness, completeness
from services.trends.errors import TrendsError
from services.trends.power import VoltageQualification, voltage_qualification
from services.trends.query import TrendQuery
from services.trends.service import Trends
from services.trends.sewer import Episode, SewerWeek, sewer_events
from services.trends.water import ChlorineCompliance, chlorine_compliance

NS = 10**9
T = TypeVar("T")
PHOTOS_PER_TICKET = 4
"""Thumbnails shown per resolved ticket; the rest are counted ("+N more"), so a report with
many photos stays a file one can mail (a thumbnail is ~10-20 KB)."""


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


@dataclass(frozen=True, slots=True)
class TicketPhotos:
    """A resolved ticket's photos: the first few thumbnails (JPEG) and how many there are."""

    ticket_id: int
    sensor: str
    rule: str
    resolved_at_ns: int
    thumbs: list[bytes]
    total: int


def resolved_photos(
    engine: Engine,
    start_ns: int,
    stop_ns: int,
    community: str | None = None,
    per_ticket: int = PHOTOS_PER_TICKET,
) -> list[TicketPhotos]:
    """The photos of the tickets opened in the period and resolved, in order of resolution;
    tickets without a photo are left out. Only thumbnails are read, never the full images."""
    q = (
        select(Ticket.id, Ticket.sensor, Ticket.rule, Ticket.resolved_at_ns, func.count(Photo.id))
        .join(Photo, Photo.ticket_id == Ticket.id)
        .where(
            Ticket.opened_at_ns >= start_ns,
            Ticket.opened_at_ns < stop_ns,
            Ticket.status == "resolved",
        )
        .group_by(Ticket.id, Ticket.sensor, Ticket.rule, Ticket.resolved_at_ns)
        .order_by(Ticket.resolved_at_ns, Ticket.id)
    )
    if community is not None:
        q = q.where(Ticket.community == community)
    out: list[TicketPhotos] = []
    with Session(engine) as s:
        for tid, sensor, rule, resolved_ns, total in s.execute(q).all():
            thumbs = s.scalars(
                select(Photo.thumb)
                .where(Photo.ticket_id == tid)
                .order_by(Photo.uploaded_at_ns, Photo.id)
                .limit(per_ticket)
            )
            out.append(
                TicketPhotos(tid, sensor, rule, resolved_ns or 0, [bytes(b) for b in thumbs], total)
            )
    return out


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
    photos: list[TicketPhotos] = field(default_factory=list)  # resolved tickets with photos
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
    """Every section of the report over [start, stop), for one community or the whole site
    (one that held sensors during the period, even if it is gone from the registry now)."""
    q = TrendQuery(start_ns=start_ns, stop_ns=stop_ns, now_ns=now_ns, community=community)
    store = await trends.period(registry, q, RegistryStore(engine))
    if community is not None and community not in store.history.communities:
        raise TrendsError(f"no community {community!r} in the registry")
    if community is None:
        name = "全部社区 / all communities"
    else:
        known = registry.communities.get(community)
        name = known.name if known is not None else community
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
    d.ponds = await _section(p, "ponds", lambda: pond_calendars(store, q), [])
    d.chlorine = await _section(p, "chlorine", lambda: chlorine_compliance(store, q), [])
    d.voltage = await _section(p, "voltage", lambda: voltage_qualification(store, q), [])
    no_sewer: tuple[list[Episode], list[SewerWeek]] = ([], [])
    d.sewer_episodes, d.sewer_weeks = await _section(
        p, "sewer", lambda: sewer_events(store, q), no_sewer
    )
    no_data: tuple[list[Completeness], list[Completeness]] = ([], [])
    d.completeness_sensors, d.completeness_grids = await _section(
        p, "completeness", lambda: completeness(store, q), no_data
    )
    d.tickets = await asyncio.to_thread(ticket_stats, engine, start_ns, stop_ns, community)
    d.photos = await asyncio.to_thread(resolved_photos, engine, start_ns, stop_ns, community)
    return d
