"""One entity's change (POST / PATCH / DELETE of §7) as an edit of the site document.

Each function takes the committed site and a request body and returns the new site, validated
as a whole by `parse_site` (the one schema: a body's bad field is named the way a site file's
would be). Conflicts the schema cannot word well — a duplicate id, deleting a grid that still
holds sensors or a person a grid names — are `RegistryConflict` (409); a missing entity is
`EntityNotFound` (404).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.site import Problem, Site, SiteError, parse_site
from services.registry.changes import EntityNotFound, RegistryConflict
from services.rules.book import RuleBook
from services.rules.overrides import RuleError

ENTITY_NAMES = {
    "sensors": "sensor",
    "communities": "community",
    "grids": "grid",
    "people": "person",
}


def _body(body: Any, entity: str) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise SiteError(
            f"the body must be a JSON object of the {entity}'s fields",
            (Problem(entity, None, None, "the body must be a JSON object of its fields"),),
        )
    return dict(body)


def _grids(doc: dict[str, Any]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    return {g["id"]: (g, c) for c in doc["communities"] for g in c["grids"]}


def _find(items: list[dict[str, Any]], ident: str) -> dict[str, Any] | None:
    return next((x for x in items if x.get("id") == ident), None)


def add(site: Site, entity: str, body: Any) -> Site:
    """`POST /{entity}`: the site with one more entity (409 when its id is taken)."""
    name = ENTITY_NAMES[entity]
    data = _body(body, name)
    doc = site.document()
    ident = data.get("id")
    if entity == "grids":
        community = data.pop("community", None)
        if isinstance(ident, str) and ident in _grids(doc):
            raise RegistryConflict(f"grid {ident!r} exists already")
        c = _find(doc["communities"], community) if isinstance(community, str) else None
        if c is None:
            raise SiteError(
                f"grid {ident!r}, field 'community': no community {community!r}",
                (Problem("grid", _shown(ident), "community", f"no community {community!r}"),),
            )
        c["grids"].append(data)
    else:
        if isinstance(ident, str) and _find(doc[entity], ident) is not None:
            raise RegistryConflict(f"{name} {ident!r} exists already")
        doc[entity].append(data)
    return parse_site(doc, "body")


def patch(site: Site, entity: str, ident: str, body: Any) -> Site:
    """`PATCH /{entity}/{id}`: the fields given replace the entity's (the id stays)."""
    name = ENTITY_NAMES[entity]
    data = _body(body, name)
    if "id" in data and data["id"] != ident:
        raise SiteError(
            f"{name} {ident!r}, field 'id': an id cannot change (add a new {name} instead)",
            (Problem(name, ident, "id", f"an id cannot change (add a new {name} instead)"),),
        )
    doc = site.document()
    if entity == "grids":
        found = _grids(doc).get(ident)
        if found is None:
            raise EntityNotFound(name, ident)
        grid, community = found
        target = data.pop("community", community["id"])
        grid.update(data)
        if target != community["id"]:
            dest = _find(doc["communities"], target) if isinstance(target, str) else None
            if dest is None:
                raise SiteError(
                    f"grid {ident!r}, field 'community': no community {target!r}",
                    (Problem("grid", ident, "community", f"no community {target!r}"),),
                )
            community["grids"].remove(grid)
            dest["grids"].append(grid)
    else:
        item = _find(doc[entity], ident)
        if item is None:
            raise EntityNotFound(name, ident)
        item.update(data)
    return parse_site(doc, "body")


def remove(site: Site, entity: str, ident: str) -> Site:
    """`DELETE /{entity}/{id}`: a sensor is retired (its history stays); a grid, community or
    person that something still names is a 409 that says what."""
    name = ENTITY_NAMES[entity]
    doc = site.document()
    if entity == "sensors":
        if _find(doc["sensors"], ident) is None:
            raise EntityNotFound(name, ident)
        doc["sensors"] = [s for s in doc["sensors"] if s["id"] != ident]
    elif entity == "grids":
        found = _grids(doc).get(ident)
        if found is None:
            raise EntityNotFound(name, ident)
        holding = [s["id"] for s in doc["sensors"] if s["grid"] == ident]
        if holding:
            raise RegistryConflict(
                f"grid {ident!r} still holds sensors {', '.join(holding[:10])}: "
                "move or retire them first"
            )
        grid, community = found
        if len(community["grids"]) == 1:
            raise RegistryConflict(
                f"grid {ident!r} is community {community['id']!r}'s only grid: "
                "delete the community instead"
            )
        community["grids"].remove(grid)
    elif entity == "communities":
        c = _find(doc["communities"], ident)
        if c is None:
            raise EntityNotFound(name, ident)
        ids = {g["id"] for g in c["grids"]}
        holding = [s["id"] for s in doc["sensors"] if s["grid"] in ids]
        if holding:
            raise RegistryConflict(
                f"community {ident!r} still holds sensors {', '.join(holding[:10])}: "
                "move or retire them first"
            )
        doc["communities"].remove(c)
    else:
        if _find(doc["people"], ident) is None:
            raise EntityNotFound(name, ident)
        named = [
            where
            for c in doc["communities"]
            for where, who in [(f"community {c['id']}", c["supervisor"])]
            + [(f"grid {g['id']}", g["worker"]) for g in c["grids"]]
            if who == ident
        ]
        if named:
            raise RegistryConflict(
                f"person {ident!r} is named by {', '.join(named)}: name someone else there first"
            )
        doc["people"] = [p for p in doc["people"] if p["id"] != ident]
    return parse_site(doc, "body")


def _shown(ident: object) -> str | None:
    return ident if isinstance(ident, str) else None


def checked(book: RuleBook, site: Site) -> Site:
    """`site`, unless a sensor's `rules` patch cannot be used with the rule book (SiteError
    naming the sensor and the field)."""
    found = []
    for s in site.sensors:
        if s.rules:
            try:
                book.check_sensor_rules(s.id, s.kind, s.rules)
            except RuleError as e:
                found.append(Problem("sensor", s.id, "rules", str(e)))
    if found:
        raise SiteError("\n".join(str(p) for p in found), tuple(found))
    return site
