"""One-time sign-in links (contract §9): admins make them for a token's holder; the phone that
opens one trades it for the token's session secret (services.auth.links)."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import AdminDep, HubDep, RowId
from services.api.routes.me import Me, me_of
from services.auth.links import LinkInfo
from services.qr import png
from services.tickets.schemas import iso

router = APIRouter(tags=["sign-in"])
public = APIRouter(prefix="/public", tags=["public"])


class LinkCreated(BaseModel):
    id: int
    token: str  # the token's name
    url: str  # {PUBLIC_URL}/#/signin/<secret>: shown once
    expires_at: datetime | None
    qr_png: str  # the URL's QR code, a data: URL of a PNG


class LinkPublic(BaseModel):
    id: int
    token: str
    created_by: str
    created_at: datetime | None
    expires_at: datetime | None
    used_at: datetime | None
    state: str  # active | used | expired | revoked

    @classmethod
    def of(cls, link: LinkInfo, now_ns: int) -> LinkPublic:
        return cls(
            id=link.id,
            token=link.token_name,
            created_by=link.created_by,
            created_at=iso(link.created_at_ns),
            expires_at=iso(link.expires_at_ns),
            used_at=iso(link.used_at_ns),
            state=link.state(now_ns),
        )


class Exchange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    link: str = Field(min_length=1, max_length=200, description="the secret after #/signin/")


class SignedIn(BaseModel):
    token: str  # the session secret the page keeps (localStorage)
    me: Me


@router.post("/tokens/{name}/sign-in-links", response_model=LinkCreated, status_code=201)
async def create_link(hub: HubDep, who: AdminDep, name: str) -> LinkCreated:
    """A one-time sign-in link for the holder of token `name` (admin): used once, within 24 h;
    using it replaces the token's secret by one only that phone holds."""
    new = await asyncio.to_thread(hub.sign_in_links.create, name, who.name)
    url = new.url(hub.settings.notify.public_url)
    qr = base64.b64encode(png(url)).decode("ascii")
    return LinkCreated(
        id=new.id,
        token=name,
        url=url,
        expires_at=iso(new.expires_at_ns),
        qr_png=f"data:image/png;base64,{qr}",
    )


@router.get("/sign-in-links", response_model=list[LinkPublic])
async def list_links(hub: HubDep, who: AdminDep) -> list[LinkPublic]:
    links = await asyncio.to_thread(hub.sign_in_links.list)
    now = hub.sign_in_links.clock()
    return [LinkPublic.of(link, now) for link in links]


@router.delete("/sign-in-links/{link_id}", status_code=204)
async def revoke_link(hub: HubDep, who: AdminDep, link_id: RowId) -> Response:
    await asyncio.to_thread(hub.sign_in_links.revoke, link_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@public.post("/sign-in", response_model=SignedIn)
async def sign_in(hub: HubDep, body: Exchange) -> SignedIn:
    """Trade a sign-in link for the session token (no token needed: the link is the proof)."""
    secret, who = await asyncio.to_thread(hub.sign_in_links.exchange, body.link)
    return SignedIn(token=secret, me=me_of(who, hub.settings.field.photo_max_side_px))
