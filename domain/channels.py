"""The site file's notification channels (contract §8): where ticket notices go — a chat-group
robot, e-mail addresses, a webhook, a broker — for which grid cells, communities and
severities, in which language, and when warnings wait (quiet hours)."""

from __future__ import annotations

import re
from datetime import time as clock_time
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.ids import Id


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # as the rest of the site file


class ChannelType(StrEnum):
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    FEISHU = "feishu"
    EMAIL = "email"
    WEBHOOK = "webhook"
    MQTT = "mqtt"


ROBOTS = frozenset({ChannelType.WECOM, ChannelType.DINGTALK, ChannelType.FEISHU})
"""Chat-group robots: a short line for acknowledgements, mentions by mobile."""


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"
    BOTH = "both"


_QUIET = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class QuietHours(_Strict):
    """`"22:00-07:00"` in the site's time zone: warnings wait until it ends (criticals go)."""

    start: clock_time
    end: clock_time

    @model_validator(mode="before")
    @classmethod
    def _text(cls, v: object) -> object:
        if isinstance(v, str):
            m = _QUIET.match(v.strip())
            if m is None or m.group(1, 2) == m.group(3, 4):
                raise ValueError(f"quiet hours {v!r}: write HH:MM-HH:MM, e.g. 22:00-07:00")
            h1, m1, h2, m2 = (int(x) for x in m.groups())
            return {"start": clock_time(h1, m1), "end": clock_time(h2, m2)}
        return v

    def holds(self, t: clock_time) -> bool:
        """Whether local time `t` is inside (the span may wrap midnight)."""
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


class ChannelSpec(_Strict):
    """A place notices go (contract §8): a chat robot, e-mail addresses, a webhook, a broker."""

    id: Id
    type: ChannelType
    url: str = Field(default="", max_length=2000)  # robot/webhook URL (base URLs are settable)
    secret: str = Field(default="", max_length=500)  # dingtalk/feishu signing, webhook HMAC
    to: list[str] = Field(default_factory=list)  # email recipients
    grids: list[Id] = Field(default_factory=list)
    communities: list[Id] = Field(default_factory=list)
    severities: list[str] = Field(default_factory=lambda: ["warning", "critical"])
    lang: Lang = Lang.ZH
    quiet_hours: QuietHours | None = None
    rate_per_min: int | None = Field(default=None, ge=1, le=10_000)  # None: the type's default
    group_window_s: float | None = Field(default=None, ge=0, le=3600)  # None: the setting

    @field_validator("severities")
    @classmethod
    def _severities(cls, v: list[str]) -> list[str]:
        bad = sorted(set(v) - {"warning", "critical"})
        if bad:
            raise ValueError(f"unknown severities {bad}: warning | critical")
        return v

    @model_validator(mode="after")
    def _complete(self) -> ChannelSpec:
        if not self.grids and not self.communities:
            raise ValueError(f"channel {self.id!r} names no grids and no communities")
        if self.type is ChannelType.EMAIL:
            if not self.to or any("@" not in a for a in self.to):
                raise ValueError(f"email channel {self.id!r} needs 'to' addresses")
        elif not self.url.startswith(
            ("http://", "https://") if self.type is not ChannelType.MQTT else ("mqtt", "tcp")
        ):
            raise ValueError(f"channel {self.id!r} of type {self.type} needs a url")
        if self.type in (ChannelType.DINGTALK, ChannelType.WEBHOOK) and not self.secret:
            raise ValueError(f"channel {self.id!r} of type {self.type} needs its signing secret")
        return self
