"""What every request and response of the API passes through, before any route sees it.

- **Bodies have a size limit**, checked on the Content-Length before a byte is read and
  counted while a chunked body streams in (FastAPI's `max_body_size`: `JSON_BODY_MAX` for the
  app, a route may raise its own, e.g. `PHOTO_BODY_MAX` where photos are taken): 413.
- **Writes authenticate before their body is read** (`AuthBeforeBody`): FastAPI reads and
  parses a body before it resolves the route's dependencies, so a stranger's body was parsed
  before its 401. The token is verified here first; the route checks it again for its role.
- **Every response carries the security headers** (`SecuredApp`): the page's CSP and
  `frame-ancestors 'none'`, `nosniff`, `no-referrer`; the dashboard page, its static files,
  the JSON API and every error, a server error included — the wrapper sits outside
  Starlette's ServerErrorMiddleware.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON_BODY_MAX = 64 * 1024
"""The largest JSON body a route takes by default (setting `api.max_body_bytes`): a comment, a
dry-run patch, a maintenance window."""
PHOTO_BODY_MAX = 10 * 1000 * 1000
"""The largest body of a route that takes a photo (set per route with `max_body_size`)."""
SITE_BODY_MAX = 32 * 1000 * 1000
"""The largest registry document `PUT /site` takes (100,000 sensors are about 10 MB)."""

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
"""Everything the page uses comes from this server: a leaked script URL cannot load."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_PREFIX = "/api/v1/public/"
"""Routes anyone may call (a sign-in link's exchange, a resident's report): no token needed."""


class SecurityHeaders:
    """ASGI wrapper adding SECURITY_HEADERS to every HTTP response (keeping a route's own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_secured)


class SecuredApp(FastAPI):
    """FastAPI with SecurityHeaders outside everything, its 500 page included."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


class AuthBeforeBody:
    """Refuse a write under /api/ with a missing or invalid token before its body is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hub = scope.get("state", {}).get("hub") if scope["type"] == "http" else None
        path = scope.get("path", "")
        if (
            hub is None
            or scope["method"] not in _WRITES
            or not path.startswith("/api/")
            or path.startswith(PUBLIC_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        auth = Headers(scope=scope).get("authorization", "")
        scheme, _, secret = auth.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            principal = None
        else:
            principal = await asyncio.to_thread(hub.tokens.verify, secret)
        if principal is None:
            refused = JSONResponse(
                {"detail": "missing or invalid bearer token"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer", "Connection": "close"},
            )
            await refused(scope, receive, send)
            return
        await self.app(scope, receive, send)
