"""Liveness (no auth, for load balancers) and Prometheus metrics (officer/admin token)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from services.api.deps import HubDep, OverseerDep
from services.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz(hub: HubDep, response: Response) -> Health:
    def ping() -> bool:
        try:
            with hub.engine.connect() as c:
                c.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    ok = await asyncio.to_thread(ping)
    if not ok:
        response.status_code = 503
    return Health(status="ok" if ok else "degraded", database=ok)


@router.get("/metrics", response_class=Response)
async def metrics(hub: HubDep, _who: OverseerDep) -> Response:
    body = await asyncio.to_thread(generate_latest, hub.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
