"""POST/GET/DELETE /api/v1/maintenance over the real app (lifespan, SQLite, tokens)."""

from __future__ import annotations

from tests.services.api.conftest import Api

URL = "/api/v1/maintenance"
BODY = {
    "sensor": "pond-qp-01",
    "start": "2030-01-01T08:00:00+08:00",
    "end": "2030-01-01T12:00:00+08:00",
    "note": "更换探头",
}


async def test_crew_marks_own_sensor_lists_and_ends_it_others_cannot(api: Api) -> None:
    c = api.client
    r = await c.post(URL, json=BODY, headers=api.headers("own"))
    assert r.status_code == 201, r.text
    w = r.json()
    assert w["sensor"] == "pond-qp-01"
    assert w["grid"] == "qp-g1"
    assert w["created_by"] == "li-ming"
    assert w["start"] == "2030-01-01T00:00:00Z"
    assert w["active"] is False

    assert (await c.post(URL, json=BODY, headers=api.headers("other"))).status_code == 403
    assert (await c.post(URL, json=BODY, headers=api.headers("officer"))).status_code == 403
    assert (await c.post(URL, json=BODY, headers=api.headers("none"))).status_code == 401
    bad = {**BODY, "end": "2029-12-31T00:00:00+08:00"}
    assert (await c.post(URL, json=bad, headers=api.headers("admin"))).status_code == 422

    officer = (await c.get(URL, headers=api.headers("officer"))).json()
    assert [x["id"] for x in officer["windows"]] == [w["id"]]
    other = (await c.get(URL, headers=api.headers("other"))).json()
    assert other["count"] == 0

    assert (await c.delete(f"{URL}/{w['id']}", headers=api.headers("other"))).status_code == 404
    assert (await c.delete(f"{URL}/{w['id']}", headers=api.headers("officer"))).status_code == 403
    r = await c.delete(f"{URL}/{w['id']}", headers=api.headers("own"))
    assert r.status_code == 200
    ended = r.json()
    assert ended["ended_by"] == "li-ming"
    assert ended["end"] == ended["start"]  # not started yet: cancelled
    assert (await c.delete(f"{URL}/{w['id']}", headers=api.headers("own"))).status_code == 409
