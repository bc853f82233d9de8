"""What a registry change is: the registry as committed (`Current`), the site as entity → id →
fields and the diff of two such, what a change did (`Outcome`), and the errors a change is
refused with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from domain.site import Registry, Sensor, Site
from services.tickets.schemas import Notice

ENTITIES = ("site", "communities", "grids", "people", "sensors", "channels")
SINGULAR = {
    "site": "site",
    "communities": "community",
    "grids": "grid",
    "people": "person",
    "sensors": "sensor",
    "channels": "channel",
}


class RegistryEmpty(LookupError):
    """The database holds no registry yet (and no site file was given to seed it)."""


class RegistryConflict(ValueError):
    """A change that contradicts the registry: a duplicate id, a grid still holding sensors."""


class EntityNotFound(LookupError):
    """No such community, grid, person or sensor."""

    def __init__(self, entity: str, ident: str) -> None:
        super().__init__(f"no {entity} {ident!r} in the registry")
        self.entity = entity
        self.ident = ident


@dataclass(frozen=True, slots=True)
class Current:
    """The registry as committed: its site (None before the first), version, retired ids."""

    site: Site | None
    version: int
    retired: frozenset[str]

    def registry(self) -> Registry:
        if self.site is None:
            raise RegistryEmpty("the database holds no registry yet")
        return Registry(self.site, version=self.version, retired=self.retired)


@dataclass(slots=True)
class Outcome:
    """What a change did (or, dry, would do)."""

    version: int
    diff: dict[str, dict[str, list[str]]]
    site: Site | None = None
    added_sensors: list[Sensor] = field(default_factory=list)
    retired_sensors: list[str] = field(default_factory=list)
    moved_sensors: list[str] = field(default_factory=list)
    tickets_reassigned: list[int] = field(default_factory=list)
    tickets_retired: list[int] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    """The moved and retired tickets' events, for the caller's live channels after commit."""
    dry_run: bool = False

    @property
    def empty(self) -> bool:
        return not any(v for d in self.diff.values() for v in d.values())

    def answer(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "dry_run": self.dry_run,
            **self.diff,
            "tickets": {"reassigned": self.tickets_reassigned, "retired": self.tickets_retired},
        }


def entities(site: Site) -> dict[str, dict[str, dict[str, Any]]]:
    """The site as entity → id → its fields (as the document writes them): what a diff and
    the audit log compare."""
    doc = site.document()
    out: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in ENTITIES}
    out["site"]["site"] = {"timezone": doc["timezone"], "escalation": doc["escalation"]}
    for c in doc["communities"]:
        grids = c.pop("grids")
        out["communities"][c["id"]] = c
        for g in grids:
            out["grids"][g["id"]] = {**g, "community": c["id"]}
    for name in ("people", "sensors", "channels"):
        out[name] = {e["id"]: e for e in doc[name]}
    return out


def diff(
    old: dict[str, dict[str, dict[str, Any]]], new: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for name in ENTITIES:
        a, b = old.get(name, {}), new[name]
        out[name] = {
            "added": [i for i in b if i not in a],
            "changed": [i for i in b if i in a and a[i] != b[i]],
            "removed": [i for i in a if i not in b],
        }
    return out


def as_json(value: Any) -> str:
    """A value as the registry's JSON columns and the audit log store it."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
