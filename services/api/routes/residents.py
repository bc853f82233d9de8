"""Residents (contract §9): the public form's two calls — what the form may show about a sensor
(its asset, never ticket data) and the report itself — and the crew's view of the reports.

Public routes need no token (`/api/v1/public/…`, see security.py). Reports are rate-limited
per client address and per sensor (429 with Retry-After; settings `field.resident_reports_*`),
in this API process. The client address is the proxy's `X-Forwarded-For` where uvicorn trusts
the proxy (127.0.0.1 by default, else FORWARDED_ALLOW_IPS; docs/deployment.md).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Request, UploadFile
from pydantic import BaseModel

from domain.ids import ID_PATTERN
from services.api.deps import HubDep, PrincipalDep, RowId
from services.api.routes.photos import MULTIPART_SLACK, read_upload
from services.api.security import PHOTO_BODY_MAX
from services.auth.principal import NotVisible
from services.residents.reports import WHAT
from services.tickets.schemas import iso

router = APIRouter(tags=["residents"])
public = APIRouter(prefix="/public", tags=["public"])

SensorId = Annotated[str, Path(pattern=ID_PATTERN)]


class Choice(BaseModel):
    id: str
    zh: str
    en: str


class SensorForResidents(BaseModel):
    """What the public form shows: which asset this is, and what one can report."""

    id: str
    kind: str
    asset: str
    community: str
    choices: list[Choice]


class ReportTaken(BaseModel):
    reference: str  # "R-<n>": to quote when calling the community office


class ReportPublic(BaseModel):
    id: int
    at: datetime | None
    what: str
    what_zh: str
    what_en: str
    photo: int | None
    phone: str | None  # the grid's crew only; null for everyone else
    has_phone: bool


@public.get("/sensors/{sensor_id}", response_model=SensorForResidents)
async def sensor_for_residents(hub: HubDep, sensor_id: SensorId) -> SensorForResidents:
    p = hub.registry.get(sensor_id)
    if p is None:
        raise NotVisible(sensor_id)
    return SensorForResidents(
        id=p.sensor.id,
        kind=str(p.sensor.kind),
        asset=p.sensor.asset or p.sensor.id,
        community=p.community.name,
        choices=[Choice(id=k, zh=zh, en=en) for k, (zh, en) in WHAT.items()],
    )


@public.post(
    "/reports/{sensor_id}",
    response_model=ReportTaken,
    status_code=201,
    max_body_size=PHOTO_BODY_MAX + MULTIPART_SLACK,
)
async def report(
    hub: HubDep,
    request: Request,
    sensor_id: SensorId,
    what: Annotated[str, Form(max_length=32)],
    phone: Annotated[str, Form(max_length=32)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> ReportTaken:
    """A resident reports what they see at this asset (`what` from the form's choices), with
    an optional photo and phone number; it opens or adds to the sensor's resident.report
    ticket. 429 past the limits per client and per sensor."""
    reports = hub.resident_reports
    reports.check(sensor_id, what, phone)
    client = request.client.host if request.client else "unknown"
    hub.resident_clients.take(client)
    hub.resident_sensors.take(sensor_id)
    photo = None
    if file is not None and file.filename:
        data = await read_upload(file)
        photo = await asyncio.to_thread(hub.photo_store.encode, data)
    rid, notices = await asyncio.to_thread(reports.report, sensor_id, what, phone, photo)
    hub.dispatcher.submit(notices)
    return ReportTaken(reference=f"R-{rid}")


@router.get("/tickets/{ticket_id}/reports", response_model=list[ReportPublic])
async def ticket_reports(hub: HubDep, who: PrincipalDep, ticket_id: RowId) -> list[ReportPublic]:
    """Residents' reports on a ticket; the phone numbers only for the crew of its grid."""
    rows = await asyncio.to_thread(hub.resident_reports.list, ticket_id, who)
    return [
        ReportPublic(
            id=r.id,
            at=iso(r.at_ns),
            what=r.what,
            what_zh=r.what_zh,
            what_en=r.what_en,
            photo=r.photo,
            phone=r.phone,
            has_phone=r.has_phone,
        )
        for r in rows
    ]
