"""Field work (contract §9): who is signed in, and arrival on site."""

from __future__ import annotations

import pytest

from tests.services.api.conftest import Api


@pytest.mark.parametrize(
    ("who", "role", "grids", "can_write", "can_arrive"),
    [
        ("admin", "admin", [], True, False),
        ("officer", "officer", [], False, False),
        ("own", "crew", ["qp-g1"], True, True),
    ],
)
async def test_me_says_who_and_what_the_role_may_do(
    api: Api, who: str, role: str, grids: list[str], can_write: bool, can_arrive: bool
) -> None:
    r = await api.client.get("/api/v1/me", headers=api.headers(who))
    assert r.status_code == 200
    me = r.json()
    assert (me["role"], me["grids"], me["can_write"], me["can_arrive"]) == (
        role,
        grids,
        can_write,
        can_arrive,
    )
    assert me["name"]
    assert me["display_name"]


async def test_me_needs_a_token(api: Api) -> None:
    assert (await api.client.get("/api/v1/me")).status_code == 401
    assert (await api.client.get("/api/v1/me", headers=api.headers("wrong"))).status_code == 401


async def test_arrive_writes_an_on_site_line_with_the_position(api: Api) -> None:
    url = f"/api/v1/tickets/{api.ticket_id}/arrive"
    r = await api.client.post(url, json={"lat": 31.152, "lon": 121.124}, headers=api.headers("own"))
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["status"] == "acknowledged"  # arriving takes an open ticket on
    last = t["events"][-1]
    assert (last["kind"], last["actor"], last["note"]) == (
        "on_site",
        "li-ming",
        "31.152000,121.124000",
    )
    r = await api.client.post(url, headers=api.headers("own"))  # no position shared
    assert r.status_code == 200
    assert r.json()["events"][-1]["note"] == ""


@pytest.mark.parametrize(
    ("who", "status"), [("other", 404), ("officer", 403), ("admin", 403), ("none", 401)]
)
async def test_arrive_is_for_the_crew_of_that_grid_only(api: Api, who: str, status: int) -> None:
    r = await api.client.post(f"/api/v1/tickets/{api.ticket_id}/arrive", headers=api.headers(who))
    assert r.status_code == status


async def test_arrive_refuses_a_half_position_and_a_resolved_ticket(api: Api) -> None:
    url = f"/api/v1/tickets/{api.ticket_id}/arrive"
    r = await api.client.post(url, json={"lat": 91, "lon": 0}, headers=api.headers("own"))
    assert r.status_code == 422
    await api.client.post(f"/api/v1/tickets/{api.ticket_id}/resolve", headers=api.headers("own"))
    assert (await api.client.post(url, headers=api.headers("own"))).status_code == 409
