"""The MQTT topic grammar of contract §2, in one place for the gateway, simulators and broker
configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

DEFAULT_PREFIX = "sensors"
TICKETS_PREFIX = "gridwatch/tickets"

TELEMETRY = "telemetry"
STATUS = "status"


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    """A parsed device topic; `kind` and `sensor` are as sent, not yet checked."""

    kind: str
    sensor: str
    channel: str  # TELEMETRY or STATUS


def check_prefix(prefix: str) -> str:
    """`prefix` if it is a plain topic path, else ValueError saying why. The one check for the
    gateway's settings and the broker configuration: the prefix goes into subscriptions, ACL
    lines (where a space or newline would end the line) and every device's topic."""
    if not prefix:
        raise ValueError("the topic prefix cannot be empty")
    if any(c in prefix for c in "+#"):
        raise ValueError(f"topic prefix {prefix!r} has an MQTT wildcard (+ or #)")
    if prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        raise ValueError(f"topic prefix {prefix!r} has an empty level (a leading, trailing or //)")
    if any(c.isspace() or c == "\x00" for c in prefix):
        raise ValueError(f"topic prefix {prefix!r} has a space, newline or NUL")
    if prefix.startswith("$"):
        raise ValueError(f"topic prefix {prefix!r} starts with $, which brokers reserve")
    return prefix


TopicPrefix = Annotated[str, AfterValidator(check_prefix)]
"""A pydantic field type: a topic prefix that passed `check_prefix`."""


def telemetry(kind: str, sensor: str, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}/{kind}/{sensor}/{TELEMETRY}"


def status(kind: str, sensor: str, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}/{kind}/{sensor}/{STATUS}"


def tickets(grid: str) -> str:
    return f"{TICKETS_PREFIX}/{grid}"


def subscriptions(prefix: str = DEFAULT_PREFIX) -> list[str]:
    """The filters the gateway subscribes to."""
    return [f"{prefix}/+/+/{TELEMETRY}", f"{prefix}/+/+/{STATUS}"]


def parse(topic: str, prefix: str = DEFAULT_PREFIX) -> DeviceTopic | None:
    """Split a device topic; None when it is not one of ours."""
    head = prefix + "/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/")
    if len(parts) != 3 or parts[2] not in (TELEMETRY, STATUS) or not parts[0] or not parts[1]:
        return None
    return DeviceTopic(parts[0], parts[1], parts[2])
