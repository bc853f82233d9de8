"""The registry's tables (contract §7): one row per entity, lists and mappings as JSON text,
`position` keeping the document's order. `read_site` builds the committed site from them;
`write_site` writes a change's diff — the small tables rewritten whole, sensors row by row, a
sensor missing from the new site retired (its row stays), never deleted."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from domain.site import Site
from services.db.models import (
    RegistryChannel,
    RegistryCommunity,
    RegistryEscalation,
    RegistryGrid,
    RegistryMeta,
    RegistryPerson,
    RegistrySensor,
)
from services.registry.changes import Current, as_json

_CHUNK = 500
"""Ids per `IN (...)` (SQLite's and psycopg's parameter limits are far above it)."""


def read_site(s: Session) -> Current:
    """The committed registry, as the tables hold it."""
    meta = s.get(RegistryMeta, 1)
    if meta is None:
        return Current(None, 0, frozenset())
    people = [
        {
            "id": p.id,
            "name": p.name,
            "phone": p.phone,
            "email": p.email,
            "role": p.role,
            "grids": json.loads(p.grids),
        }
        for p in s.scalars(select(RegistryPerson).order_by(RegistryPerson.position))
    ]
    steps: dict[str | None, list[dict[str, Any]]] = {}
    for e in s.scalars(select(RegistryEscalation).order_by(RegistryEscalation.position)):
        steps.setdefault(e.community, []).append({"after": e.after_s, "notify": e.notify})
    grids: dict[str, list[dict[str, Any]]] = {}
    for g in s.scalars(select(RegistryGrid).order_by(RegistryGrid.position)):
        gd: dict[str, Any] = {"id": g.id, "name": g.name, "worker": g.worker}
        if g.boundary is not None:
            gd["boundary"] = json.loads(g.boundary)
        grids.setdefault(g.community, []).append(gd)
    communities = [
        {
            "id": c.id,
            "name": c.name,
            "supervisor": c.supervisor,
            "grids": grids.get(c.id, []),
            "escalation": steps.get(c.id, []) if c.own_escalation else None,
        }
        for c in s.scalars(select(RegistryCommunity).order_by(RegistryCommunity.position))
    ]
    # Sensors are the one large table (a million rows in a big district): read as plain rows,
    # not ORM objects — an ORM instance per row was half of a 100k-sensor start-up.
    sensors, retired = [], set()
    rows = s.execute(
        select(
            RegistrySensor.id,
            RegistrySensor.kind,
            RegistrySensor.grid,
            RegistrySensor.asset,
            RegistrySensor.interval_s,
            RegistrySensor.rules,
            RegistrySensor.lat,
            RegistrySensor.lon,
            RegistrySensor.retired_at_ns,
        ).order_by(RegistrySensor.position)
    )
    for sid, kind, grid, asset, interval_s, rules, lat, lon, retired_at_ns in rows:
        if retired_at_ns is not None:
            retired.add(sid)
            continue
        sd: dict[str, Any] = {
            "id": sid,
            "kind": kind,
            "grid": grid,
            "asset": asset,
            "interval_s": interval_s,
            "rules": {} if rules == "{}" else json.loads(rules),  # most sensors patch nothing
        }
        if lat is not None and lon is not None:
            sd["location"] = {"lat": lat, "lon": lon}
        sensors.append(sd)
    channels = [
        json.loads(c.spec)
        for c in s.scalars(select(RegistryChannel).order_by(RegistryChannel.position))
    ]
    site = Site.model_validate(
        {
            "timezone": meta.timezone,
            "communities": communities,
            "people": people,
            "sensors": sensors,
            "channels": channels,
            "escalation": steps.get(None, []),
        }
    )
    return Current(site, int(meta.version), frozenset(retired))


def write_site(
    s: Session, cur: Current, site: Site, d: dict[str, dict[str, list[str]]], now: int
) -> None:
    small = ("site", "communities", "grids", "people", "channels")
    if cur.site is None or any(v for n in small for v in d[n].values()):
        # The small tables are rewritten whole (order kept); sensors change row by row.
        for model in (RegistryGrid, RegistryEscalation, RegistryCommunity):
            s.execute(delete(model))
        s.execute(delete(RegistryPerson))
        s.execute(delete(RegistryChannel))
        s.flush()
        for i, c in enumerate(site.communities):
            s.add(
                RegistryCommunity(
                    id=c.id,
                    name=c.name,
                    supervisor=c.supervisor.id,
                    own_escalation=c.escalation is not None,
                    position=i,
                )
            )
        s.flush()
        for c in site.communities:
            for j, g in enumerate(c.grids):
                boundary = (
                    None if g.boundary is None else as_json(g.boundary.model_dump(mode="json"))
                )
                s.add(
                    RegistryGrid(
                        id=g.id,
                        community=c.id,
                        name=g.name,
                        worker=g.worker.id,
                        boundary=boundary,
                        position=j,
                    )
                )
            for j, st in enumerate(c.escalation or []):
                s.add(
                    RegistryEscalation(
                        community=c.id, position=j, after_s=st.after, notify=st.notify
                    )
                )
        for j, st in enumerate(site.escalation):
            s.add(
                RegistryEscalation(community=None, position=j, after_s=st.after, notify=st.notify)
            )
        for i, p in enumerate(site.people):
            s.add(
                RegistryPerson(
                    id=p.id,
                    name=p.name,
                    phone=p.phone,
                    email=p.email,
                    role=p.role.value,
                    grids=as_json(p.grids),
                    position=i,
                )
            )
        for i, ch in enumerate(site.channels):
            spec = as_json(ch.model_dump(mode="json", exclude_defaults=True))
            s.add(RegistryChannel(id=ch.id, type=ch.type.value, spec=spec, position=i))
    by_id = {x.id: (i, x) for i, x in enumerate(site.sensors)}
    touched = d["sensors"]["added"] + d["sensors"]["changed"]
    rows: dict[str, RegistrySensor] = {}
    for k in range(0, len(touched), _CHUNK):  # retired rows of re-added ids included
        part = touched[k : k + _CHUNK]
        rows.update(
            (r.id, r) for r in s.scalars(select(RegistrySensor).where(RegistrySensor.id.in_(part)))
        )
    fresh = []
    for sid in touched:
        i, x = by_id[sid]
        values = {
            "kind": x.kind.value,
            "grid": x.grid,
            "asset": x.asset,
            "lat": None if x.location is None else x.location.lat,
            "lon": None if x.location is None else x.location.lon,
            "interval_s": x.interval_s,
            "rules": as_json(x.rules),
            "position": i,
            "retired_at_ns": None,
        }
        row = rows.get(sid)
        if row is None:
            fresh.append({"id": sid, "created_at_ns": now, **values})
            continue
        for column, value in values.items():
            setattr(row, column, value)
    if fresh:
        s.execute(insert(RegistrySensor), fresh)
    if d["sensors"]["removed"]:
        s.execute(
            update(RegistrySensor)
            .where(RegistrySensor.id.in_(d["sensors"]["removed"]))
            .values(retired_at_ns=now)
        )
