"""Photos in the ticket database, beside their tickets: a backup of the database (pg_dump, or a
copy of the SQLite file) takes them, a photo is written in the same transaction as its timeline
line, and reading one is the same grid check as reading its ticket (docs/decisions.md).

Each ticket has a budget of stored bytes (setting `field.photo_ticket_budget_bytes`): photos
are a few hundred KB once re-encoded, so the budget is there against a stuck upload loop, not
against a thorough crew.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from services.db.models import Photo, Ticket
from services.photos.images import Encoded, PhotoTooLarge, reencode
from services.tickets.errors import TicketNotFound
from services.tickets.lifecycle import EventKind
from services.tickets.rows import line
from services.tickets.schemas import PhotoPublic


class PhotoNotFound(LookupError):
    """No such photo, or one of a ticket the caller may not see (one answer: 404)."""

    def __init__(self, photo_id: int) -> None:
        super().__init__(f"photo {photo_id} does not exist")


class PhotoStore:
    def __init__(
        self,
        engine: Engine,
        *,
        budget_bytes: int,
        max_side: int,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.engine = engine
        self.budget_bytes = budget_bytes
        self.max_side = max_side
        self.clock = clock

    def encode(self, data: bytes) -> Encoded:
        """Decode and re-encode (CPU work, outside any transaction)."""
        return reencode(data, self.max_side)

    def add(
        self, ticket_id: int, actor: str, data: bytes, grids: frozenset[str] | None
    ) -> PhotoPublic:
        """Attach a photo to a ticket the caller may see, with a `photo` line on its timeline."""
        enc = self.encode(data)
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            t = s.scalars(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).first()
            if t is None or (grids is not None and t.grid not in grids):
                raise TicketNotFound(ticket_id)
            now = self.clock()
            p = self.store(s, t, enc, actor, now)
            entry = line(t, EventKind.PHOTO, actor, now, now)
            entry.photos = str(p.id)
            s.add(entry)
            t.updated_at_ns = max(t.updated_at_ns, now)
            return PhotoPublic.of(p)

    def store(self, s: Session, t: Ticket, enc: Encoded, actor: str, now: int) -> Photo:
        """Write the photo of ticket `t` (locked by the caller) within the budget."""
        used = s.scalar(select(func.sum(Photo.stored_bytes)).where(Photo.ticket_id == t.id)) or 0
        size = len(enc.image) + len(enc.thumb)
        if used + size > self.budget_bytes:
            raise PhotoTooLarge(
                f"ticket {t.id} holds {used / 1e6:.1f} MB of photos; its budget is "
                f"{self.budget_bytes / 1e6:.0f} MB"
            )
        p = Photo(
            ticket_id=t.id,
            uploaded_by=actor,
            uploaded_at_ns=now,
            width=enc.width,
            height=enc.height,
            received_bytes=enc.received_bytes,
            stored_bytes=size,
            image=enc.image,
            thumb=enc.thumb,
        )
        s.add(p)
        s.flush()
        return p

    def read(self, photo_id: int, grids: frozenset[str] | None, *, thumb: bool = False) -> bytes:
        """The JPEG of a photo (or its thumbnail) whose ticket the caller may see."""
        column = Photo.thumb if thumb else Photo.image
        with Session(self.engine) as s:
            row = s.execute(
                select(column, Ticket.grid)
                .join(Ticket, Ticket.id == Photo.ticket_id)
                .where(Photo.id == photo_id)
            ).first()
        if row is None or (grids is not None and row[1] not in grids):
            raise PhotoNotFound(photo_id)
        return bytes(row[0])
