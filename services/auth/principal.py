"""Who is calling, and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.site import Placement, Registry


class NotVisible(LookupError):
    """The sensor is not in the registry, or in a grid cell the caller may not see: one answer
    for both (404), so a crew never learns that another grid's sensor exists."""

    def __init__(self, sensor: str) -> None:
        super().__init__(f"sensor {sensor} does not exist")
        self.sensor = sensor


class Role(StrEnum):
    CREW = "crew"  # sees and changes tickets of its own grid cells only
    OFFICER = "officer"  # reads everything, changes nothing
    ADMIN = "admin"  # everything, registry included


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: Role
    grids: frozenset[str] = frozenset()
    display: str = ""  # the person's name, as timelines show it ("王师傅"); "" = `name`

    @property
    def shown(self) -> str:
        """Who did it, on a ticket's timeline: the person's name, else the token's name."""
        return self.display or self.name

    @property
    def scope(self) -> frozenset[str] | None:
        """The grid cells this principal may see; None means all of them."""
        return self.grids if self.role is Role.CREW else None

    @property
    def can_write(self) -> bool:
        return self.role in (Role.CREW, Role.ADMIN)

    @property
    def is_field_crew(self) -> bool:
        """Crew on site: only they mark arrival (`on_site`), and only on their own grids."""
        return self.role is Role.CREW

    def sees_grid(self, grid: str) -> bool:
        return self.role is not Role.CREW or grid in self.grids

    def placement(self, registry: Registry, sensor: str) -> Placement:
        """The sensor's placement if this principal may see it, else NotVisible."""
        p = registry.get(sensor)
        if p is None or not self.sees_grid(p.grid.id):
            raise NotVisible(sensor)
        return p
