"""The one place where service errors become HTTP status codes.

Routes raise their services' own errors and never build an `HTTPException` for a domain case;
`ANSWERS` says what each error means over HTTP. A subclass is looked up before its base
(Starlette walks the exception's MRO), so `UnknownSeries` is a 404 although it is a
`TrendsError`, which is a 422.

Two stable JSON shapes, whatever raised the error:
- 422: `{"detail": [{"loc": [where, field?], "msg": sentence, "type": "value_error"}]}`, the
  shape of FastAPI's own validation errors, so clients and the OpenAPI schema see one 422;
  `loc` names the query parameter or body to change where the error knows it.
- every other status: `{"detail": sentence}`.

InfluxDB's own words never reach a caller: its error text can quote the query, and the adapter's
message names the server. An InfluxDB error is answered with one fixed sentence per status (503
"InfluxDB is unavailable; try again later", 502 "InfluxDB could not answer this request") — the
stable code a client can match — and the detail goes to the log, where the adapter has already
left credentials out of the address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response

from adapters.influx.errors import InfluxError, InfluxUnavailable
from domain.site import SiteError
from services.api.ratelimit import RateLimited
from services.auth.links import LinkNotFound, LinkRefused
from services.auth.principal import NotVisible
from services.auth.tokens import TokenError
from services.dryrun.book import DryRunError
from services.dryrun.process import DryRunBusy, DryRunFailed, DryRunTooLong
from services.maintenance.store import MaintenanceError, WindowNotFound, WindowOver
from services.photos.images import NotAPhoto, PhotoTooLarge
from services.photos.store import PhotoNotFound
from services.registry.changes import EntityNotFound, RegistryConflict, RegistryEmpty
from services.registry.logins import LoginError, LoginsUnavailable
from services.residents.reports import ReportError
from services.tickets.errors import PhotosNotOnTicket, TicketConflict, TicketNotFound
from services.trends.errors import TrendsError, TrendsUnavailable, UnknownSeries

log = logging.getLogger(__name__)

UNPROCESSABLE = status.HTTP_422_UNPROCESSABLE_CONTENT


@dataclass(frozen=True, slots=True)
class Answer:
    """How one error type is answered: its status, for a 422 where the cause lies, and for an
    error whose text is not the caller's to read, the fixed sentence said instead (the text is
    logged)."""

    status: int
    at: Literal["query", "body"] = "query"
    public: str | None = None


ANSWERS: dict[type[Exception], Answer] = {
    # who may see what
    NotVisible: Answer(status.HTTP_404_NOT_FOUND),
    # sign-in links
    LinkRefused: Answer(status.HTTP_401_UNAUTHORIZED),
    LinkNotFound: Answer(status.HTTP_404_NOT_FOUND),
    TokenError: Answer(status.HTTP_404_NOT_FOUND),
    # tickets
    TicketNotFound: Answer(status.HTTP_404_NOT_FOUND),
    TicketConflict: Answer(status.HTTP_409_CONFLICT),
    PhotosNotOnTicket: Answer(UNPROCESSABLE, at="body"),
    # resident reports
    ReportError: Answer(UNPROCESSABLE, at="body"),
    # photos
    PhotoNotFound: Answer(status.HTTP_404_NOT_FOUND),
    NotAPhoto: Answer(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE),
    PhotoTooLarge: Answer(status.HTTP_413_CONTENT_TOO_LARGE),
    # maintenance windows
    WindowNotFound: Answer(status.HTTP_404_NOT_FOUND),
    WindowOver: Answer(status.HTTP_409_CONFLICT),
    MaintenanceError: Answer(UNPROCESSABLE, at="body"),
    # the registry (SiteError has its own handler: one 422 line per problem)
    EntityNotFound: Answer(status.HTTP_404_NOT_FOUND),
    RegistryConflict: Answer(status.HTTP_409_CONFLICT),
    RegistryEmpty: Answer(status.HTTP_503_SERVICE_UNAVAILABLE),
    LoginsUnavailable: Answer(status.HTTP_503_SERVICE_UNAVAILABLE),
    LoginError: Answer(status.HTTP_502_BAD_GATEWAY),
    # trends and indicators
    UnknownSeries: Answer(status.HTTP_404_NOT_FOUND),
    TrendsUnavailable: Answer(status.HTTP_503_SERVICE_UNAVAILABLE),
    TrendsError: Answer(UNPROCESSABLE),
    # rule dry-runs
    DryRunError: Answer(UNPROCESSABLE, at="body"),
    DryRunTooLong: Answer(status.HTTP_503_SERVICE_UNAVAILABLE),
    DryRunBusy: Answer(status.HTTP_503_SERVICE_UNAVAILABLE),
    DryRunFailed: Answer(status.HTTP_503_SERVICE_UNAVAILABLE),
    # InfluxDB behind trends and dry-runs
    InfluxUnavailable: Answer(
        status.HTTP_503_SERVICE_UNAVAILABLE, public="InfluxDB is unavailable; try again later"
    ),
    InfluxError: Answer(
        status.HTTP_502_BAD_GATEWAY, public="InfluxDB could not answer this request"
    ),
}


def answer_for(e: Exception) -> Answer:
    """The table's answer for `e`: its own type's, else its nearest base's."""
    for cls in type(e).__mro__:
        if cls in ANSWERS:
            return ANSWERS[cls]
    raise LookupError(f"{type(e).__name__} has no HTTP answer")


