"""Every route × role: no token and a wrong token get 401; a right token without the right
gets 403; a crew never sees another grid's tickets or sensors (404 or filtered out)."""

from __future__ import annotations

import pytest

from tests.services.api.conftest import Api

ROLES = ("none", "wrong", "own", "other", "officer", "admin")


async def _call(api: Api, method: str, path: str, who: str, body: object = None) -> int:
    path = path.replace("{id}", str(api.ticket_id))
    r = await api.client.request(method, "/api/v1" + path, headers=api.headers(who), json=body)
    return r.status_code


#            method, path,                    body,            none wrong own  other officer admin
MATRIX = [
    ("GET", "/tickets", None, (401, 401, 200, 200, 200, 200)),
    ("GET", "/tickets/{id}", None, (401, 401, 200, 404, 200, 200)),
    ("POST", "/tickets/{id}/ack", None, (401, 401, 200, 404, 403, 200)),
    ("POST", "/tickets/{id}/comments", {"text": "on my way"}, (401, 401, 201, 404, 403, 201)),
    ("POST", "/tickets/{id}/resolve", {"note": "fixed"}, (401, 401, 200, 404, 403, 200)),
    ("GET", "/sensors", None, (401, 401, 200, 200, 200, 200)),
    ("GET", "/sensors/pond-qp-01", None, (401, 401, 200, 404, 200, 200)),
    ("GET", "/tickets/{id}/deliveries", None, (401, 401, 200, 404, 200, 200)),
    ("GET", "/notify/channels", None, (401, 401, 403, 403, 403, 200)),
    ("GET", "/rejections", None, (401, 401, 403, 403, 200, 200)),
    ("GET", "/metrics", None, (401, 401, 403, 403, 200, 200)),
    ("GET", "/healthz", None, (200, 200, 200, 200, 200, 200)),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "who", "expected"),
    [
        pytest.param(m, p, b, who, codes[i], id=f"{m} {p} as {who}")
        for m, p, b, codes in MATRIX
        for i, who in enumerate(ROLES)
    ],
)
async def test_route_by_role(
    api: Api, method: str, path: str, body: object, who: str, expected: int
) -> None:
    assert await _call(api, method, path, who, body) == expected


async def test_refused_writes_change_nothing(api: Api) -> None:
    for who in ("officer", "other", "none"):
        await _call(api, "POST", "/tickets/{id}/resolve", who, {"note": "x"})
        await _call(api, "POST", "/tickets/{id}/comments", who, {"text": "x"})
    t = api.hub.tickets.reads.get(api.ticket_id)
    assert t.status == "open"
    assert [e.kind for e in t.events] == ["opened"]


async def test_crew_lists_only_its_own_grid(api: Api) -> None:
    own = (await api.client.get("/api/v1/tickets", headers=api.headers("own"))).json()
    other = (await api.client.get("/api/v1/tickets", headers=api.headers("other"))).json()
    everything = (await api.client.get("/api/v1/tickets", headers=api.headers("officer"))).json()
    assert {t["grid"] for t in own["tickets"]} == {"qp-g1"}
    assert other["tickets"] == []
    assert everything["count"] == 2
    # asking for another grid explicitly does not widen the scope
    r = await api.client.get("/api/v1/tickets?grid=qp-g1", headers=api.headers("other"))
    assert r.json()["tickets"] == []
    sensors = (await api.client.get("/api/v1/sensors", headers=api.headers("other"))).json()
    assert [s["id"] for s in sensors["sensors"]] == ["sewer-hx-01"]


async def test_revoked_token_is_refused(api: Api) -> None:
    api.hub.tokens.revoke("zhou")
    assert await _call(api, "GET", "/tickets", "officer") == 401
