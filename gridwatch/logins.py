"""The device-logins port of the registry (services/registry/logins.py) built from the settings:
a `DynsecAdmin` on the broker's dynamic-security plugin when `GRIDWATCH_DYNSEC_PASSWORD` is set
(broker-config --dynamic-security writes it to gateway.env; `gridwatch up` sets it for its own
broker), else None — a static broker, whose logins change only by re-running broker-config."""

from __future__ import annotations

from domain.endpoints import MqttEndpoint
from domain.settings import Settings
from gridwatch.broker.dynsec import DynsecAdmin
from services.registry.logins import DeviceLogins


def device_logins(settings: Settings) -> DeviceLogins | None:
    """The client the API calls after a registry change commits, or None (not configured).
    It connects on first use; close it (`await logins.close()`) when the process stops."""
    return dynsec_admin(settings)


def dynsec_admin(settings: Settings) -> DynsecAdmin | None:
    d = settings.dynsec
    password = d.password_value
    if password is None:
        return None
    endpoint = MqttEndpoint(d.url or settings.api_notice_url or settings.mqtt.url_or_default)
    return DynsecAdmin(
        endpoint.host,
        endpoint.port,
        d.user,
        password,
        prefix=settings.topic_prefix,
        timeout_s=d.timeout_s,
    )