def body_422(msg: str, loc: list[str]) -> dict[str, object]:
    return {"detail": [{"loc": loc, "msg": msg, "type": "value_error"}]}


async def _service_error(request: Request, e: Exception) -> JSONResponse:
    a = answer_for(e)
    if a.public is not None:
        where = f"{request.method} {request.url.path}"
        log.warning("%s answered %d: %s: %s", where, a.status, type(e).__name__, e)
        return JSONResponse({"detail": a.public}, status_code=a.status)
    if a.status == UNPROCESSABLE:
        field = getattr(e, "field", None)
        loc: list[str] = [a.at, field] if isinstance(field, str) else [a.at]
        return JSONResponse(body_422(str(e), loc), status_code=a.status)
    return JSONResponse({"detail": str(e)}, status_code=a.status)


async def _rate_limited(_: Request, e: Exception) -> JSONResponse:
    """429 with `Retry-After`: the one answer that needs a header, so not in the table."""
    assert isinstance(e, RateLimited)  # noqa: S101 - registered for RateLimited only
    return JSONResponse(
        {"detail": str(e)},
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(e.retry_after_s)},
    )


async def _http(request: Request, e: Exception) -> Response:
    """FastAPI's and the auth dependencies' HTTPExceptions: a 422 raised with a sentence gets
    the 422 shape above."""
    assert isinstance(e, HTTPException)  # noqa: S101 - registered for HTTPException only
    if e.status_code == UNPROCESSABLE and isinstance(e.detail, str):
        return JSONResponse(
            body_422(e.detail, ["query"]), status_code=e.status_code, headers=e.headers
        )
    return await http_exception_handler(request, e)


async def _site_error(_: Request, e: Exception) -> JSONResponse:
    """A registry document or body that fails validation: one 422 line per problem, each
    naming the entity, its id and the field (`loc`: body, entity, id, field)."""
    assert isinstance(e, SiteError)  # noqa: S101 - registered for SiteError only
    lines = [
        {
            "loc": ["body", p.entity, *([p.id] if p.id else []), *([p.field] if p.field else [])],
            "msg": str(p),
            "type": "value_error",
            "entity": p.entity,
            "id": p.id,
            "field": p.field,
        }
        for p in e.problems
    ] or [{"loc": ["body"], "msg": str(e), "type": "value_error"}]
    return JSONResponse({"detail": lines}, status_code=UNPROCESSABLE)


def install(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(SiteError, _site_error)
    for error in ANSWERS:
        app.add_exception_handler(error, _service_error)
    app.add_exception_handler(RateLimited, _rate_limited)
