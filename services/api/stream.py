"""The live event stream's door: `POST /api/v1/events/passes` (Bearer token) gives a
single-use pass, `GET /api/v1/events?pass=…` opens the server-sent-event stream with it.

No token in a URL, ever (services.api.streampass says why); a non-browser client may still
open the stream with its Bearer header. The pass's query string is kept out of the access log
too (`AccessLogRedaction`), though a used or expired pass is worthless. An open stream checks
its token every few seconds and ends within `RECHECK_S` of the token's revocation, with a last
`event: revoked` so the page can ask for a new login.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.api.deps import PrincipalDep, get_hub
from services.api.events import KEEPALIVE_S, EventHub, event_stream
from services.api.streampass import PASS_TTL_S, RECHECK_S, StreamPasses
from services.auth.principal import Principal
from services.auth.tokens import digest

PATH = "/api/v1/events"
REVOKED = "event: revoked\ndata: {}\n\n"


class AccessLogRedaction(logging.Filter):
    """Drops the query string of the stream's URL from uvicorn's access log lines."""

    def __init__(self, paths: tuple[str, ...] = (PATH,)) -> None:
        super().__init__()
        self.paths = paths

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, sep, _ = args[2].partition("?")
            if sep and path in self.paths:
                record.args = (*args[:2], f"{path}?…", *args[3:])
        return True


def redact_access_log() -> None:
    """Install AccessLogRedaction on uvicorn's access logger (once per process)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogRedaction) for f in access.filters):
        access.addFilter(AccessLogRedaction())


class StreamPassPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    pass_: str = Field(alias="pass", description="opens one stream: GET /api/v1/events?pass=…")
    expires_in_s: float


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip() or None
    return None


async def _while_valid(
    body: AsyncIterator[str], still_valid: Callable[[], bool], recheck_s: float
) -> AsyncIterator[str]:
    """`body`, ended with REVOKED as soon as a check every `recheck_s` finds the token gone
    (the body itself may be quiet for its whole keep-alive interval)."""
    it = aiter(body)
    pending: asyncio.Future[str] = asyncio.ensure_future(anext(it))
    next_check = time.monotonic() + recheck_s
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=max(0.0, next_check - time.monotonic()))
            if pending in done:
                try:
                    chunk = pending.result()
                except StopAsyncIteration:
                    return
                yield chunk
                pending = asyncio.ensure_future(anext(it))
            if time.monotonic() >= next_check:
                if not await asyncio.to_thread(still_valid):
                    yield REVOKED
                    return
                next_check = time.monotonic() + recheck_s
    finally:
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await pending
        await it.aclose()  # type: ignore[attr-defined]


def _unauthorised() -> JSONResponse:
    return JSONResponse(
        {"detail": "a valid stream pass (POST /api/v1/events/passes) or token is required"},
        status_code=status.HTTP_401_UNAUTHORIZED,
        headers={"WWW-Authenticate": "Bearer"},
    )


def stream_router(
    events: EventHub,
    passes: StreamPasses,
    *,
    keepalive_s: float = KEEPALIVE_S,
    recheck_s: float = RECHECK_S,
) -> APIRouter:
    router = APIRouter(prefix=PATH, tags=["events"])

    @router.post("/passes", response_model=StreamPassPublic, status_code=201)
    async def new_pass(
        who: PrincipalDep, authorization: Annotated[str | None, Header()] = None
    ) -> StreamPassPublic:
        """A pass that opens one live stream within the next 30 seconds (EventSource sends no
        headers, and a token in a URL is logged)."""
        secret = _bearer(authorization)
        assert secret is not None  # noqa: S101 - PrincipalDep has verified it
        return StreamPassPublic(pass_=passes.issue(who, digest(secret)), expires_in_s=PASS_TTL_S)

    @router.get(
        "",
        summary="Live ticket events (server-sent events)",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}, 401: {}},
    )
    async def stream(
        request: Request,
        pass_: Annotated[
            str | None, Query(alias="pass", max_length=100, description="from POST …/passes")
        ] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        """Each ticket event the caller may see, as `data: <json>`; a crew gets its own grid
        cells' only. Open it with `?pass=` (browsers) or a Bearer header."""
        tokens = get_hub(request).tokens
        principal: Principal | None = None
        token_digest = ""
        secret = _bearer(authorization)
        if pass_:
            grant = passes.redeem(pass_)
            if grant is not None and await asyncio.to_thread(tokens.is_active, grant.token_digest):
                principal, token_digest = grant.principal, grant.token_digest
        elif secret:
            principal = await asyncio.to_thread(tokens.verify, secret)
            token_digest = digest(secret)
        if principal is None:
            return _unauthorised()
        return StreamingResponse(
            _while_valid(
                event_stream(events, principal, keepalive_s),
                lambda: tokens.is_active(token_digest),
                recheck_s,
            ),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router
