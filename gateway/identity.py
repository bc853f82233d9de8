"""Each gateway worker's own broker identity (issue 11).

A broker that sets `use_username_as_clientid` (the shipped one does, so no device can take over
the gateway's session) replaces every client id with the user name: N workers logging in as one
gateway account would all become one client and throw each other off in a loop. So worker `i`
logs in as its own account, `<gateway user>-w<i>`, which is also its client id and the name of
its durable session; `gridwatch broker-config --workers N` creates those accounts and writes
their passwords to `gateway.env` as GRIDWATCH_MQTT_WORKER_PASSWORDS (comma-separated, in
worker order: generated passwords are URL-safe and never contain a comma).

A broker without authentication (a URL without a user) needs none of this: the workers keep
the URL and take their client ids from GRIDWATCH_MQTT_CLIENT_ID.
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit, urlunsplit

from domain.settings import Settings


class WorkerIdentityError(ValueError):
    """The settings do not give every worker an identity of its own."""


def worker_name(base: str, index: int) -> str:
    """The user name / client id of worker `index` (stable across restarts)."""
    return f"{base}-w{index}"


def worker_passwords(settings: Settings) -> list[str]:
    secret = settings.mqtt.worker_passwords
    if secret is None:
        return []
    return [p.strip() for p in secret.get_secret_value().split(",") if p.strip()]


def worker_settings(settings: Settings, index: int) -> Settings:
    """The settings worker `index` runs with: its own client id and, on an authenticating
    broker, its own login; and its own spool (two processes must never drain one spool file).
    Raises WorkerIdentityError when the login is missing."""
    if settings.spool.path is not None:  # else the spool is <spool dir>/<its client id>
        path = settings.spool.path
        settings = settings.replace(spool_path=path.with_name(f"{path.stem}-w{index}{path.suffix}"))
    endpoint = settings.mqtt.endpoint
    if endpoint.username is None:
        return settings.replace(mqtt_client_id=worker_name(settings.mqtt.client_id, index))
    passwords = worker_passwords(settings)
    if index >= len(passwords):
        raise WorkerIdentityError(
            f"worker {index} has no broker login: GRIDWATCH_MQTT_WORKER_PASSWORDS holds "
            f"{len(passwords)} password(s); run `gridwatch broker-config --workers N` with N "
            "at least the gateway's --workers and add its gateway.env to the environment"
        )
    user = worker_name(endpoint.username, index)
    parts = urlsplit(settings.mqtt.url_or_default)
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    netloc = f"{quote(user, safe='')}:{quote(passwords[index], safe='')}@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return settings.replace(mqtt_url=url, mqtt_client_id=user)


def check_workers(settings: Settings, workers: int) -> None:
    """Fail at start, in the parent, rather than in a worker that restarts forever."""
    for i in range(workers):
        worker_settings(settings, i)


def gateway_workers(settings: Settings, cores: int | None = None) -> int:
    """How many gateway processes to run: `gateway.workers` when set (1 is the in-process
    gateway), else chosen from the cores — one less than there are, for the rules process and
    the broker and InfluxDB beside it, and at least 1 — and on an authenticating broker no more
    than it has worker logins for (so the automatic choice never stops a start that one process
    would have served)."""
    if settings.gateway.workers:
        return settings.gateway.workers
    n = max(1, (cores if cores is not None else os.cpu_count() or 1) - 1)
    if settings.mqtt.endpoint.username is not None:
        n = min(n, max(1, len(worker_passwords(settings))))
    return n
