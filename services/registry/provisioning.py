"""A committed change's device logins: new sensors provisioned, retired ones disabled, each
outcome written to the audit log (`set_login`). One copy for the admin API and for
`gridwatch site apply`; a broker failure never rolls the registry back (services/registry/
logins.py), it is answered, logged and counted by the caller."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from domain.site import Sensor
from services.registry.changes import Outcome
from services.registry.logins import DeviceLogins, LoginError, LoginsUnavailable, hash_password
from services.registry.store import RegistryStore

log = logging.getLogger(__name__)

NO_LOGINS = (
    "this hub does not manage broker logins (no dynamic-security connection): "
    "add the sensor to the broker's password file (gridwatch broker-config)"
)


@dataclass(slots=True)
class Logins:
    """What the broker was told: each new sensor's credentials (shown once), the errors."""

    credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    failures: int = 0


async def provision(
    store: RegistryStore, logins: DeviceLogins | None, sensor: Sensor, actor: str, into: Logins
) -> None:
    if logins is None:
        into.errors[sensor.id] = NO_LOGINS
        return
    try:
        c = await logins.provision(sensor)
    except Exception as e:
        into.failures += 1
        log.exception("could not provision the broker login of %s", sensor.id)
        await asyncio.to_thread(store.set_login, sensor.id, None, actor, f"failed: {e}")
        into.errors[sensor.id] = f"the broker login could not be created: {e}"
        return
    await asyncio.to_thread(
        store.set_login, sensor.id, hash_password(c.password), actor, "provisioned"
    )
    into.credentials[sensor.id] = {"username": c.username, "password": c.password}


async def disable(
    store: RegistryStore, logins: DeviceLogins | None, sensor_id: str, actor: str, into: Logins
) -> None:
    if logins is None:
        return
    try:
        await logins.disable(sensor_id)
    except Exception as e:
        into.failures += 1
        log.exception("could not disable the broker login of %s", sensor_id)
        await asyncio.to_thread(store.set_login, sensor_id, None, actor, f"disable failed: {e}")
        into.errors[sensor_id] = f"the broker login could not be disabled: {e}"
        return
    await asyncio.to_thread(store.set_login, sensor_id, None, actor, "disabled")


async def follow(
    store: RegistryStore,
    logins: DeviceLogins | None,
    out: Outcome,
    actor: str,
) -> Logins:
    """The logins of `out`'s new sensors and retired ones, one by one."""
    done = Logins()
    for s in out.added_sensors:
        await provision(store, logins, s, actor, done)
    for sid in out.retired_sensors:
        await disable(store, logins, sid, actor, done)
    return done


async def rotate(
    store: RegistryStore, logins: DeviceLogins | None, sensor_id: str, actor: str, into: Logins
) -> dict[str, str]:
    """A new password (the old one stops working): the credentials; LoginsUnavailable without
    dynamic security, LoginError (counted in `into`, audited) when the broker fails."""
    if logins is None:
        raise LoginsUnavailable(NO_LOGINS)
    try:
        c = await logins.rotate(sensor_id)
    except Exception as e:
        into.failures += 1
        log.exception("could not rotate the broker login of %s", sensor_id)
        await asyncio.to_thread(store.set_login, sensor_id, None, actor, f"rotate failed: {e}")
        raise LoginError(f"the broker login could not be rotated: {e}") from None
    await asyncio.to_thread(store.set_login, sensor_id, hash_password(c.password), actor, "rotated")
    return {"username": c.username, "password": c.password}
