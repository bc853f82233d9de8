"""Refused input, newest first: what an operator reads to find a misconfigured device."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

from domain.instants import from_ns
from services.api.deps import HubDep, OverseerDep
from services.api.schemas import RejectionList, RejectionPublic

router = APIRouter(prefix="/rejections", tags=["rejections"])


@router.get("", response_model=RejectionList)
async def list_rejections(
    hub: HubDep, _who: OverseerDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> RejectionList:
    rows = await asyncio.to_thread(hub.rejections.recent, limit)
    out = [
        RejectionPublic(
            id=r.id,
            reason=r.reason,
            topic=r.topic,
            sensor=r.sensor,
            metric=r.metric,
            detail=r.detail,
            payload_head=r.payload_head,
            received_at=from_ns(r.received_at_ns),
        )
        for r in rows
    ]
    return RejectionList(count=len(out), rejections=out)
