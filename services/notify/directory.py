"""Where the notifier learns the channels and escalation chains: one small interface, so the
site file (today) and the live SQL registry (contract §7, later) can stand behind it alike.

Everything else in services.notify asks a `Directory`, never the site file: the channel
workers ask it for a channel's spec on every round, so a changed channel takes effect without a
restart once the directory answers from the registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from zoneinfo import ZoneInfo

from domain.channels import ChannelSpec
from domain.site import EscalationStep, Person, Registry, Site


class Directory(Protocol):
    @property
    def tz(self) -> ZoneInfo:
        """The site's time zone (quiet hours, times in messages)."""
        ...

    def channels(self) -> Sequence[ChannelSpec]:
        """Every channel, in a stable order."""
        ...

    def channel(self, channel_id: str) -> ChannelSpec | None: ...

    def routes(self, grid: str, community: str, severity: str) -> list[ChannelSpec]:
        """The channels of a grid and its community that take a severity (each once)."""
        ...

    def chain(self, community: str) -> Sequence[EscalationStep]:
        """The community's escalation steps, else the site's; in order of `after`."""
        ...

    def person(self, who: str, grid: str, community: str) -> Person | None:
        """`supervisor`, `worker` or a person id, resolved for a ticket's grid and community."""
        ...


class SiteDirectory:
    """The `Directory` of a `Registry`: the site file's, or the live registry's, which swaps a
    new site into the same object — the lookups are rebuilt when `registry.site` changes."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._site: Site | None = None
        self._channels: list[ChannelSpec] = []
        self._by_id: dict[str, ChannelSpec] = {}
        self._chains: dict[str, list[EscalationStep]] = {}
        self._fresh()

    def _fresh(self) -> None:
        site = self.registry.site
        if site is self._site:
            return
        channels = list(site.channels)
        chains: dict[str, list[EscalationStep]] = {}
        for c in site.communities:
            steps = c.escalation if c.escalation is not None else site.escalation
            chains[c.id] = sorted(steps, key=lambda s: s.after)
        self._channels, self._by_id, self._chains = channels, {c.id: c for c in channels}, chains
        self._site = site

    @property
    def tz(self) -> ZoneInfo:
        return self.registry.site.tz

    def channels(self) -> Sequence[ChannelSpec]:
        self._fresh()
        return self._channels

    def channel(self, channel_id: str) -> ChannelSpec | None:
        self._fresh()
        return self._by_id.get(channel_id)

    def routes(self, grid: str, community: str, severity: str) -> list[ChannelSpec]:
        self._fresh()
        return [
            c
            for c in self._channels
            if severity in c.severities and (grid in c.grids or community in c.communities)
        ]

    def chain(self, community: str) -> Sequence[EscalationStep]:
        self._fresh()
        return self._chains.get(community, [])

    def person(self, who: str, grid: str, community: str) -> Person | None:
        if who == "worker":
            found = self.registry.grids.get(grid)
            return found[0].worker if found else None
        if who == "supervisor":
            c = self.registry.communities.get(community)
            return c.supervisor if c else None
        return self.registry.people.get(who)
