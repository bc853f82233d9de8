"""Request dependencies as `Annotated` aliases: the hub, the caller, and role checks.

401 when the token is missing or unknown, 403 when it is valid but its role may not do this.
Grid scoping (a crew sees only its cells) is applied by the routes through `Principal.scope`.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api.hub import Hub
from services.auth.principal import Principal, Role

_bearer = HTTPBearer(auto_error=False, description="an API token from `gridwatch token create`")


def get_hub(request: Request) -> Hub:
    return cast(Hub, request.state.hub)


HubDep = Annotated[Hub, Depends(get_hub)]

_UNAUTHORIZED = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    "missing or invalid bearer token",
    headers={"WWW-Authenticate": "Bearer"},
)


def get_principal(
    hub: HubDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer":
        raise _UNAUTHORIZED
    principal = hub.tokens.verify(creds.credentials)
    if principal is None:
        raise _UNAUTHORIZED
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_writer(principal: PrincipalDep) -> Principal:
    """Crew (own grids) and admin change tickets; an officer reads only."""
    if not principal.can_write:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role} is read-only")
    return principal


WriterDep = Annotated[Principal, Depends(get_writer)]


def get_field_crew(principal: PrincipalDep) -> Principal:
    """Only a crew member is on site (arrival): an officer or admin token is refused (403)."""
    if not principal.is_field_crew:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only crew tokens arrive on site")
    return principal


FieldCrewDep = Annotated[Principal, Depends(get_field_crew)]


def get_admin(principal: PrincipalDep) -> Principal:
    """Tokens, sign-in links and registry changes: admins only."""
    if principal.role is not Role.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admin tokens only")
    return principal


AdminDep = Annotated[Principal, Depends(get_admin)]


def get_overseer(principal: PrincipalDep) -> Principal:
    """Site-wide operational data (rejections, metrics): officers and admins, not crews."""
    if principal.role is Role.CREW:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "crew tokens see their own grids only")
    return principal


OverseerDep = Annotated[Principal, Depends(get_overseer)]


RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
"""A database row id in a path: SQL BIGINT, so a larger number is a 422, never a 500."""
