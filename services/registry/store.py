"""The registry's SQL side: read the current site, apply a new one as one transaction.

Every change — `PUT /site`, one entity's POST/PATCH/DELETE, `gridwatch site apply`, the seed
from the site file — is `RegistryStore.change(make, actor)`: inside one transaction the version
row is locked (an UPDATE first: SQLite takes its write lock, PostgreSQL the row), the current
site is read, `make(current)` builds the new one (raising leaves everything as it was), the diff
by entity and id is written with an audit line per entity, the version grows by one, moved
sensors' tickets follow them and retired ones' are resolved, and on PostgreSQL a
`NOTIFY gridwatch_registry` goes out with the commit. A sensor missing from a new document is
retired (its row stays, with `retired_at_ns`), never deleted.

What a change is and its diff are `changes.py`; reading and writing the entity tables is
`tables.py`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters import heap
from domain.site import Registry, Site
from services.db.models import (
    RegistryAudit,
    RegistryMeta,
    RegistrySensor,
    SensorPlacement,
)
from services.registry.changes import (
    ENTITIES,
    SINGULAR,
    Current,
    Outcome,
    as_json,
    diff,
    entities,
)
from services.registry.placements import Placements
from services.registry.tables import read_site, write_site
from services.tickets import registry as ticket_moves
from services.tickets.lifecycle import EventKind
from services.tickets.schemas import Notice

NoticeOutbox = Callable[[Session, Registry, Sequence[Notice]], object]
"""Enqueues, inside the change's transaction, the notices it owes the chat channels, routed by
the new version (`services.ticketing.registry_outbox`)."""

CHANNEL = "gridwatch_registry"
"""The PostgreSQL NOTIFY channel a committed change is announced on (payload: the version)."""


class RegistryStore(Placements):
    """The registry tables on one engine (SQLite or PostgreSQL)."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], int] = time.time_ns,
        outbox: NoticeOutbox | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.outbox = outbox

    # -- reading ----------------------------------------------------------------------------
    def version(self) -> int:
        """The committed version (0: no registry yet); one indexed read, what watchers poll."""
        with self.engine.connect() as conn:
            v = conn.execute(select(RegistryMeta.version).where(RegistryMeta.id == 1)).scalar()
        return int(v or 0)

    def current(self) -> Current:
        """The committed site, read whole (the collector paused: a bulk build, see heap)."""
        with heap.paused(), Session(self.engine) as s:
            return read_site(s)

    def registry(self) -> Registry:
        """The committed registry; RegistryEmpty before the first change."""
        with heap.paused():
            return self.current().registry()

    # -- changing ---------------------------------------------------------------------------
    def seed(self, site: Site, actor: str = "site file") -> Outcome | None:
        """Import `site` when the database holds no registry yet; None when it does."""

        def make(cur: Current) -> Site:
            if cur.site is not None:
                raise _AlreadySeeded
            return site

        for _ in range(2):
            try:
                return self.change(make, actor)
            except _AlreadySeeded:
                return None
            except IntegrityError:
                # Another process seeded the empty database first (there is no version row
                # to lock until then): look again, and find it seeded.
                continue
        return None

    def change(
        self, make: Callable[[Current], Site], actor: str, *, dry_run: bool = False
    ) -> Outcome:
        """Build the new site from the committed one with `make` and commit it, in one
        transaction (nothing is written when `make` raises or `dry_run`)."""
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            now = self.clock()
            if s.bind is not None and s.bind.dialect.name == "postgresql":
                # Hubs starting together on an empty database: one seeds, the others wait.
                s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_REGISTRY_LOCK})
            locked = s.execute(
                update(RegistryMeta)
                .where(RegistryMeta.id == 1)
                .values(version=RegistryMeta.version + 0)
            ).rowcount  # type: ignore[attr-defined]
            if locked and s.bind is not None and s.bind.dialect.name == "postgresql":
                s.execute(select(RegistryMeta).where(RegistryMeta.id == 1).with_for_update())
            cur = read_site(s)
            site = make(cur)
            old = entities(cur.site) if cur.site is not None else {}
            new = entities(site)
            d = diff(old, new)
            out = Outcome(cur.version, d, site, dry_run=dry_run)
            by_id = {x.id: x for x in site.sensors}
            out.added_sensors = [by_id[i] for i in d["sensors"]["added"]]
            out.retired_sensors = list(d["sensors"]["removed"])
            out.moved_sensors = [
                i
                for i in d["sensors"]["changed"]
                if old["sensors"][i]["grid"] != new["sensors"][i]["grid"]
            ]
            if out.empty or dry_run:
                s.rollback()
                return out
            version = cur.version + 1
            write_site(s, cur, site, d, now)
            audit = [
                {
                    "at_ns": now,
                    "actor": actor,
                    "entity": SINGULAR[name],
                    "entity_id": i,
                    "action": "retired" if (name, action) == ("sensors", "removed") else action,
                    "before": as_json(old[name][i]) if i in old.get(name, {}) else None,
                    "after": as_json(new[name][i]) if i in new[name] else None,
                    "version": version,
                }
                for name in ENTITIES
                for action, ids in d[name].items()
                for i in ids
            ]
            s.execute(insert(RegistryAudit), audit)  # one statement: a 10,000-sensor import
            registry = Registry(site, version=version)
            self._placements(s, registry, out, cur, now)
            for sid in out.moved_sensors:
                moved = ticket_moves.reassign(s, registry, sid, actor, now)
                out.tickets_reassigned += [t.id for t in moved]
                out.notices += ticket_moves.notices(s, moved, EventKind.REASSIGNED)
            for sid in out.retired_sensors:
                done = ticket_moves.retire(s, sid, actor, now)
                out.tickets_retired += [t.id for t in done]
                out.notices += ticket_moves.notices(s, done, EventKind.RETIRED)
            if out.notices and self.outbox is not None:
                self.outbox(s, registry, out.notices)
            if cur.site is None:
                s.add(
                    RegistryMeta(id=1, version=version, timezone=site.timezone, updated_at_ns=now)
                )
            else:
                s.execute(
                    update(RegistryMeta)
                    .where(RegistryMeta.id == 1)
                    .values(version=version, timezone=site.timezone, updated_at_ns=now)
                )
            if s.bind is not None and s.bind.dialect.name == "postgresql":
                s.execute(text("SELECT pg_notify(:c, :v)"), {"c": CHANNEL, "v": str(version)})
            out.version = version
        return out

    def _placements(
        self, s: Session, registry: Registry, out: Outcome, cur: Current, now: int
    ) -> None:
        """Close and open the validity intervals of sensors added, moved or retired (and of
        every sensor whose grid's community changed)."""
        old = Registry(cur.site) if cur.site is not None else None
        ended: list[str] = list(out.retired_sensors)
        started: list[str] = []
        for sid, p in registry.placements.items():
            before = old.get(sid) if old is not None else None
            if before is None:
                started.append(sid)
            elif (before.grid.id, before.community.id) != (p.grid.id, p.community.id):
                ended.append(sid)
                started.append(sid)
        if ended:
            s.execute(
                update(SensorPlacement)
                .where(SensorPlacement.sensor.in_(ended), SensorPlacement.valid_to_ns.is_(None))
                .values(valid_to_ns=now)
            )
        since = 0 if cur.site is None else now  # the seed: valid for the past, as files were
        rows = [
            {
                "sensor": sid,
                "grid": registry.placements[sid].grid.id,
                "community": registry.placements[sid].community.id,
                "valid_from_ns": since,
                "valid_to_ns": None,
            }
            for sid in started
        ]
        if rows:
            s.execute(insert(SensorPlacement), rows)

    # -- logins and the audit log -----------------------------------------------------------
    def set_login(self, sensor_id: str, login_hash: str | None, actor: str, note: str) -> None:
        """Record a sensor's login (its hash; None: disabled) with an audit line. Not a
        registry version: no process needs to reload for it."""
        with Session(self.engine) as s, s.begin():
            now = self.clock()
            row = s.get(RegistrySensor, sensor_id)
            if row is not None:
                row.login_hash = login_hash
                row.login_set_at_ns = now
            version = s.execute(select(RegistryMeta.version).where(RegistryMeta.id == 1)).scalar()
            s.add(
                RegistryAudit(
                    at_ns=now,
                    actor=actor,
                    entity="sensor",
                    entity_id=sensor_id,
                    action="login",
                    before=None,
                    after=as_json({"login": note}),
                    version=int(version or 0),
                )
            )

    def sensor_row(self, sensor_id: str) -> RegistrySensor | None:
        with Session(self.engine, expire_on_commit=False) as s:
            return s.get(RegistrySensor, sensor_id)

    def audit(
        self, entity: str | None = None, since_ns: int | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        q = select(RegistryAudit).order_by(RegistryAudit.id.desc()).limit(limit)
        if entity:
            q = q.where(RegistryAudit.entity == entity)
        if since_ns is not None:
            q = q.where(RegistryAudit.at_ns >= since_ns)
        with Session(self.engine) as s:
            return [
                {
                    "id": a.id,
                    "at_ns": a.at_ns,
                    "who": a.actor,
                    "entity": a.entity,
                    "entity_id": a.entity_id,
                    "action": a.action,
                    "before": None if a.before is None else json.loads(a.before),
                    "after": None if a.after is None else json.loads(a.after),
                    "version": a.version,
                }
                for a in s.scalars(q)
            ]


_PG_REGISTRY_LOCK = 0x72656769  # "regi": every hub's registry changes take turns


class _AlreadySeeded(Exception):
    pass
