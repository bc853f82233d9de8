"""The live registry's admin API (contract §7): `GET/PUT /site`, POST/PATCH/DELETE for sensors,
communities, grids and people, credential rotation and the audit log.

Admins change; officers read; a crew reads its own grids only (`GET /site`). Every change is
one `RegistryStore.change` transaction; the broker logins of new, rotated and retired sensors
are set after it commits (`DeviceLogins`), and a login failure is answered and audited, never
rolled back into the registry.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import JSONResponse

from domain.ids import ID_PATTERN
from domain.instants import ZONE_RULE, from_ns, to_ns
from domain.site import Problem, Site, SiteError, parse_site_text
from services.api.deps import AdminDep, HubDep, PrincipalDep
from services.api.hub import Hub
from services.api.security import SITE_BODY_MAX
from services.auth.principal import Principal, Role
from services.registry import edits, provisioning
from services.registry.changes import Current, EntityNotFound, Outcome, RegistryEmpty
from services.registry.edits import checked
from services.registry.provisioning import Logins
from services.registry.store import RegistryStore
from services.rules.book import RuleBook, load_rules

log = logging.getLogger(__name__)

router = APIRouter(tags=["registry"])

MASK = "********"
EntityId = Annotated[str, Path(pattern=ID_PATTERN)]


def _store(hub: Hub) -> RegistryStore:
    if hub.store is None:
        raise RegistryEmpty("this process has no registry database")
    return hub.store


def site_view(site: Site, version: int, who: Principal) -> dict[str, Any]:
    """The document as `who` may see it: a crew its own grids (no channels), an officer
    everything but channel secrets, an admin everything."""
    doc = site.document()
    if who.role is Role.CREW:
        mine = who.grids
        communities = []
        for c in doc["communities"]:
            grids = [g for g in c["grids"] if g["id"] in mine]
            if grids:
                communities.append({**c, "grids": grids})
        named = {c["supervisor"] for c in communities}
        named |= {g["worker"] for c in communities for g in c["grids"]}
        doc["communities"] = communities
        doc["sensors"] = [s for s in doc["sensors"] if s["grid"] in mine]
        doc["people"] = [
            p for p in doc["people"] if p["id"] in named or set(p.get("grids", [])) & mine
        ]
        doc["channels"] = []
    elif who.role is Role.OFFICER:
        for ch in doc["channels"]:
            if ch.get("secret"):
                ch["secret"] = MASK
    return {"version": version, **doc}


def _book(hub: Hub) -> RuleBook:
    if hub.rule_book is None:
        hub.rule_book = load_rules(hub.settings.rules)
    return hub.rule_book


def _current(hub: Hub) -> Current:
    cur: Current = _store(hub).current()
    _site_of(cur)  # refuses an empty registry
    return cur


@router.get("/site")
async def get_site(hub: HubDep, who: PrincipalDep) -> dict[str, Any]:
    cur = await asyncio.to_thread(_current, hub)
    assert cur.site is not None  # noqa: S101 - _current refuses an empty registry
    return site_view(cur.site, cur.version, who)


def _parse_body(raw: bytes) -> Site:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SiteError(
            "the body is not UTF-8 text", (Problem("site", None, None, "not UTF-8 text"),)
        ) from None
    return parse_site_text(text, "body")


@router.put("/site", max_body_size=SITE_BODY_MAX)
async def put_site(
    request: Request,
    hub: HubDep,
    who: AdminDep,
    dry_run: Annotated[bool, Query(description="only answer the diff")] = False,
) -> dict[str, Any]:
    """The whole registry as a site document (JSON or YAML). A sensor missing from it is
    retired, never deleted."""
    raw = await request.body()
    site = await asyncio.to_thread(lambda: checked(_book(hub), _parse_body(raw)))
    store = _store(hub)
    out: Outcome = await asyncio.to_thread(
        store.change, lambda _cur: site, who.name, dry_run=dry_run
    )
    answer = out.answer()
    if not dry_run and not out.empty:
        done = await provisioning.follow(store, hub.logins, out, who.name)
        hub.login_failures += done.failures
        answer["credentials"] = done.credentials
        answer["login_errors"] = done.errors
        await _pickup(hub, out)
    return answer


async def _pickup(hub: Hub, out: Outcome) -> None:
    """This process takes its own change at once (others within their watcher's poll); the
    live channels (MQTT, the dashboards' stream) hear of the tickets it moved or closed."""
    hub.dispatcher.submit(out.notices)
    if hub.watcher is not None:
        try:
            await hub.watcher.check()
        except Exception:  # the watcher's loop will retry
            log.exception("registry pickup after a change failed")


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise SiteError(
            "the body is not JSON", (Problem("site", None, None, "the body is not JSON"),)
        ) from None


def _entity_answer(out: Outcome, entity: str, ident: str) -> dict[str, Any]:
    assert out.site is not None  # noqa: S101 - a change always has its site
    ents = edits.ENTITY_NAMES[entity]
    doc = out.site.document()
    item: Any = None
    if entity == "grids":
        for c in doc["communities"]:
            for g in c["grids"]:
                if g["id"] == ident:
                    item = {**g, "community": c["id"]}
    else:
        item = next((x for x in doc[entity] if x["id"] == ident), None)
    return {ents: item, **out.answer()}


def _register(entity: str) -> None:
    name = edits.ENTITY_NAMES[entity]

    async def create(request: Request, hub: HubDep, who: AdminDep) -> JSONResponse:
        body = await _json(request)
        out: Outcome = await asyncio.to_thread(
            _store(hub).change,
            lambda cur: checked(_book(hub), edits.add(_site_of(cur), entity, body)),
            who.name,
        )
        ident = str(body["id"])
        answer = _entity_answer(out, entity, ident)
        if entity == "sensors":
            sensor = next(s for s in out.added_sensors if s.id == ident)
            done = Logins()
            await provisioning.provision(_store(hub), hub.logins, sensor, who.name, done)
            hub.login_failures += done.failures
            answer["credentials"] = done.credentials.get(ident)
            if ident in done.errors:
                answer["credentials_error"] = done.errors[ident]
        await _pickup(hub, out)
        return JSONResponse(answer, status_code=status.HTTP_201_CREATED)

    async def change(
        ident: EntityId, request: Request, hub: HubDep, who: AdminDep
    ) -> dict[str, Any]:
        body = await _json(request)
        out: Outcome = await asyncio.to_thread(
            _store(hub).change,
            lambda cur: checked(_book(hub), edits.patch(_site_of(cur), entity, ident, body)),
            who.name,
        )
        await _pickup(hub, out)
        return _entity_answer(out, entity, ident)

    async def drop(ident: EntityId, hub: HubDep, who: AdminDep) -> dict[str, Any]:
        out: Outcome = await asyncio.to_thread(
            _store(hub).change,
            lambda cur: edits.remove(_site_of(cur), entity, ident),
            who.name,
        )
        answer = out.answer()
        if entity == "sensors":
            done = Logins()
            await provisioning.disable(_store(hub), hub.logins, ident, who.name, done)
            hub.login_failures += done.failures
            if ident in done.errors:
                answer["login_error"] = done.errors[ident]
        await _pickup(hub, out)
        return answer

    path = f"/{entity}"
    router.add_api_route(
        path, create, methods=["POST"], status_code=201, summary=f"Add a {name} (admin)"
    )
    router.add_api_route(
        path + "/{ident}", change, methods=["PATCH"], summary=f"Change a {name} (admin)"
    )
    router.add_api_route(
        path + "/{ident}", drop, methods=["DELETE"], summary=f"Delete (retire) a {name} (admin)"
    )


def _site_of(cur: Current) -> Site:
    if cur.site is None:
        raise RegistryEmpty("the registry is empty: PUT /site or `gridwatch site apply` first")
    return cur.site


for _entity in ("sensors", "communities", "grids", "people"):
    _register(_entity)


@router.post("/sensors/{ident}/credentials")
async def rotate_credentials(ident: EntityId, hub: HubDep, who: AdminDep) -> dict[str, Any]:
    """A new broker password for a sensor (shown once); the old one stops working."""
    store = _store(hub)
    cur = await asyncio.to_thread(_current, hub)
    if cur.site is None or not any(s.id == ident for s in cur.site.sensors):
        raise EntityNotFound("sensor", ident)
    done = Logins()
    try:
        creds = await provisioning.rotate(store, hub.logins, ident, who.name, done)
    finally:
        hub.login_failures += done.failures
    return {"sensor": ident, "credentials": creds}


@router.get("/audit")
async def audit(
    hub: HubDep,
    _who: AdminDep,
    entity: Annotated[
        str | None, Query(pattern="^(site|community|grid|person|sensor|channel)$")
    ] = None,
    since: Annotated[datetime | None, Query(description=ZONE_RULE)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Every registry change, newest first: who (token name), when, before and after."""
    since_ns = None if since is None else to_ns(since, hub.registry.site.tz)
    rows = await asyncio.to_thread(_store(hub).audit, entity, since_ns, limit)
    for r in rows:
        r["at"] = from_ns(r.pop("at_ns")).isoformat()
    return {"changes": rows}
