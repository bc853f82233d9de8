"""What is wrong with a site document, entry by entry: `Problem` names the entity, its id and
the field, and `problems(site)` finds the cross-references a model cannot check field by field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.site.models import EscalationStep, Site


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a site document, with its place: the entity (`sensor`, `grid`,
    `community`, `person`, `channel`, `escalation` or `site`), its id where it has one, and
    the field."""

    entity: str
    id: str | None
    field: str | None
    msg: str

    def __str__(self) -> str:
        who = self.entity if self.id is None else f"{self.entity} {self.id!r}"
        return f"{who}, field '{self.field}': {self.msg}" if self.field else f"{who}: {self.msg}"


def problems(site: Site) -> list[Problem]:
    """The cross-references a model cannot check field by field: unique ids per entity, and
    every id a grid, person, sensor, channel or escalation step names exists."""
    out: list[Problem] = []

    def unique(entity: str, ids: list[str]) -> set[str]:
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                out.append(Problem(entity, i, "id", f"{entity} id {i!r} is used twice"))
            seen.add(i)
        return seen

    grids = unique("grid", [g.id for c in site.communities for g in c.grids])
    communities = unique("community", [c.id for c in site.communities])
    people = unique("person", [p.id for p in site.people])
    unique("sensor", [s.id for s in site.sensors])
    unique("channel", [c.id for c in site.channels])
    for s in site.sensors:
        if s.grid not in grids:
            out.append(
                Problem("sensor", s.id, "grid", f"names grid {s.grid!r}, which no community has")
            )
    for p in site.people:
        out.extend(
            Problem("person", p.id, "grids", f"names grid {g!r}, which no community has")
            for g in p.grids
            if g not in grids
        )
    for ch in site.channels:
        out.extend(
            Problem("channel", ch.id, "grids", f"names grid {g!r}, which no community has")
            for g in ch.grids
            if g not in grids
        )
        out.extend(
            Problem("channel", ch.id, "communities", f"no community {c!r}")
            for c in ch.communities
            if c not in communities
        )
    steps: list[tuple[str | None, EscalationStep]] = [(None, st) for st in site.escalation]
    steps += [(c.id, st) for c in site.communities for st in c.escalation or []]
    for cid, st in steps:
        if st.notify not in ("supervisor", "worker") and st.notify not in people:
            entity, where = ("escalation", None) if cid is None else ("community", cid)
            field = "notify" if cid is None else "escalation.notify"
            out.append(
                Problem(
                    entity,
                    where,
                    field,
                    f"escalation step notifies {st.notify!r}: supervisor, worker or a person's id",
                )
            )
    return out
