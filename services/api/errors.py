"""The one place where service errors become HTTP status codes."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response

from services.tickets.errors import TicketConflict, TicketNotFound


async def _not_found(_: Request, e: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(e)}, status_code=status.HTTP_404_NOT_FOUND)


async def _conflict(_: Request, e: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(e)}, status_code=status.HTTP_409_CONFLICT)


async def _http(request: Request, e: Exception) -> Response:
    """A 422 raised with a sentence gets the same shape as FastAPI's own validation errors
    (a list of {loc, msg, type}), so clients and the OpenAPI schema see one 422 format."""
    assert isinstance(e, HTTPException)  # noqa: S101 - registered for HTTPException only
    if e.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT and isinstance(e.detail, str):
        body = {"detail": [{"loc": ["query"], "msg": e.detail, "type": "value_error"}]}
        return JSONResponse(body, status_code=e.status_code, headers=e.headers)
    return await http_exception_handler(request, e)


def install(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(TicketNotFound, _not_found)
    app.add_exception_handler(TicketConflict, _conflict)
