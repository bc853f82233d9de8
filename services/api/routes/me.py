"""`GET /me`: who the token belongs to, so the dashboard shows only what that role may do."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from services.api.deps import HubDep, PrincipalDep
from services.auth.principal import Principal

router = APIRouter(tags=["me"])


class Me(BaseModel):
    name: str  # the token's name (unique)
    display_name: str  # the person's name as timelines show it
    role: str  # crew | officer | admin
    grids: list[str]  # a crew's grid cells; empty for officer and admin (they see all)
    can_write: bool  # acknowledge, comment, resolve, photos, maintenance
    can_arrive: bool  # mark arrival on site (crew only)
    is_admin: bool  # tokens, sign-in links, registry
    photo_max_side_px: int  # the phone scales a photo to this before upload (field settings)


@router.get("/me", response_model=Me)
async def me(hub: HubDep, who: PrincipalDep) -> Me:
    return me_of(who, hub.settings.field.photo_max_side_px)


def me_of(who: Principal, photo_max_side_px: int) -> Me:
    return Me(
        name=who.name,
        display_name=who.shown,
        role=who.role.value,
        grids=sorted(who.grids),
        can_write=who.can_write,
        can_arrive=who.is_field_crew,
        is_admin=who.role.value == "admin",
        photo_max_side_px=photo_max_side_px,
    )
