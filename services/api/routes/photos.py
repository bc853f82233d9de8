"""Photos of tickets (contract §9): upload (crew of the grid, admin) and read (whoever may read
the ticket). Uploads are checked by decoding (services.photos.images), never by name or the
declared type; the stored JPEG carries no metadata."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response

from services.api.deps import HubDep, PrincipalDep, RowId, WriterDep
from services.api.security import PHOTO_BODY_MAX
from services.photos.images import MAX_UPLOAD_BYTES, PhotoTooLarge
from services.tickets.schemas import PhotoPublic

router = APIRouter(tags=["photos"])

MULTIPART_SLACK = 64 * 1024
"""A 10 MB photo's multipart body is a little larger than the photo: boundary and headers."""


async def read_upload(file: UploadFile) -> bytes:
    """The uploaded file's bytes, or PhotoTooLarge past the photo limit."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoTooLarge(f"a photo may be at most {MAX_UPLOAD_BYTES // 1_000_000} MB")
    return data


@router.post(
    "/tickets/{ticket_id}/photos",
    response_model=PhotoPublic,
    status_code=201,
    max_body_size=PHOTO_BODY_MAX + MULTIPART_SLACK,
)
async def add_photo(
    hub: HubDep, who: WriterDep, ticket_id: RowId, file: Annotated[UploadFile, File()]
) -> PhotoPublic:
    """A JPEG, PNG or WebP photo up to 10 MB (413 past it or past the ticket's budget, 415 for
    anything that does not decode as one); it appears on the ticket and as a `photo` line."""
    data = await read_upload(file)
    return await asyncio.to_thread(hub.photo_store.add, ticket_id, who.shown, data, who.scope)


@router.get(
    "/photos/{photo_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def get_photo(
    hub: HubDep,
    who: PrincipalDep,
    photo_id: RowId,
    size: Annotated[Literal["full", "thumb"], Query()] = "full",
) -> Response:
    """The photo as JPEG (`size=thumb`: at most 320 px a side), for whoever may read its ticket."""
    data = await asyncio.to_thread(hub.photo_store.read, photo_id, who.scope, thumb=size == "thumb")
    return Response(
        data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"}
    )
