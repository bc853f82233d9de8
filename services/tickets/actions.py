"""What a person (or the hub) does to one ticket: acknowledge, comment, arrive, resolve.

Each is one transaction: the ticket's row is locked, a caller limited to `grids` is told a
ticket of another grid does not exist (TicketNotFound), the action's rule is applied (a resolved
ticket cannot be taken on or resolved again: TicketConflict), a timeline line is written and
the action's notice is owed to the outbox inside the transaction. `TicketService.actions`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.db.models import Photo, Ticket
from services.tickets.errors import PhotosNotOnTicket, TicketConflict, TicketNotFound
from services.tickets.lifecycle import EventKind, Status
from services.tickets.reads import public
from services.tickets.rows import line
from services.tickets.schemas import Notice

MAX_NOTE = 2000

Owing = Callable[[Session, Sequence[Notice]], None]
"""Owes a transaction's notices to the outbox, inside that transaction."""


def _take_on(t: Ticket, now: int) -> None:
    """Acknowledging and arriving both take an open ticket on (a taken one stays as it is);
    a resolved ticket is past that: a conflict."""
    if t.status == Status.RESOLVED:
        raise TicketConflict(f"ticket {t.id} is resolved")
    if t.status == Status.OPEN:
        t.status = Status.ACKNOWLEDGED.value
        t.acknowledged_at_ns = now


class TicketActions:
    def __init__(
        self, engine: Engine, clock: Callable[[], int], owe: Owing, count: Callable[[str], None]
    ) -> None:
        """`owe` and `count` are the ticket service's: its outbox and its counters."""
        self.engine = engine
        self.clock = clock
        self._owe = owe
        self._count = count

    def acknowledge(self, ticket_id: int, actor: str, grids: frozenset[str] | None) -> Notice:
        def act(s: Session, t: Ticket, now: int) -> EventKind:
            _take_on(t, now)
            return EventKind.ACKNOWLEDGED

        return self._act(ticket_id, grids, actor, "", act)

    def comment(
        self, ticket_id: int, actor: str, text: str, grids: frozenset[str] | None
    ) -> Notice:
        return self._act(ticket_id, grids, actor, text, lambda s, t, now: EventKind.COMMENTED)

    def arrive(
        self,
        ticket_id: int,
        actor: str,
        grids: frozenset[str] | None,
        position: tuple[float, float] | None = None,
    ) -> Notice:
        """The crew is at the asset: an `on_site` line (with the phone's position when it was
        shared, "lat,lon"); arriving takes an open ticket on, as acknowledging does."""

        def act(s: Session, t: Ticket, now: int) -> EventKind:
            _take_on(t, now)
            return EventKind.ON_SITE

        note = "" if position is None else f"{position[0]:.6f},{position[1]:.6f}"
        return self._act(ticket_id, grids, actor, note, act)

    def resolve(
        self,
        ticket_id: int,
        actor: str,
        note: str,
        grids: frozenset[str] | None,
        photos: Sequence[int] = (),
    ) -> Notice:
        """Close the ticket; `photos` (ids of this ticket's photos) go on the resolved line."""
        wanted = sorted(set(photos))

        def act(s: Session, t: Ticket, now: int) -> EventKind:
            if t.status == Status.RESOLVED:
                raise TicketConflict(f"ticket {t.id} is already resolved")
            if wanted:
                found = set(
                    s.scalars(select(Photo.id).where(Photo.id.in_(wanted), Photo.ticket_id == t.id))
                )
                missing = [p for p in wanted if p not in found]
                if missing:
                    raise PhotosNotOnTicket(
                        f"not photos of ticket {t.id}: {', '.join(map(str, missing))}"
                    )
            t.status = Status.RESOLVED.value
            t.resolved_at_ns = now
            if t.acknowledged_at_ns is None:
                t.acknowledged_at_ns = now
            return EventKind.RESOLVED

        return self._act(ticket_id, grids, actor, note, act, " ".join(map(str, wanted)))

    def _act(
        self,
        ticket_id: int,
        grids: frozenset[str] | None,
        actor: str,
        note: str,
        act: Callable[[Session, Ticket, int], EventKind],
        photos: str = "",
    ) -> Notice:
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            now = self.clock()
            t = s.scalars(select(Ticket).where(Ticket.id == ticket_id).with_for_update()).first()
            if t is None or (grids is not None and t.grid not in grids):
                raise TicketNotFound(ticket_id)
            kind = act(s, t, now)
            t.updated_at_ns = max(t.updated_at_ns, now)
            entry = line(t, kind, actor, now, now, note=note[:MAX_NOTE])
            entry.photos = photos
            s.add(entry)
            s.flush()
            notice = Notice(event=kind.value, ticket=public(s, t))
            self._owe(s, [notice])
        self._count(notice.event)
        return notice
