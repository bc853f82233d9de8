"""What the ticket service refuses; the API maps these to HTTP status codes, once."""

from __future__ import annotations


class TicketError(Exception):
    """Base of the ticket service's errors."""


class TicketNotFound(TicketError):
    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket {ticket_id} does not exist")
        self.ticket_id = ticket_id


class TicketConflict(TicketError):
    """The action does not fit the ticket's status (e.g. acknowledging a resolved ticket)."""


class PhotosNotOnTicket(TicketError):
    """A resolve names photos that are not this ticket's (422 at the body's `photos`)."""

    field = "photos"
