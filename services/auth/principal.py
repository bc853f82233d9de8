"""Who is calling, and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CREW = "crew"  # sees and changes tickets of its own grid cells only
    OFFICER = "officer"  # reads everything, changes nothing
    ADMIN = "admin"  # everything, registry included


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: Role
    grids: frozenset[str] = frozenset()

    @property
    def scope(self) -> frozenset[str] | None:
        """The grid cells this principal may see; None means all of them."""
        return self.grids if self.role is Role.CREW else None

    @property
    def can_write(self) -> bool:
        return self.role in (Role.CREW, Role.ADMIN)

    def sees_grid(self, grid: str) -> bool:
        return self.role is not Role.CREW or grid in self.grids
