"""The one place where service errors become HTTP status codes."""

from __future__ import annotations

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from services.tickets.errors import TicketConflict, TicketNotFound


async def _not_found(_: Request, e: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(e)}, status_code=status.HTTP_404_NOT_FOUND)


async def _conflict(_: Request, e: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(e)}, status_code=status.HTTP_409_CONFLICT)


def install(app: FastAPI) -> None:
    app.add_exception_handler(TicketNotFound, _not_found)
    app.add_exception_handler(TicketConflict, _conflict)
