"""Bearer tokens, stored hashed.

A token is 32 random bytes (`secrets.token_urlsafe`), prefixed `gw_` so leaked ones are easy to
grep for. Only its SHA-256 is stored: with that much entropy a slow hash adds nothing, and a
lookup by digest is one indexed query.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.ids import ID_PATTERN
from services.auth.principal import Principal, Role
from services.db.models import Token

PREFIX = "gw_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


class TokenError(ValueError):
    """A token that cannot be created or revoked; the message says why."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    name: str
    role: Role
    grids: tuple[str, ...]
    created_at_ns: int
    revoked: bool
    display_name: str = ""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def principal_of(row: Token) -> Principal:
    return Principal(row.name, Role(row.role), frozenset(row.grids.split()), row.display_name or "")


class TokenStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        name: str,
        role: Role | str,
        grids: tuple[str, ...] = (),
        display_name: str = "",
    ) -> str:
        """Store a new token and return its secret (shown once, never stored). `display_name`
        is the person's name timelines show ("王师傅"); without it, the token's name."""
        display_name = display_name.strip()
        if len(display_name) > 100 or any(not c.isprintable() for c in display_name):
            raise TokenError("a display name is at most 100 printable characters")
        if not NAME_PATTERN.match(name):
            raise TokenError(f"token name {name!r} must be 1-100 letters, digits or _.@-")
        try:
            role = Role(role)
        except ValueError:
            raise TokenError(f"role must be one of {', '.join(Role)}, not {role!r}") from None
        bad = [g for g in grids if not re.match(ID_PATTERN, g)]
        if bad:
            raise TokenError(f"not a grid id: {', '.join(bad)}")
        if role is Role.CREW and not grids:
            raise TokenError("a crew token needs at least one --grid")
        if role is not Role.CREW and grids:
            raise TokenError(f"--grid applies to crew tokens only; {role} sees every grid")
        secret = new_secret()
        try:
            with Session(self.engine) as s, s.begin():
                s.add(
                    Token(
                        name=name,
                        role=role.value,
                        grids=" ".join(sorted(set(grids))),
                        digest=digest(secret),
                        created_at_ns=time.time_ns(),
                        display_name=display_name,
                    )
                )
        except IntegrityError:
            raise TokenError(f"a token named {name!r} exists already") from None
        return secret

    def verify(self, secret: str) -> Principal | None:
        """The principal of a presented token, or None when it is unknown or revoked."""
        if not secret.startswith(PREFIX) or len(secret) > 200:
            return None
        with Session(self.engine) as s:
            row = s.scalars(select(Token).where(Token.digest == digest(secret))).first()
            if row is None or row.revoked_at_ns is not None:
                return None
            return principal_of(row)

    def is_active(self, token_digest: str) -> bool:
        """Whether the token with this digest still exists unrevoked: for what outlives its
        request (a live stream), which holds the digest, never the secret."""
        with Session(self.engine) as s:
            row = s.scalars(select(Token).where(Token.digest == token_digest)).first()
            return row is not None and row.revoked_at_ns is None

    def list(self) -> list[TokenInfo]:
        with Session(self.engine) as s:
            return [
                TokenInfo(
                    t.name,
                    Role(t.role),
                    tuple(t.grids.split()),
                    t.created_at_ns,
                    t.revoked_at_ns is not None,
                    t.display_name,
                )
                for t in s.scalars(select(Token).order_by(Token.name))
            ]

    def revoke(self, name: str) -> None:
        with Session(self.engine) as s, s.begin():
            row = s.scalars(select(Token).where(Token.name == name)).first()
            if row is None:
                raise TokenError(f"no token named {name!r}")
            if row.revoked_at_ns is None:
                row.revoked_at_ns = time.time_ns()
