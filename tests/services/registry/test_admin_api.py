"""The registry's admin API (contract §7) on a running app: reads by role, changes by admins,
every bad body a 422 naming the entity and the field with nothing applied, moves and
retirements carrying the tickets along."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from domain.site import Sensor
from services.registry.logins import Credentials, check_password, new_password
from tests.services.api.conftest import Api

SITE = "/api/v1/site"


async def version(api: Api) -> int:
    r = await api.client.get(SITE, headers=api.headers("admin"))
    assert r.status_code == 200, r.text
    return int(r.json()["version"])


class Logins:
    """A DeviceLogins that only remembers (the broker side is gridwatch/broker/dynsec.py)."""

    def __init__(self) -> None:
        self.passwords: dict[str, str] = {}
        self.disabled: list[str] = []

    async def provision(self, sensor: Sensor) -> Credentials:
        self.passwords[sensor.id] = new_password()
        return Credentials(sensor.id, self.passwords[sensor.id])

    async def rotate(self, sensor_id: str) -> Credentials:
        self.passwords[sensor_id] = new_password()
        return Credentials(sensor_id, self.passwords[sensor_id])

    async def disable(self, sensor_id: str) -> None:
        self.disabled.append(sensor_id)


async def test_site_by_role(api: Api) -> None:
    admin = (await api.client.get(SITE, headers=api.headers("admin"))).json()
    assert admin["version"] == 1
    assert {s["id"] for s in admin["sensors"]} == {
        "pond-qp-01",
        "water-qp-01",
        "power-qp-02",
        "sewer-hx-01",
    }
    assert admin["communities"][0]["grids"][0]["worker"] == "w-017"
    assert {p["id"] for p in admin["people"]} >= {"w-017", "s-003"}
    crew = (await api.client.get(SITE, headers=api.headers("own"))).json()
    assert [g["id"] for c in crew["communities"] for g in c["grids"]] == ["qp-g1"]
    assert {s["grid"] for s in crew["sensors"]} == {"qp-g1"}
    assert (await api.client.get(SITE, headers=api.headers("none"))).status_code == 401
    for who in ("officer", "own"):
        r = await api.client.post(
            "/api/v1/sensors",
            json={"id": "pond-qp-09", "kind": "pond", "grid": "qp-g1"},
            headers=api.headers(who),
        )
        assert r.status_code == 403, r.text


async def test_new_sensor_gets_credentials_once_and_a_duplicate_is_409(api: Api) -> None:
    logins = Logins()
    api.hub.logins = logins
    body = {"id": "pond-qp-09", "kind": "pond", "grid": "qp-g2", "interval_s": 60}
    r = await api.client.post("/api/v1/sensors", json=body, headers=api.headers("admin"))
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["credentials"] == {
        "username": "pond-qp-09",
        "password": logins.passwords["pond-qp-09"],
    }
    assert got["version"] == 2
    assert got["sensors"]["added"] == ["pond-qp-09"]
    row = api.hub.store.sensor_row("pond-qp-09") if api.hub.store else None
    assert row is not None
    assert row.login_hash is not None
    assert check_password(logins.passwords["pond-qp-09"], row.login_hash)
    assert api.hub.registry.get("pond-qp-09") is not None  # this process at once
    again = await api.client.post("/api/v1/sensors", json=body, headers=api.headers("admin"))
    assert again.status_code == 409
    rotated = await api.client.post(
        "/api/v1/sensors/pond-qp-09/credentials", headers=api.headers("admin")
    )
    assert rotated.status_code == 200
    assert rotated.json()["credentials"]["password"] == logins.passwords["pond-qp-09"]
    assert rotated.json()["credentials"]["password"] != got["credentials"]["password"]
    api.hub.logins = None
    r = await api.client.post(
        "/api/v1/sensors", json={**body, "id": "pond-qp-10"}, headers=api.headers("admin")
    )
    assert r.status_code == 201
    assert r.json()["credentials"] is None
    assert "broker" in r.json()["credentials_error"]


BAD: list[tuple[str, str, Any, str, str]] = [
    (
        "POST",
        "/api/v1/sensors",
        {"id": "pond-qp-09", "kind": "lake", "grid": "qp-g1"},
        "sensor",
        "kind",
    ),
    ("POST", "/api/v1/sensors", {"id": "Pond_9", "kind": "pond", "grid": "qp-g1"}, "sensor", "id"),
    (
        "POST",
        "/api/v1/sensors",
        {"id": "pond-qp-09", "kind": "pond", "grid": "qp-g9"},
        "sensor",
        "grid",
    ),
    (
        "POST",
        "/api/v1/sensors",
        {"id": "pond-qp-09", "kind": "pond", "grid": "qp-g1", "colour": "red"},
        "sensor",
        "colour",
    ),
    ("PATCH", "/api/v1/sensors/pond-qp-01", {"interval_s": -5}, "sensor", "interval_s"),
    (
        "POST",
        "/api/v1/grids",
        {"id": "qp-g3", "name": "三", "worker": "w-099", "community": "qingping"},
        "grid",
        "worker",
    ),
    (
        "POST",
        "/api/v1/grids",
        {"id": "qp-g3", "name": "三", "worker": "w-017", "community": "nowhere"},
        "grid",
        "community",
    ),
    (
        "PATCH",
        "/api/v1/grids/qp-g1",
        {
            "boundary": {
                "type": "Polygon",
                "coordinates": [[[104.0, 30.6], [104.1, 30.6], [104.1, 30.7], [104.0, 30.7]]],
            }
        },
        "grid",
        "boundary.coordinates",
    ),
    (
        "PATCH",
        "/api/v1/communities/qingping",
        {"escalation": [{"after": "-30m"}]},
        "community",
        "escalation.0.after",
    ),
    ("POST", "/api/v1/people", {"id": "c-001", "name": "赵", "role": "boss"}, "person", "role"),
    (
        "POST",
        "/api/v1/people",
        {"id": "c-001", "name": "赵", "role": "crew", "grids": ["qp-g7"]},
        "person",
        "grids",
    ),
    (
        "POST",
        "/api/v1/sensors",
        {"id": "pond-qp-09", "kind": "pond", "grid": "qp-g1", "rules": {"pond.nosuch": {}}},
        "sensor",
        "rules",
    ),
    (
        "PATCH",
        "/api/v1/sensors/pond-qp-01",
        {"rules": {"pond.low_oxygen": {"for": "soon"}}},
        "sensor",
        "rules",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "entity", "field"), BAD)
async def test_bad_bodies_name_the_entity_and_field_and_change_nothing(
    api: Api, method: str, path: str, body: Any, entity: str, field: str
) -> None:
    before = (await api.client.get(SITE, headers=api.headers("admin"))).json()
    r = await api.client.request(method, path, json=body, headers=api.headers("admin"))
    assert r.status_code == 422, r.text
    lines = r.json()["detail"]
    assert any(d["entity"] == entity and d["field"] == field for d in lines), lines
    after = (await api.client.get(SITE, headers=api.headers("admin"))).json()
    assert after == before


async def test_put_site_dry_run_then_apply_and_not_yaml(api: Api) -> None:
    doc = (await api.client.get(SITE, headers=api.headers("admin"))).json()
    del doc["version"]
    doc["sensors"] = [s for s in doc["sensors"] if s["id"] != "power-qp-02"]
    doc["sensors"].append({"id": "sewer-hx-02", "kind": "sewer", "grid": "hx-g1"})
    doc["communities"][1]["name"] = "河西新社区"
    text = yaml.safe_dump(doc, allow_unicode=True)
    yaml_headers = {**api.headers("admin"), "Content-Type": "application/yaml"}
    dry = await api.client.put(SITE, params={"dry_run": "true"}, content=text, headers=yaml_headers)
    assert dry.status_code == 200, dry.text
    d = dry.json()
    assert d["sensors"] == {"added": ["sewer-hx-02"], "changed": [], "removed": ["power-qp-02"]}
    assert d["communities"]["changed"] == ["hexi"]
    assert await version(api) == 1
    real = await api.client.put(SITE, content=text, headers=yaml_headers)
    assert real.status_code == 200
    assert real.json()["version"] == 2
    assert api.hub.registry.is_retired("power-qp-02")
    again = await api.client.put(SITE, content=text, headers=yaml_headers)
    assert again.json()["version"] == 2  # the same document: nothing to do
    assert not any(v for e in ("sensors", "grids", "people") for v in again.json()[e].values())
    for junk in ("communities: [unclosed", "- just\n- a list\n", "\xff"):
        r = await api.client.put(SITE, content=junk.encode("latin-1"), headers=yaml_headers)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["entity"] == "site"
    assert await version(api) == 2


async def test_move_reassigns_and_retire_resolves_with_history(api: Api) -> None:
    h = api.headers("admin")
    r = await api.client.patch("/api/v1/sensors/water-qp-01", json={"grid": "hx-g1"}, headers=h)
    assert r.status_code == 200, r.text
    [moved] = r.json()["tickets"]["reassigned"]
    t = (await api.client.get(f"/api/v1/tickets/{moved}", headers=h)).json()
    assert (t["grid"], t["community"], t["assignee"]) == ("hx-g1", "hexi", "w-031")
    assert t["events"][-1]["kind"] == "reassigned"
    # the crew of the new grid sees it; the old grid's crew no longer does
    assert (
        await api.client.get(f"/api/v1/tickets/{moved}", headers=api.headers("other"))
    ).status_code == 200
    assert (
        await api.client.get(f"/api/v1/tickets/{moved}", headers=api.headers("own"))
    ).status_code == 404
    r = await api.client.delete("/api/v1/sensors/pond-qp-01", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["tickets"]["retired"] == [api.ticket_id]
    t = (await api.client.get(f"/api/v1/tickets/{api.ticket_id}", headers=h)).json()
    assert t["status"] == "resolved"
    assert t["events"][-1]["kind"] == "retired"
    assert api.hub.registry.get("pond-qp-01") is None
    assert api.hub.registry.is_retired("pond-qp-01")
    assert api.hub.store is not None
    places = api.hub.store.placements("water-qp-01")
    assert [(g, c) for g, c, _, _ in places] == [("qp-g1", "qingping"), ("hx-g1", "hexi")]
    assert places[0][3] == places[1][2]  # one interval ends where the next begins
    audit = (await api.client.get("/api/v1/audit", params={"entity": "sensor"}, headers=h)).json()
    first = audit["changes"][0]
    assert (first["who"], first["entity_id"], first["action"]) == ("root", "pond-qp-01", "retired")
    assert first["before"]["kind"] == "pond"
    assert first["after"] is None
    assert (
        await api.client.get("/api/v1/audit", headers=api.headers("officer"))
    ).status_code == 403


async def test_deletes_that_would_orphan_are_409(api: Api) -> None:
    h = api.headers("admin")
    assert (await api.client.delete("/api/v1/grids/qp-g1", headers=h)).status_code == 409
    assert (await api.client.delete("/api/v1/people/w-017", headers=h)).status_code == 409
    assert (await api.client.delete("/api/v1/communities/hexi", headers=h)).status_code == 409
    assert (await api.client.delete("/api/v1/sensors/no-such", headers=h)).status_code == 404
    assert await version(api) == 1
    r = await api.client.post(
        "/api/v1/people",
        json={"id": "w-040", "name": "孙", "phone": "138", "email": "sun@example.org"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    r = await api.client.patch("/api/v1/grids/qp-g2", json={"worker": "w-040"}, headers=h)
    assert r.status_code == 200
    assert r.json()["grids"]["changed"] == ["qp-g2"]
    assert (await api.client.delete("/api/v1/people/w-018", headers=h)).status_code == 200


async def test_a_sensors_rule_patch_is_stored_and_served(api: Api) -> None:
    patch = {"pond.low_oxygen": {"for": "30min"}}
    r = await api.client.patch(
        "/api/v1/sensors/pond-qp-01", json={"rules": patch}, headers=api.headers("admin")
    )
    assert r.status_code == 200, r.text
    assert r.json()["sensors"]["changed"] == ["pond-qp-01"]
    doc = (await api.client.get(SITE, headers=api.headers("officer"))).json()
    assert next(s for s in doc["sensors"] if s["id"] == "pond-qp-01")["rules"] == patch


async def test_a_community_with_its_grid_comes_and_goes(api: Api) -> None:
    h = api.headers("admin")
    person = {"id": "s-050", "name": "钱七", "role": "supervisor", "phone": "139"}
    assert (await api.client.post("/api/v1/people", json=person, headers=h)).status_code == 201
    body = {
        "id": "nanhu",
        "name": "南湖社区",
        "supervisor": "s-050",
        "grids": [{"id": "nh-g1", "name": "南湖1号网格", "worker": "s-050"}],
        "escalation": [{"after": "30m", "notify": "supervisor"}],
    }
    r = await api.client.post("/api/v1/communities", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["grids"]["added"] == ["nh-g1"]
    r = await api.client.post(
        "/api/v1/grids",
        json={"id": "nh-g2", "name": "南湖2号网格", "worker": "w-017", "community": "nanhu"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert r.json()["grid"]["community"] == "nanhu"
    assert api.hub.registry.grids["nh-g2"][1].id == "nanhu"
    r = await api.client.patch("/api/v1/grids/nh-g2", json={"community": "hexi"}, headers=h)
    assert r.status_code == 200, r.text
    assert api.hub.registry.grids["nh-g2"][1].id == "hexi"
    assert (await api.client.delete("/api/v1/communities/nanhu", headers=h)).status_code == 200
    assert "nanhu" not in api.hub.registry.communities
    assert (await api.client.delete("/api/v1/grids/nh-g2", headers=h)).status_code == 200
