"""Device broker logins: the port the registry's admin API calls after a change commits.

The API depends on this Protocol only; the implementation that talks to Mosquitto's
dynamic-security plugin lives in `gridwatch/broker/dynsec.py` (the composition root wires it
in). A sensor's login is its broker user name and a password shown once; the registry keeps
only a salted hash of it (`hash_password`).

Contract for implementers:
- `provision(sensor)`: create (or re-enable and reset) the login of a new sensor, allowed to
  publish its own topics only (`{prefix}/{kind}/{id}/#`), and return its credentials. Usable
  by the device within 5 s of returning.
- `rotate(sensor_id)`: a new password for an existing login; the old one is refused within 5 s.
- `disable(sensor_id)`: the login stops working (a retired sensor); idempotent.
- Any failure raises `LoginError` (or any exception): the registry change has committed
  already, so the API reports the failure in its answer and the audit log, never rolls back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Protocol

from domain.site import Sensor

PASSWORD_BYTES = 24
_ITERATIONS = 10_000
# The passwords are 192 random bits: the hash protects against a leaked table, not a guess.


@dataclass(frozen=True, slots=True)
class Credentials:
    """A device's broker login. The password is shown to the admin once and never stored."""

    username: str
    password: str


class LoginError(RuntimeError):
    """The broker could not be told about a login (unreachable, refused)."""


class LoginsUnavailable(LookupError):
    """This hub manages no broker logins (a static broker: `gridwatch broker-config`)."""


class DeviceLogins(Protocol):
    """What the registry needs from the broker to give devices their own logins."""

    async def provision(self, sensor: Sensor) -> Credentials: ...

    async def rotate(self, sensor_id: str) -> Credentials: ...

    async def disable(self, sensor_id: str) -> None: ...


def new_password() -> str:
    """A fresh random password (32 URL-safe characters)."""
    return secrets.token_urlsafe(PASSWORD_BYTES)


def hash_password(password: str) -> str:
    """`pbkdf2_sha256$iterations$salt$digest` (hex), what the registry stores of a login."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)
    return f"pbkdf2_sha256${_ITERATIONS}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` was made from."""
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(got.hex(), digest)
