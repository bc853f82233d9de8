"""Health (no auth, for load balancers: 503 when failing, with what is wrong) and Prometheus
metrics (officer/admin token)."""

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
    ingest = hub.ingest_health() if hub.ingest_health is not None else None
    verdict = "ok" if ok else "failing"
    if ingest is not None and ingest.get("status") != "ok" and ok:
        verdict = str(ingest.get("status", "degraded"))
    if verdict == "failing":
        response.status_code = 503
    return Health(status=verdict, database=ok, ingest=ingest, registry_version=hub.registry.version)


@router.get("/metrics", response_class=Response)
async def metrics(hub: HubDep, _who: OverseerDep) -> Response:
    body = await asyncio.to_thread(generate_latest, hub.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
