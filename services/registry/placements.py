"""The read side of `sensor_placements`: which grid and community a sensor belonged to when —
what trends and reports of a past period select sensors by (docs/decisions.md, "Past periods:
validity intervals"). `RegistryStore` writes the intervals with each change and reads them
through these methods."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Engine, or_, select, true
from sqlalchemy.orm import Session

from services.db.models import RegistryMeta, RegistrySensor, SensorPlacement


class Tenure(NamedTuple):
    """One validity interval of a sensor's placement ([valid_from, valid_to), hub clock; None:
    still there), with what a trend needs of the sensor (a retired sensor's row keeps its last
    kind, asset and interval)."""

    sensor: str
    kind: str
    asset: str
    interval_s: int
    grid: str
    community: str
    valid_from_ns: int
    valid_to_ns: int | None


class Placements:
    """Placement history queries on `engine` (a mixin of RegistryStore)."""

    engine: Engine

    def placements(self, sensor_id: str) -> list[tuple[str, str, int, int | None]]:
        """A sensor's (grid, community, valid_from_ns, valid_to_ns), oldest first."""
        with Session(self.engine) as s:
            rows = s.scalars(
                select(SensorPlacement)
                .where(SensorPlacement.sensor == sensor_id)
                .order_by(SensorPlacement.id)
            )
            return [(r.grid, r.community, r.valid_from_ns, r.valid_to_ns) for r in rows]

    def last_tenure(self, sensor_id: str) -> Tenure | None:
        """A sensor's latest placement interval (a retired one's last grid and kind): what
        its past data is read and shown by; None for a sensor never registered."""
        found = self.tenures(0, 2**63 - 1, sensor=sensor_id)
        return found[-1] if found else None

    def tenures(
        self, start_ns: int, stop_ns: int, sensor: str | None = None
    ) -> list[Tenure] | None:
        """Every placement interval overlapping [start, stop), in the registry's sensor order
        (retired sensors last), each sensor's oldest first; None when the database holds no
        registry yet (its placements are then unknown, not empty)."""
        p, r = SensorPlacement, RegistrySensor
        q = (
            select(
                p.sensor,
                r.kind,
                r.asset,
                r.interval_s,
                p.grid,
                p.community,
                p.valid_from_ns,
                p.valid_to_ns,
            )
            .join(r, r.id == p.sensor)
            .where(
                p.valid_from_ns < stop_ns, or_(p.valid_to_ns.is_(None), p.valid_to_ns > start_ns)
            )
            .where(p.sensor == sensor if sensor is not None else true())
            .order_by(r.retired_at_ns.is_not(None), r.position, p.sensor, p.valid_from_ns, p.id)
        )
        with self.engine.connect() as conn:
            if conn.execute(select(RegistryMeta.id).where(RegistryMeta.id == 1)).first() is None:
                return None
            return [Tenure(*row) for row in conn.execute(q)]
