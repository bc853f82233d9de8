"""One-time sign-in links (contract §9): a phone signs in by opening a link (or scanning its QR
code) instead of typing a 40-character token.

A link is `{PUBLIC_URL}/#/signin/<secret>`: the secret sits in the URL's fragment, which a
browser never sends to a server, so it is in no access log of the hub or of a proxy in front;
the page posts it in a body to `POST /api/v1/public/sign-in`. Only its SHA-256 is stored.
Using it, once, within 24 h, while neither it nor its token is revoked, gives the phone a new
secret of the token: the token's digest is replaced, so the phone becomes the token's one
holder (an older copy of the secret stops working) and the secret itself was never shown to
anyone. A second use, an expired or a revoked link is refused (401) with the reason.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from services.auth.principal import Principal
from services.auth.tokens import TokenError, digest, new_secret, principal_of
from services.db.models import SignInLink, Token

LINK_PREFIX = "gwl_"
LINK_TTL_S = 24 * 3600
PATH = "/#/signin/"


class LinkRefused(Exception):
    """A sign-in link that cannot be used (unknown, used, expired, revoked): 401."""


class LinkNotFound(LookupError):
    def __init__(self, link_id: int) -> None:
        super().__init__(f"sign-in link {link_id} does not exist")


@dataclass(frozen=True, slots=True)
class NewLink:
    id: int
    token_name: str
    secret: str
    expires_at_ns: int

    def url(self, public_url: str) -> str:
        return public_url.rstrip("/") + PATH + self.secret


@dataclass(frozen=True, slots=True)
class LinkInfo:
    id: int
    token_name: str
    created_by: str
    created_at_ns: int
    expires_at_ns: int
    used_at_ns: int | None
    revoked_at_ns: int | None

    def state(self, now_ns: int) -> str:
        if self.revoked_at_ns is not None:
            return "revoked"
        if self.used_at_ns is not None:
            return "used"
        return "expired" if self.expires_at_ns <= now_ns else "active"


class SignInLinks:
    def __init__(
        self,
        engine: Engine,
        *,
        ttl_s: int = LINK_TTL_S,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.engine = engine
        self.ttl_ns = ttl_s * 10**9
        self.clock = clock

    def create(self, token_name: str, created_by: str) -> NewLink:
        """A new link for the holder of token `token_name` (its secret shown once)."""
        secret = LINK_PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            token = s.scalars(select(Token).where(Token.name == token_name)).first()
            if token is None:
                raise TokenError(f"no token named {token_name!r}")
            if token.revoked_at_ns is not None:
                raise TokenError(f"token {token_name!r} is revoked")
            row = SignInLink(
                token_id=token.id,
                digest=digest(secret),
                created_by=created_by,
                created_at_ns=now,
                expires_at_ns=now + self.ttl_ns,
            )
            s.add(row)
            s.flush()
            return NewLink(row.id, token_name, secret, row.expires_at_ns)

    def exchange(self, secret: str) -> tuple[str, Principal]:
        """Use the link: the token's new secret and whose it is, or LinkRefused."""
        if not secret.startswith(LINK_PREFIX) or len(secret) > 200:
            raise LinkRefused("this is not a sign-in link")
        now = self.clock()
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            used = (
                s.connection()
                .execute(
                    update(SignInLink)
                    .where(
                        SignInLink.digest == digest(secret),
                        SignInLink.used_at_ns.is_(None),
                        SignInLink.revoked_at_ns.is_(None),
                        SignInLink.expires_at_ns > now,
                    )
                    .values(used_at_ns=now)
                )
                .rowcount
            )
            link = s.scalars(select(SignInLink).where(SignInLink.digest == digest(secret))).first()
            if link is None:
                raise LinkRefused("this sign-in link does not exist")
            if used != 1:
                if link.revoked_at_ns is not None:
                    raise LinkRefused("this sign-in link was revoked")
                if link.used_at_ns is not None:
                    raise LinkRefused("this sign-in link was used already: ask for a new one")
                raise LinkRefused("this sign-in link has expired: ask for a new one")
            token = s.get_one(Token, link.token_id)
            if token.revoked_at_ns is not None:
                raise LinkRefused("the token of this sign-in link was revoked")
            fresh = new_secret()
            token.digest = digest(fresh)
            return fresh, principal_of(token)

    def revoke(self, link_id: int) -> None:
        with Session(self.engine) as s, s.begin():
            link = s.get(SignInLink, link_id)
            if link is None:
                raise LinkNotFound(link_id)
            if link.revoked_at_ns is None:
                link.revoked_at_ns = self.clock()

    def list(self, token_name: str | None = None) -> list[LinkInfo]:
        with Session(self.engine) as s:
            q = select(SignInLink, Token.name).join(Token, Token.id == SignInLink.token_id)
            if token_name is not None:
                q = q.where(Token.name == token_name)
            return [
                LinkInfo(
                    link.id,
                    name,
                    link.created_by,
                    link.created_at_ns,
                    link.expires_at_ns,
                    link.used_at_ns,
                    link.revoked_at_ns,
                )
                for link, name in s.execute(q.order_by(SignInLink.id))
            ]
