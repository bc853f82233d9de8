"""The one protocol every delivery channel implements."""

from __future__ import annotations

from typing import Protocol

from services.tickets.schemas import Notice


class Channel(Protocol):
    """Delivers one notice. Must not raise for delivery problems: count them instead."""

    name: str

    async def send(self, notice: Notice) -> None: ...
