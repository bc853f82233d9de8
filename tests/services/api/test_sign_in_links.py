"""One-time sign-in links (contract §9): admin makes one, a phone trades it once for the
token's session secret; a second use, an expired or a revoked link is refused."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from services.auth.links import SignInLinks
from tests.services.api.conftest import Api


async def make_link(api: Api, holder: str = "li-ming") -> dict[str, str]:
    r = await api.client.post(
        f"/api/v1/tokens/{holder}/sign-in-links", headers=api.headers("admin")
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def secret_of(url: str) -> str:
    base, _, secret = url.partition("/#/signin/")
    assert base == "http://127.0.0.1:8080"  # GRIDWATCH_PUBLIC_URL's default
    return secret


async def test_a_link_signs_a_phone_in_once(api: Api) -> None:
    link = await make_link(api)
    png = base64.b64decode(link["qr_png"].removeprefix("data:image/png;base64,"))
    assert Image.open(io.BytesIO(png)).format == "PNG"
    r = await api.client.post("/api/v1/public/sign-in", json={"link": secret_of(link["url"])})
    assert r.status_code == 200, r.text
    session = r.json()
    assert (session["me"]["name"], session["me"]["role"]) == ("li-ming", "crew")
    me = await api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {session['token']}"})
    assert me.json()["grids"] == ["qp-g1"]
    # the phone is now the token's one holder: the secret handed out before stops working
    assert (await api.client.get("/api/v1/me", headers=api.headers("own"))).status_code == 401
    again = await api.client.post("/api/v1/public/sign-in", json={"link": secret_of(link["url"])})
    assert again.status_code == 401
    assert "used already" in again.json()["detail"]


async def test_an_expired_link_is_refused(api: Api) -> None:
    now = [10**18]
    api.hub.links = SignInLinks(api.hub.engine, clock=lambda: now[0])
    link = await make_link(api)
    now[0] += 24 * 3600 * 10**9 + 1
    r = await api.client.post("/api/v1/public/sign-in", json={"link": secret_of(link["url"])})
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]


async def test_a_revoked_link_and_a_revoked_token_are_refused(api: Api) -> None:
    link = await make_link(api)
    r = await api.client.delete(f"/api/v1/sign-in-links/{link['id']}", headers=api.headers("admin"))
    assert r.status_code == 204
    r = await api.client.post("/api/v1/public/sign-in", json={"link": secret_of(link["url"])})
    assert r.status_code == 401
    assert "revoked" in r.json()["detail"]
    listed = await api.client.get("/api/v1/sign-in-links", headers=api.headers("admin"))
    assert [x["state"] for x in listed.json()] == ["revoked"]
    link = await make_link(api)
    api.hub.tokens.revoke("li-ming")
    r = await api.client.post("/api/v1/public/sign-in", json={"link": secret_of(link["url"])})
    assert r.status_code == 401


@pytest.mark.parametrize(("who", "status"), [("officer", 403), ("own", 403), ("none", 401)])
async def test_only_an_admin_makes_links(api: Api, who: str, status: int) -> None:
    r = await api.client.post("/api/v1/tokens/li-ming/sign-in-links", headers=api.headers(who))
    assert r.status_code == status


async def test_unknown_links_and_tokens(api: Api) -> None:
    r = await api.client.post("/api/v1/public/sign-in", json={"link": "gwl_nope"})
    assert r.status_code == 401
    r = await api.client.post("/api/v1/tokens/nobody/sign-in-links", headers=api.headers("admin"))
    assert r.status_code == 404


async def test_a_display_name_is_who_the_timeline_shows(api: Api) -> None:
    secret = api.hub.tokens.create("w-017", "crew", ("qp-g1",), display_name="李明")
    r = await api.client.post(
        f"/api/v1/tickets/{api.ticket_id}/ack", headers={"Authorization": f"Bearer {secret}"}
    )
    assert r.json()["events"][-1]["actor"] == "李明"
